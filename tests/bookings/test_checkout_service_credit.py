"""Staff checkout uses a client's service credit: one session's price off, given back when the payment is voided."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django_scopes import scope

from bookings.checkout import (
    SERVICE_CREDIT_SOURCE,
    checkout_apply_service_credit,
    checkout_apply_store_credit,
    checkout_summary,
    payment_void,
)
from bookings.models import Booking, BookingDiscount, DiscountKind, Payment, PaymentMethod
from bookings.services import booking_cancel, payment_record
from businesses.models import PaymentPlan, PlanInterval
from rewards.credits import service_credit_issue
from rewards.ledger import store_credit_balance, store_credit_grant
from rewards.models import ServiceCredit, ServiceCreditUse

from ..threads import needs_postgres, run_at_once
from .conftest import local, make_booking, make_client, make_service

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def give(business, client, service, quantity=1):
    return service_credit_issue(business=business, client=client, service=service, quantity=quantity, source="manual")


def consistent(business, booking) -> Booking:
    booking = Booking.objects.get(business=business, pk=booking.pk)
    payments = Payment.objects.filter(business=business, booking=booking)
    assert payments.aggregate(s=Sum("amount"))["s"] == booking.total
    discounts = BookingDiscount.objects.filter(business=business, booking=booking).aggregate(s=Sum("amount"))["s"]
    assert (discounts or 0) == booking.list_price - booking.total
    return booking


def test_a_session_of_the_credit_pays_for_the_booking(in_scope, booking, ada, owner):
    credit = give(in_scope, ada, booking.service, quantity=2)
    summary = checkout_summary(business=in_scope, booking=booking)
    assert [(u.credit, u.value) for u in summary.service_credits] == [(credit, booking.list_price)]
    row = checkout_apply_service_credit(business=in_scope, booking=booking, credit=credit, actor=owner)
    use = ServiceCreditUse.objects.get(pk=row.source_id)
    assert (row.kind, row.amount, row.source_type) == (
        DiscountKind.SERVICE_CREDIT,
        booking.list_price,
        SERVICE_CREDIT_SOURCE,
    )
    assert use.credit == credit and use.booking == booking
    assert row.label == f"Service credit: {booking.service.name}"
    booking = consistent(in_scope, booking)
    assert booking.total == 0
    credit.refresh_from_db()
    assert credit.remaining == 1
    summary = checkout_summary(business=in_scope, booking=booking)
    assert summary.refusal == "Nothing is left to pay on this booking." and summary.service_credits == []


def test_the_credit_covers_only_what_is_left_to_pay(in_scope, booking, ada):
    store_credit_grant(business=in_scope, client=ada, amount=10_00, reason="Thanks")
    checkout_apply_store_credit(business=in_scope, booking=booking, amount=10_00)
    credit = give(in_scope, ada, booking.service)
    row = checkout_apply_service_credit(business=in_scope, booking=booking, credit=credit)
    assert row.amount == booking.list_price - 10_00
    assert consistent(in_scope, booking).total == 0


def test_a_pay_per_session_booking_takes_one_sessions_price(in_scope, ada):
    service = make_service(
        in_scope,
        name="Weekly class",
        price=20_00,
        payment_plan=PaymentPlan.PER_SESSION,
        plan_count=4,
        plan_interval=PlanInterval.WEEK,
    )
    booking = make_booking(in_scope, client=ada, service=service)
    before = Booking.objects.get(pk=booking.pk).total
    credit = give(in_scope, ada, service)
    row = checkout_apply_service_credit(business=in_scope, booking=booking, credit=credit)
    first = Payment.objects.filter(booking=booking).order_by("sequence").first()
    assert row.amount == first.discount == first.amount + first.discount
    assert consistent(in_scope, booking).total == before - row.amount


@pytest.mark.parametrize("problem", ["other_service", "other_client", "used_up", "expired", "twice", "cancelled"])
def test_refusals_change_nothing(in_scope, booking, ada, problem):
    from datetime import timedelta

    from django.utils import timezone

    credit = give(in_scope, ada, booking.service)
    if problem == "other_service":
        credit = give(in_scope, ada, make_service(in_scope, name="Facial"))
    elif problem == "other_client":
        credit = give(in_scope, make_client(in_scope, "Bea"), booking.service)
    elif problem == "used_up":
        ServiceCredit.objects.filter(pk=credit.pk).update(used=1)
    elif problem == "expired":
        ServiceCredit.objects.filter(pk=credit.pk).update(expires_at=timezone.now() - timedelta(days=1))
    elif problem == "twice":
        checkout_apply_service_credit(business=in_scope, booking=booking, credit=give(in_scope, ada, booking.service))
    elif problem == "cancelled":
        booking_cancel(business=in_scope, booking=booking)
    before = (
        Booking.objects.get(pk=booking.pk).total,
        list(BookingDiscount.objects.filter(booking=booking).values_list("kind", "amount")),
        ServiceCreditUse.objects.count(),
    )
    credit.refresh_from_db()
    with pytest.raises(ValidationError):
        checkout_apply_service_credit(business=in_scope, booking=booking, credit=credit)
    after = (
        Booking.objects.get(pk=booking.pk).total,
        list(BookingDiscount.objects.filter(booking=booking).values_list("kind", "amount")),
        ServiceCreditUse.objects.count(),
    )
    assert after == before
    summary = checkout_summary(business=in_scope, booking=booking)
    assert credit.pk not in [u.credit.pk for u in summary.service_credits]


def test_voiding_the_payment_gives_the_session_back(in_scope, ada, owner, instalment_service):
    booking = make_booking(in_scope, client=ada, service=instalment_service)
    credit = give(in_scope, ada, instalment_service)
    store_credit_grant(business=in_scope, client=ada, amount=10_00, reason="Thanks")
    payment = Payment.objects.filter(booking=booking).order_by("sequence").first()
    # A payment recorded before the checkout: what the credit takes sits on due payments only.
    payment_record(business=in_scope, payment=payment, method=PaymentMethod.CASH)
    checkout_apply_service_credit(business=in_scope, booking=booking, credit=credit, actor=owner)
    assert consistent(in_scope, booking).total == payment.amount
    result = payment_void(business=in_scope, payment=payment, actor=owner)
    assert [row.kind for row in result.reversed] == [DiscountKind.SERVICE_CREDIT] and result.kept == []
    credit.refresh_from_db()
    assert credit.remaining == 1
    use = ServiceCreditUse.objects.get(credit=credit)
    assert use.reversed_at is not None
    booking = consistent(in_scope, booking)
    assert booking.total == booking.list_price
    assert store_credit_balance(business=in_scope, client=ada) == 10_00
    assert payment_void(business=in_scope, payment=payment).voided is False
    # The session can be used again.
    checkout_apply_service_credit(business=in_scope, booking=booking, credit=credit)
    assert ServiceCreditUse.objects.filter(credit=credit, reversed_at__isnull=True).count() == 1


# --- Views --------------------------------------------------------------------------------------------------------


@pytest.fixture
def credit_booking(business):
    with scope(business=business):
        ada = make_client(business, email="ada@example.com")
        booking = make_booking(business, client=ada)
        credit = give(business, ada, booking.service)
    return booking, credit


def path(business, booking):
    return f"/b/{business.slug}/bookings/{booking.pk}/checkout/service-credit/"


def test_staff_use_a_credit_with_one_button(client, business, staff, credit_booking):
    booking, credit = credit_booking
    client.force_login(staff)
    page = client.get(f"/b/{business.slug}/bookings/{booking.pk}/checkout/").content.decode()
    assert f'name="credit" value="{credit.pk}"' in page and "Use a session" in page
    response = client.post(path(business, booking), {"credit": credit.pk}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Service credit: Deep tissue massage applied" in body and "Nothing is left to pay" in body
    again = client.post(path(business, booking), {"credit": credit.pk}, **HTMX)
    assert again.status_code == 400
    with scope(business=business):
        assert ServiceCreditUse.objects.filter(booking=booking).count() == 1
        consistent(business, booking)


def test_bad_input_answers_400_and_plain_posts_redirect(client, business, owner, credit_booking):
    booking, credit = credit_booking
    client.force_login(owner)
    assert client.post(path(business, booking), {"credit": "x"}, **HTMX).status_code == 400
    assert client.post(path(business, booking), {"credit": 2**70}, **HTMX).status_code == 400
    assert client.post(path(business, booking), {"credit": credit.pk}).status_code == 302
    assert client.get(path(business, booking)).status_code == 405


def test_another_business_credit_or_booking_is_404(client, business, owner, outsider, other_business, credit_booking):
    booking, credit = credit_booking
    with scope(business=other_business):
        stranger = make_client(other_business)
        foreign_booking = make_booking(other_business, client=stranger)
        foreign_credit = give(other_business, stranger, foreign_booking.service)
    client.force_login(owner)
    assert client.post(path(business, booking), {"credit": foreign_credit.pk}).status_code == 404
    assert client.post(path(business, foreign_booking), {"credit": credit.pk}).status_code == 404
    client.force_login(outsider)
    assert client.post(path(business, booking), {"credit": credit.pk}).status_code == 404
    with scope(business=business):
        assert not ServiceCreditUse.objects.exists()


# --- Concurrency (PostgreSQL) -------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_checkouts_using_the_last_session_at_once_use_it_once(business, owner):
    needs_postgres()
    with scope(business=business):
        client = make_client(business)
        service = make_service(business, price=50_00)
        bookings = [
            make_booking(business, client=client, service=service, starts_at=local(business, 2030, 5, day, 10, 0))
            for day in (6, 7)
        ]
        credit = give(business, client, service)

    def apply(index):
        with scope(business=business):
            return checkout_apply_service_credit(business=business, booking=bookings[index], credit=credit, actor=owner)

    applied, errors = run_at_once(apply, threads=2)
    assert len(applied) == 1 and len(errors) == 1 and isinstance(errors[0], ValidationError), errors
    with scope(business=business):
        assert ServiceCredit.objects.get(pk=credit.pk).used == 1
        assert BookingDiscount.objects.filter(business=business, kind=DiscountKind.SERVICE_CREDIT).count() == 1
        for booking in bookings:
            consistent(business, booking)
