"""The Rewards section: coupons issued to referrers by state, filtered, with what is outstanding."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.services import booking_cancel, booking_confirm
from referrals.codes import code_for_client
from referrals.services import ReferralClaim, booking_create_with_referral
from referrals.testdrive import program_test_drive
from rewards.models import Coupon

from ..referrals.conftest import make_client, make_program, make_service, soon

pytestmark = pytest.mark.django_db


@pytest.fixture
def coupons(in_scope, owner):
    """Anna earns three coupons: one stays active, one is used, one expired; Carl earns one that is revoked."""
    massage = make_service(in_scope)
    make_program(in_scope, [massage], burst_limit=100)
    anna = make_client(in_scope, "Anna", "Berg", email="anna@gmail.com")
    carl = make_client(in_scope, "Carl", "Dahl", email="carl@gmail.com")
    bookings = []
    for i, referrer in enumerate([anna, anna, anna, carl]):
        booking = booking_create_with_referral(
            business=in_scope,
            client=make_client(in_scope, f"Friend{i}", email=f"friend{i}@outlook.com"),
            service=massage,
            starts_at=soon(),
            claim=ReferralClaim(code=code_for_client(business=in_scope, client=referrer).code),
        )
        booking_confirm(business=in_scope, booking=booking)
        bookings.append(booking)
    used, expired = Coupon.objects.filter(client=anna).order_by("pk")[1:3]
    booking_create_with_referral(
        business=in_scope, client=anna, service=massage, starts_at=soon(), coupon_code=used.code
    )
    Coupon.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    booking_cancel(business=in_scope, booking=bookings[3])
    program_test_drive(business=in_scope, actor=owner)  # test records stay out of the page
    return anna, carl


def page(client, business, **params):
    return client.get(reverse("rewards:index", args=[business.slug]), params)


def test_the_page_counts_coupons_by_state_and_shows_what_is_outstanding(staff_client, business, coupons):
    response = page(staff_client, business)
    overview = response.context["overview"]
    assert {state: count.value for state, count in overview.counts.items()} == {
        "active": 1,
        "used": 1,
        "expired": 1,
        "revoked": 1,
    }
    assert overview.outstanding_count.value == 1 and overview.outstanding_fixed == 20_00
    html = response.content.decode()
    assert "£20.00" in html and "Tess" not in html


@pytest.mark.parametrize(("state", "expected"), [("used", 1), ("revoked", 1), ("", 4)])
def test_filters_by_state_and_client(staff_client, business, coupons, state, expected):
    assert len(page(staff_client, business, state=state).context["overview"].rows) == expected
    carl_only = page(staff_client, business, q="dahl").context["overview"].rows
    assert {coupon.client.first_name for coupon in carl_only} == {"Carl"}


def test_bad_dates_are_a_field_error_not_a_crash(staff_client, business, coupons):
    response = page(staff_client, business, issued_from="0001-01-01", issued_to="not-a-date")
    assert response.status_code == 400
    assert "issued_from" in response.context["form"].errors and "issued_to" in response.context["form"].errors


def test_an_outsider_gets_404(outsider_client, business):
    assert page(outsider_client, business).status_code == 404


def test_the_page_shows_what_is_owed_in_credit_and_points_and_rewards_by_kind(staff_client, business, coupons):
    from rewards.ledger import points_adjust, store_credit_grant
    from rewards.models import PointsProgram

    anna, carl = coupons
    PointsProgram.objects.create(business=business, enabled=True, point_value=5)
    store_credit_grant(business=business, client=anna, amount=12_50, reason="Goodwill")
    points_adjust(business=business, client=carl, points=300, reason="Welcome bonus")
    overview = page(staff_client, business).context["overview"]
    assert (overview.liability.store_credit, overview.liability.points, overview.liability.points_value) == (
        12_50,
        300,
        15_00,
    )
    assert overview.liability.total == 27_50
    assert overview.by_kind == [("Coupon", 3, 1)]
