"""The hosted booking page /w/<business_slug>/: public, the business's services, and the referral banner."""

from __future__ import annotations

import pytest
from django_scopes import scope

from referrals.codes import code_for_client, code_regenerate, code_retire
from referrals.models import ReferralProgram

from ..referrals.conftest import make_client, make_program, make_service
from ..referrals.test_clicks import click_counters  # noqa: F401 (a fixture, used below)


@pytest.fixture
def services(in_scope):
    return {
        "massage": make_service(in_scope, "Deep tissue massage", price=65_00),
        "facial": make_service(in_scope, "Facial", price=49_50, new_clients_only=True),
        "hidden": make_service(in_scope, "Staff-only treatment", price=10_00, online_bookable=False),
        "retired": make_service(in_scope, "Old treatment", price=20_00, is_active=False),
    }


@pytest.fixture
def anna_code(in_scope):
    anna = make_client(in_scope, first_name="Anna", last_name="Berg", email="anna@example.com")
    return code_for_client(business=in_scope, client=anna)


def page(client, business, **params):
    response = client.get(f"/w/{business.slug}/", params)
    assert response.status_code == 200
    return response.content.decode()


def test_an_unknown_business_is_404(client, db):
    assert client.get("/w/no-such-studio/").status_code == 404


def test_anyone_sees_the_business_and_its_online_services_with_prices(client, business, services):
    html = page(client, business)
    assert business.name in html
    assert "Deep tissue massage" in html and "£65.00" in html
    assert "Facial" in html and "£49.50" in html and "New clients only" in html
    assert "Staff-only treatment" not in html
    assert "Old treatment" not in html
    assert "Online booking on this page is coming soon" in html
    assert "data-referral-banner" not in html


def test_an_active_code_shows_who_referred_and_what_the_new_client_gets(client, business, services, anna_code):
    with scope(business=business):
        make_program(business, [services["massage"]], referee_percent="15")
    html = page(client, business, ref=anna_code.code.lower())
    assert "data-referral-banner" in html
    assert "Referred by Anna" in html
    assert "new clients get 15% off Deep tissue massage." in html
    assert "Your referral will be applied when you book" in html
    assert anna_code.code in html
    assert "Berg" not in html, "only the referrer's first name is shown"


def test_a_fixed_amount_discount_is_shown_in_the_business_currency(client, business, services, anna_code):
    with scope(business=business):
        program = make_program(business, [services["massage"]])
        program.rules.update(referee_kind="fixed", referee_amount=10_00, referee_percent=0)
    assert "new clients get £10 off Deep tissue massage." in page(client, business, ref=anna_code.code)


def test_a_rule_covering_every_online_service_names_none(client, business, services, anna_code):
    with scope(business=business):
        make_program(business, [services["massage"], services["facial"], services["hidden"]], referee_percent="10")
    assert "new clients get 10% off." in page(client, business, ref=anna_code.code)


def test_a_program_rewarding_only_the_referrer_promises_the_new_client_nothing(client, business, services, anna_code):
    with scope(business=business):
        make_program(business, [services["massage"]], recipients="referrer")
    html = page(client, business, ref=anna_code.code)
    assert "Referred by Anna" in html
    assert "off" not in html.split("data-referral-banner")[1].split("</p>")[0]


@pytest.mark.parametrize("case", ["unknown", "retired", "program_off", "other_business"])
def test_no_banner_when_the_referral_would_not_apply(client, business, other_business, services, anna_code, case):
    ref = anna_code.code
    with scope(business=business):
        make_program(business, [services["massage"]], enabled=case != "program_off")
        if case == "retired":
            code_regenerate(business=business, client=anna_code.client)
            anna_code.refresh_from_db()
            code_retire(business=business, code=anna_code)
    if case == "unknown":
        ref = "NOSUCH22"
    target = business
    if case == "other_business":
        target = other_business
        with scope(business=other_business):
            ReferralProgram.objects.create(business=other_business, enabled=True)
    html = page(client, target, ref=ref)
    assert "data-referral-banner" not in html
    assert "Referred by" not in html


@pytest.mark.usefixtures("click_counters")
def test_a_referral_link_lands_here(client, business, services, anna_code):
    with scope(business=business):
        make_program(business, [services["massage"]])
    response = client.get(f"/r/{anna_code.code}", follow=True)
    [(location, status)] = response.redirect_chain
    assert status == 302 and location.startswith(f"/w/{business.slug}/?ref={anna_code.code}&ref_t=")
    assert "Referred by Anna" in response.content.decode()
