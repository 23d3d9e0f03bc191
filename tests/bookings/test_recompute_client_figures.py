"""The recompute_client_figures command: finds drift between client figures and the rows they summarise."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope, scopes_disabled

from bookings.models import PaymentMethod
from bookings.services import booking_complete, booking_confirm, payment_record
from clients.models import Client
from clients.services import client_set_referrer

from .conftest import local, make_booking, make_client, make_service

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("recompute_client_figures", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def history(business):
    """Ada: two completed visits, one paid payment, and she referred Grace."""
    with scope(business=business):
        service = make_service(business, price=40_00)
        ada = make_client(business, first_name="Ada")
        grace = make_client(business, first_name="Grace")
        client_set_referrer(business=business, client=grace, referrer=ada)
        visits = []
        for day in (3, 10):
            booking = make_booking(business, client=ada, service=service, starts_at=local(business, 2030, 5, day, 9))
            booking_confirm(business=business, booking=booking)
            visits.append(booking_complete(business=business, booking=booking))
        payment_record(business=business, payment=visits[0].payments.get(), method=PaymentMethod.CARD)
        make_booking(business, client=grace, service=service)  # requested: not a visit
    return {"ada": ada, "grace": grace, "visits": visits}


def test_figures_kept_by_the_services_show_no_drift(history):
    assert run().strip() == "No drift."


def test_drift_is_reported_and_only_fixed_with_fix(business, history):
    ada, grace, visits = history["ada"], history["grace"], history["visits"]
    with scopes_disabled():
        Client.objects.filter(pk=ada.pk).update(
            completed_visits=7, lifetime_spend=1, referred_clients_count=0, last_visit_at=None
        )
        Client.objects.filter(pk=grace.pk).update(first_visit_at=visits[0].starts_at)

    report = run()
    assert f"client {ada.pk} ({business.slug}): completed_visits stored 7, computed 2" in report
    assert f"client {ada.pk} ({business.slug}): lifetime_spend stored 1, computed 4000" in report
    assert f"client {ada.pk} ({business.slug}): referred_clients_count stored 0, computed 1" in report
    assert f"client {ada.pk} ({business.slug}): last_visit_at stored None" in report
    assert f"client {grace.pk} ({business.slug}): first_visit_at stored" in report
    assert "5 drifted values in 2 client(s)." in report
    assert "--fix" in report
    with scopes_disabled():
        assert Client.objects.get(pk=ada.pk).completed_visits == 7  # reported, not written

    fixed = run("--fix")
    assert "Fixed 2 client(s)." in fixed
    with scopes_disabled():
        ada = Client.objects.get(pk=ada.pk)
        grace = Client.objects.get(pk=grace.pk)
    assert (ada.completed_visits, ada.lifetime_spend, ada.referred_clients_count) == (2, 40_00, 1)
    assert (ada.first_visit_at, ada.last_visit_at) == (visits[0].starts_at, visits[1].starts_at)
    assert grace.first_visit_at is None
    assert run().strip() == "No drift."


def test_one_business_at_a_time(business, other_business, history):
    with scope(business=other_business):
        stranger = make_client(other_business, first_name="Eve")
    with scopes_disabled():
        Client.objects.filter(pk=stranger.pk).update(completed_visits=3)
    assert run("--business", business.slug).strip() == "No drift."
    assert f"client {stranger.pk} ({other_business.slug})" in run("--business", other_business.slug)
    with pytest.raises(CommandError):
        run("--business", "no-such-business")


def test_queries_do_not_grow_with_the_number_of_clients(business):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            run("--batch-size", "50")
        return len(captured)

    with scope(business=business):
        for n in range(3):
            make_client(business, first_name=f"C{n}")
    few = queries()
    with scope(business=business):
        for n in range(40):
            make_client(business, first_name=f"D{n}")
    assert queries() == few


def test_batches_cover_every_client(business):
    with scope(business=business):
        clients = [make_client(business, first_name=f"C{n}") for n in range(7)]
    with scopes_disabled():
        Client.objects.filter(pk__in=[c.pk for c in clients]).update(lifetime_spend=5)
    assert "7 drifted values in 7 client(s)." in run("--batch-size", "3")
