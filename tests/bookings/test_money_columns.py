"""Amounts on bookings are bigints: a membership of 36 periods at the catalog's highest price is past int4."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, models, transaction

from bookings.models import Booking, BookingDiscount, Payment
from bookings.services import DiscountLine
from businesses.catalog import MAX_PRICE_MINOR
from businesses.models import PaymentPlan, PlanInterval

from .conftest import make_booking, make_service

pytestmark = pytest.mark.django_db

INT4_MAX = 2**31 - 1


@pytest.mark.parametrize(
    "model,field",
    [
        (Booking, "list_price"),
        (Booking, "total"),
        (Payment, "amount"),
        (Payment, "discount"),
        (BookingDiscount, "amount"),
    ],
)
def test_amount_columns_are_bigints(model, field):
    assert isinstance(model._meta.get_field(field), models.BigIntegerField)


def test_a_membership_at_the_highest_price_books_and_reads_back(in_scope):
    service = make_service(
        in_scope,
        name="Annual coaching",
        price=MAX_PRICE_MINOR,
        payment_plan=PaymentPlan.MEMBERSHIP,
        plan_count=36,
        plan_interval=PlanInterval.MONTH,
    )
    discount = DiscountLine(kind="manual", label="Welcome", amount=MAX_PRICE_MINOR // 10)
    booking = make_booking(in_scope, service=service, discounts=(discount,))
    booking.refresh_from_db()
    assert booking.list_price == 36 * MAX_PRICE_MINOR > INT4_MAX
    assert booking.total == 36 * (MAX_PRICE_MINOR - MAX_PRICE_MINOR // 10)
    assert BookingDiscount.objects.get(booking=booking).amount == 36 * (MAX_PRICE_MINOR // 10) > INT4_MAX
    assert sum(booking.payments.values_list("amount", flat=True)) == booking.total


@pytest.mark.parametrize(
    "model,values",
    [
        (Booking, {"list_price": -1, "total": -1}),
        (Booking, {"total": -1}),
        (Payment, {"amount": -1}),
        (Payment, {"discount": -1}),
        (BookingDiscount, {"amount": -1}),
    ],
)
def test_negative_amounts_are_refused_by_the_database(in_scope, model, values):
    booking = make_booking(in_scope)
    row = {Booking: booking, Payment: booking.payments.first()}.get(model)
    if model is BookingDiscount:
        row = BookingDiscount.objects.create(business=in_scope, booking=booking, kind="manual", label="x", amount=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=row.pk).update(**values)


def test_the_pages_show_big_amounts_through_the_money_filter(owner_client, business):
    from django_scopes import scope

    with scope(business=business):
        service = make_service(
            business, name="Annual coaching", price=MAX_PRICE_MINOR, payment_plan=PaymentPlan.MEMBERSHIP, plan_count=36
        )
        booking = make_booking(business, service=service)
    html = owner_client.get(f"/b/{business.slug}/bookings/{booking.pk}/").content.decode()
    assert "£360,000,000.00" in html and "£10,000,000.00" in html
    listed = owner_client.get(f"/b/{business.slug}/bookings/list/").content.decode()
    assert "£360,000,000.00" in listed
    client_page = owner_client.get(f"/b/{business.slug}/clients/{booking.client_id}/").content.decode()
    assert "£360,000,000.00" in client_page
