"""Health check, the Celery base task, the demo data and the admin."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django_scopes import get_scope, scopes_disabled

from businesses.models import Business, Membership
from referrals_saas.celery import app, business_task

pytestmark = pytest.mark.django_db

seen: list = []


@business_task
def remember_scope(business, note: str) -> str:
    seen.append((business, get_scope().get("business"), Membership.objects.count(), note))
    return note


def test_healthz_checks_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_reports_an_unreachable_database(client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_business_task_runs_inside_its_business_scope(business, owner):
    seen.clear()
    assert remember_scope.delay(business.id, "hello").get() == "hello"
    assert seen == [(business, business, 1, "hello")]


def test_business_task_for_a_deleted_business_does_nothing(business):
    seen.clear()
    missing = business.id + 1000
    assert remember_scope.delay(missing, "x").get() is None
    assert seen == []


def test_tasks_are_sent_only_after_commit(business, django_capture_on_commit_callbacks):
    seen.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        remember_scope.delay_on_commit(business.id, "after")
        assert seen == []
    assert len(callbacks) == 1
    assert [note for *_, note in seen] == ["after"]


def test_a_rolled_back_transaction_sends_no_task(business, django_capture_on_commit_callbacks):
    seen.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                remember_scope.delay_on_commit(business.id, "never")
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    assert callbacks == []
    assert seen == []


def test_celery_settings_ack_late_and_run_eagerly_without_a_broker():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert remember_scope.acks_late is True


def test_seed_demo_is_idempotent():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    assert Business.objects.filter(slug="serenity-massage").count() == 1
    with scopes_disabled():
        assert Membership.objects.filter(business__slug="serenity-massage").count() == 2
    printed = out.getvalue()
    assert "maya@serenity-massage.example" in printed and "/b/serenity-massage/" in printed


def test_demo_owner_can_log_in(client):
    from businesses.demo import DEMO_OWNER_EMAIL, DEMO_PASSWORD

    call_command("seed_demo", stdout=StringIO())
    response = client.post("/accounts/login/", {"login": DEMO_OWNER_EMAIL, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert client.get("/b/serenity-massage/").status_code == 200


def test_operators_admin_lists_businesses_across_tenants(admin_client, business, owner, other_business):
    response = admin_client.get("/admin/businesses/business/")
    assert response.status_code == 200
    assert business.name in response.content.decode() and other_business.name in response.content.decode()
    assert admin_client.get("/admin/businesses/invitation/").status_code == 200
    assert admin_client.get(f"/admin/businesses/business/{business.pk}/change/").status_code == 200


def test_public_pages_render(client):
    for path in ("/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        assert client.get(path).status_code == 200, path


def test_demo_has_clients_services_and_a_year_of_bookings():
    from bookings.models import Booking, BookingStatus, Payment, PaymentStatus
    from businesses.models import Service
    from clients.models import Client

    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    with scopes_disabled():
        business = Business.objects.get(slug="serenity-massage")
        clients = Client.objects.filter(business=business)
        assert clients.count() >= 30
        assert clients.filter(referred_by__isnull=False).exists()
        assert Service.objects.filter(business=business, is_active=False).exists()
        statuses = set(Booking.objects.filter(business=business).values_list("status", flat=True))
        assert {BookingStatus.COMPLETED, BookingStatus.CONFIRMED, BookingStatus.REQUESTED} <= statuses
        assert Payment.objects.filter(business=business, status=PaymentStatus.PAID).exists()
        # The figures on the client rows agree with the bookings they come from.
        busiest = clients.order_by("-completed_visits").first()
        assert (
            busiest.completed_visits == Booking.objects.filter(client=busiest, status=BookingStatus.COMPLETED).count()
        )
