"""Staff checkout: coupons, store credit and points applied to what is left to pay, payments voided, receipts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django_scopes import scope

from bookings.checkout import (
    checkout_apply_coupon,
    checkout_apply_points,
    checkout_apply_store_credit,
    checkout_summary,
    payment_void,
)
from bookings.models import (
    Booking,
    BookingDiscount,
    BookingEvent,
    BookingStatus,
    DiscountKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from bookings.services import booking_cancel, booking_confirm, payment_record
from businesses.models import DomainEvent
from clients.models import Client
from referrals.services import booking_create_with_referral
from rewards.ledger import points_adjust, points_balance, store_credit_balance, store_credit_grant
from rewards.models import (
    Coupon,
    CouponKind,
    CouponStatus,
    PointsEntry,
    PointsKind,
    PointsProgram,
    StoreCreditEntry,
    StoreCreditKind,
)
from rewards.services import CouponSpec, coupon_issue

from ..threads import needs_postgres, run_at_once
from .conftest import local, make_booking, make_client, make_service

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(business, booking, path=""):
    return f"/b/{business.slug}/bookings/{booking.pk}/{path}"


def snapshot(business, booking):
    """Everything a refused checkout must leave as it was."""
    booking = Booking.objects.get(business=business, pk=booking.pk)
    return (
        booking.total,
        [(p.amount, p.discount, p.status) for p in Payment.objects.filter(booking=booking).order_by("sequence")],
        list(BookingDiscount.objects.filter(booking=booking).values_list("kind", "amount")),
        store_credit_balance(business=business, client=booking.client),
        points_balance(business=business, client=booking.client),
        list(Coupon.objects.filter(business=business).values_list("code", "status")),
        StoreCreditEntry.objects.filter(business=business).count(),
        PointsEntry.objects.filter(business=business).count(),
    )


def consistent(business, booking) -> Booking:
    """The booking's payments add up to its total, and its discount rows to list price less total."""
    booking = Booking.objects.get(business=business, pk=booking.pk)
    payments = Payment.objects.filter(business=business, booking=booking)
    assert payments.aggregate(s=Sum("amount"))["s"] == booking.total
    discounts = BookingDiscount.objects.filter(business=business, booking=booking).aggregate(s=Sum("amount"))["s"]
    assert (discounts or 0) == booking.list_price - booking.total
    assert all(p.amount >= 0 for p in payments)
    return booking


def coupon(business, client, *, amount=10_00, percent=None):
    spec = (
        CouponSpec(kind=CouponKind.PERCENT, percent=Decimal(percent))
        if percent
        else CouponSpec(kind=CouponKind.FIXED, amount=amount)
    )
    return coupon_issue(business=business, client=client, spec=spec, valid_days=30)


@pytest.fixture
def program(in_scope):
    return PointsProgram.objects.create(business=in_scope, enabled=True, points_per_unit=Decimal("1"), point_value=5)


# --- Applying -----------------------------------------------------------------------------------------------------


def test_store_credit_lowers_the_total_and_the_due_payment(in_scope, booking, ada, owner):
    store_credit_grant(business=in_scope, client=ada, amount=25_00, reason="Thanks")
    row = checkout_apply_store_credit(business=in_scope, booking=booking, amount=20_00, actor=owner)
    assert (row.kind, row.amount, row.source_type) == (
        DiscountKind.STORE_CREDIT,
        20_00,
        "checkout:rewards.StoreCreditEntry",
    )
    entry = StoreCreditEntry.objects.get(pk=row.source_id)
    assert entry.kind == StoreCreditKind.APPLY and entry.amount == -20_00 and entry.booking_id == booking.pk
    booking = consistent(in_scope, booking)
    assert booking.total == 40_00
    assert booking.payments.get().amount == 40_00
    assert store_credit_balance(business=in_scope, client=ada) == 5_00
    summary = checkout_summary(business=in_scope, booking=booking)
    assert (summary.left_to_pay, summary.store_credit, summary.store_credit_usable) == (40_00, 5_00, 5_00)


def test_store_credit_is_capped_at_what_is_left_to_pay(in_scope, booking, ada):
    store_credit_grant(business=in_scope, client=ada, amount=100_00, reason="Thanks")
    row = checkout_apply_store_credit(business=in_scope, booking=booking, amount=100_00)
    assert row.amount == 60_00
    booking = consistent(in_scope, booking)
    assert booking.total == 0 and booking.payments.get().amount == 0
    assert store_credit_balance(business=in_scope, client=ada) == 40_00
    # Nothing is left: the next apply is refused.
    with pytest.raises(ValidationError, match="Nothing is left to pay"):
        checkout_apply_store_credit(business=in_scope, booking=booking, amount=1_00)


def test_instalments_take_from_the_first_due_payments_and_leave_paid_ones(in_scope, ada, instalment_service):
    booking = make_booking(in_scope, client=ada, service=instalment_service)
    first = booking.payments.get(sequence=1)
    payment_record(business=in_scope, payment=first, method=PaymentMethod.CASH)
    store_credit_grant(business=in_scope, client=ada, amount=50_00, reason="Thanks")
    checkout_apply_store_credit(business=in_scope, booking=booking, amount=50_00)
    amounts = list(booking.payments.order_by("sequence").values_list("amount", "status"))
    assert amounts == [(33_34, "paid"), (0, "due"), (16_66, "due")]
    assert consistent(in_scope, booking).total == 50_00


def test_points_are_redeemed_for_their_value_and_capped(in_scope, booking, ada, program):
    points_adjust(business=in_scope, client=ada, points=2000, reason="Welcome")
    row = checkout_apply_points(business=in_scope, booking=booking, points=100)
    assert (row.kind, row.amount, row.label) == (DiscountKind.POINTS, 5_00, "100 points")
    assert consistent(in_scope, booking).total == 55_00
    # 55.00 left at 5 (minor units) a point: at most 1100 points, whatever is asked.
    row = checkout_apply_points(business=in_scope, booking=booking, points=2000)
    assert row.amount == 55_00 and PointsEntry.objects.get(pk=row.source_id).points == -1100
    assert points_balance(business=in_scope, client=ada) == 800
    assert consistent(in_scope, booking).total == 0


def test_a_coupon_is_redeemed_once_and_shown_as_a_discount_row(in_scope, booking, ada):
    fixed = coupon(in_scope, ada, amount=10_00)
    percent = coupon(in_scope, ada, percent="25")
    summary = checkout_summary(business=in_scope, booking=booking)
    assert {(c.coupon.code, c.value) for c in summary.coupons} == {(fixed.code, 10_00), (percent.code, 15_00)}
    row = checkout_apply_coupon(business=in_scope, booking=booking, code=fixed.code.lower())
    assert (row.kind, row.amount, row.code) == (DiscountKind.COUPON, 10_00, fixed.code)
    fixed.refresh_from_db()
    assert fixed.status == CouponStatus.REDEEMED and fixed.redeemed_booking_id == booking.pk
    assert consistent(in_scope, booking).total == 50_00
    # 25% of the 50.00 left.
    assert checkout_apply_coupon(business=in_scope, booking=booking, code=percent.code).amount == 12_50
    assert consistent(in_scope, booking).total == 37_50
    assert checkout_summary(business=in_scope, booking=booking).coupons == []


@pytest.mark.parametrize(
    "apply,match",
    [
        (lambda b, bk: checkout_apply_store_credit(business=b, booking=bk, amount=-5_00), "above zero"),
        (lambda b, bk: checkout_apply_store_credit(business=b, booking=bk, amount=0), "above zero"),
        (lambda b, bk: checkout_apply_store_credit(business=b, booking=bk, amount="5"), "whole number"),
        (lambda b, bk: checkout_apply_store_credit(business=b, booking=bk, amount=30_00), "only £10.00"),
        (lambda b, bk: checkout_apply_points(business=b, booking=bk, points=-3), "above zero"),
        (lambda b, bk: checkout_apply_points(business=b, booking=bk, points=500), "only 100 points"),
        (lambda b, bk: checkout_apply_coupon(business=b, booking=bk, code="NOPE-1234"), "No coupon has this code"),
        (lambda b, bk: checkout_apply_coupon(business=b, booking=bk, code=""), "Enter a coupon code"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(in_scope, booking, ada, program, apply, match):
    store_credit_grant(business=in_scope, client=ada, amount=10_00, reason="Thanks")
    points_adjust(business=in_scope, client=ada, points=100, reason="Welcome")
    coupon(in_scope, ada)
    before = snapshot(in_scope, booking)
    with pytest.raises(ValidationError, match=match):
        apply(in_scope, booking)
    assert snapshot(in_scope, booking) == before


def test_another_clients_used_or_expired_coupon_is_refused(in_scope, booking, ada):
    other = make_client(in_scope, first_name="Grace", email="grace@example.com")
    theirs = coupon(in_scope, other)
    used = coupon(in_scope, ada)
    Coupon.objects.filter(pk=used.pk).update(status=CouponStatus.REDEEMED, redeemed_at=booking.created_at)
    before = snapshot(in_scope, booking)
    with pytest.raises(ValidationError, match="another client"):
        checkout_apply_coupon(business=in_scope, booking=booking, code=theirs.code)
    with pytest.raises(ValidationError, match="already been used"):
        checkout_apply_coupon(business=in_scope, booking=booking, code=used.code)
    assert snapshot(in_scope, booking) == before


def test_cancelled_and_fully_paid_bookings_are_refused(in_scope, ada, service):
    store_credit_grant(business=in_scope, client=ada, amount=10_00, reason="Thanks")
    cancelled = make_booking(in_scope, client=ada, service=service)
    booking_cancel(business=in_scope, booking=cancelled)
    with pytest.raises(ValidationError, match="cancelled booking"):
        checkout_apply_store_credit(business=in_scope, booking=cancelled, amount=5_00)
    paid = make_booking(in_scope, client=ada, service=service, starts_at=local(in_scope, 2030, 6, 1, 10, 0))
    payment_record(business=in_scope, payment=paid.payments.get(), method=PaymentMethod.CARD)
    with pytest.raises(ValidationError, match="Nothing is left to pay"):
        checkout_apply_store_credit(business=in_scope, booking=paid, amount=5_00)
    assert checkout_summary(business=in_scope, booking=paid).refusal
    assert store_credit_balance(business=in_scope, client=ada) == 10_00


def test_another_businesss_booking_is_refused(in_scope, other_business):
    with scope(business=other_business):
        foreign = make_booking(other_business)
    with pytest.raises(ValidationError):
        checkout_apply_store_credit(business=in_scope, booking=foreign, amount=5_00)
    with pytest.raises(ValidationError):
        checkout_summary(business=in_scope, booking=foreign)


# --- Voiding ------------------------------------------------------------------------------------------------------


def test_void_reverses_everything_applied_at_checkout_and_is_idempotent(in_scope, ada, owner, program):
    service = make_service(in_scope, name="Long massage", price=100_00)
    kept = coupon(in_scope, ada, amount=5_00)
    booking = booking_create_with_referral(
        business=in_scope,
        client=ada,
        service=service,
        starts_at=local(in_scope, 2030, 5, 6, 10, 0),
        coupon_code=kept.code,
    )
    store_credit_grant(business=in_scope, client=ada, amount=30_00, reason="Thanks")
    points_adjust(business=in_scope, client=ada, points=200, reason="Welcome")
    used = coupon(in_scope, ada, amount=10_00)
    checkout_apply_coupon(business=in_scope, booking=booking, code=used.code, actor=owner)
    checkout_apply_store_credit(business=in_scope, booking=booking, amount=20_00, actor=owner)
    checkout_apply_points(business=in_scope, booking=booking, points=200, actor=owner)
    booking = consistent(in_scope, booking)
    assert booking.total == 100_00 - 5_00 - 10_00 - 20_00 - 10_00
    payment = payment_record(business=in_scope, payment=booking.payments.get(), method=PaymentMethod.CARD)
    assert Client.objects.get(pk=ada.pk).lifetime_spend == 55_00
    assert points_balance(business=in_scope, client=ada) == 55  # earned on the payment

    result = payment_void(business=in_scope, payment=payment, actor=owner, reason="Card declined later")
    voided = result.payment
    assert result.voided and len(result.reversed) == 3 and result.kept == []

    assert voided.status == PaymentStatus.DUE and voided.voided_by == owner and voided.paid_at is None
    assert voided.void_reason == "Card declined later"
    booking = consistent(in_scope, booking)
    assert booking.total == 95_00 and voided.amount == 95_00
    # The coupon given at booking stays; what checkout applied is gone.
    assert list(booking.discounts.values_list("kind", "amount")) == [(DiscountKind.COUPON, 5_00)]
    used.refresh_from_db()
    kept.refresh_from_db()
    assert used.status == CouponStatus.ACTIVE and used.redeemed_booking is None and used.redeemed_at is None
    assert kept.status == CouponStatus.REDEEMED
    assert store_credit_balance(business=in_scope, client=ada) == 30_00
    assert points_balance(business=in_scope, client=ada) == 200
    assert PointsEntry.objects.filter(business=in_scope, kind=PointsKind.REVERSE).count() == 2  # redeem and earn
    assert StoreCreditEntry.objects.filter(business=in_scope, kind=StoreCreditKind.REVERSE).count() == 1
    assert Client.objects.get(pk=ada.pk).lifetime_spend == 0
    assert BookingEvent.objects.filter(booking=booking, note__startswith="Payment 1").count() == 1
    assert DomainEvent.objects.filter(business=in_scope, kind="payment.voided").count() == 1

    again = snapshot(in_scope, booking)
    assert payment_void(business=in_scope, payment=payment, actor=owner).voided is False
    assert snapshot(in_scope, booking) == again
    assert Client.objects.get(pk=ada.pk).lifetime_spend == 0
    assert DomainEvent.objects.filter(business=in_scope, kind="payment.voided").count() == 1

    # Paid again, and voided again: it works the same way.
    payment_record(business=in_scope, payment=voided, method=PaymentMethod.CASH)
    payment_void(business=in_scope, payment=voided, actor=owner)
    assert Client.objects.get(pk=ada.pk).lifetime_spend == 0
    assert points_balance(business=in_scope, client=ada) == 200


def test_a_payment_never_paid_cannot_be_voided(in_scope, booking):
    with pytest.raises(ValidationError, match="Only a recorded payment"):
        payment_void(business=in_scope, payment=booking.payments.get())


def test_checkout_discounts_on_another_paid_payment_stay_until_it_is_voided_too(in_scope, ada, instalment_service):
    booking = make_booking(in_scope, client=ada, service=instalment_service)
    store_credit_grant(business=in_scope, client=ada, amount=50_00, reason="Thanks")
    checkout_apply_store_credit(business=in_scope, booking=booking, amount=50_00)
    first, second, _ = booking.payments.order_by("sequence")
    payment_record(business=in_scope, payment=first, method=PaymentMethod.CASH)
    payment_record(business=in_scope, payment=second, method=PaymentMethod.CASH)
    result = payment_void(business=in_scope, payment=first)
    assert result.voided and result.reversed == [] and len(result.kept) == 1
    assert consistent(in_scope, booking).total == 50_00
    assert store_credit_balance(business=in_scope, client=ada) == 0
    result = payment_void(business=in_scope, payment=second)
    assert [row.amount for row in result.reversed] == [50_00] and result.kept == []
    assert consistent(in_scope, booking).total == 100_00
    assert list(booking.payments.order_by("sequence").values_list("amount", "status")) == [
        (33_34, "due"),
        (33_33, "due"),
        (33_33, "due"),
    ]
    assert store_credit_balance(business=in_scope, client=ada) == 50_00
    assert Client.objects.get(pk=ada.pk).lifetime_spend == 0


# --- Concurrency (PostgreSQL) -------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_checkouts_applying_the_same_store_credit_at_once_never_overdraw(business, owner):
    needs_postgres()
    with scope(business=business):
        client = make_client(business)
        service = make_service(business, price=50_00)
        bookings = [
            make_booking(business, client=client, service=service, starts_at=local(business, 2030, 5, day, 10, 0))
            for day in (6, 7)
        ]
        store_credit_grant(business=business, client=client, amount=30_00, reason="Thanks")

    def apply(index):
        with scope(business=business):
            return checkout_apply_store_credit(business=business, booking=bookings[index], amount=20_00, actor=owner)

    applied, errors = run_at_once(apply, threads=2)
    assert len(applied) == 1 and len(errors) == 1 and isinstance(errors[0], ValidationError), errors
    with scope(business=business):
        assert store_credit_balance(business=business, client=client) == 10_00
        assert BookingDiscount.objects.filter(business=business, kind=DiscountKind.STORE_CREDIT).count() == 1
        for booking in bookings:
            consistent(business, booking)


# --- Views --------------------------------------------------------------------------------------------------------


@pytest.fixture
def checkout_booking(business):
    with scope(business=business):
        ada = make_client(business, email="ada@example.com")
        booking = make_booking(business, client=ada)
        store_credit_grant(business=business, client=ada, amount=25_00, reason="Thanks")
    return booking


def test_owner_and_staff_see_the_checkout_and_an_outsider_gets_404(
    client, business, owner, staff, outsider, other_business, checkout_booking
):
    for path in ("checkout/", "receipt/"):
        for person, expected in ((owner, 200), (staff, 200), (outsider, 404)):
            client.force_login(person)
            assert client.get(url(business, checkout_booking, path)).status_code == expected, (person, path)
    client.force_login(owner)
    page = client.get(url(business, checkout_booking, "checkout/")).content.decode()
    assert "Left to pay" in page and "£60.00" in page and "£25.00" in page
    client.force_login(outsider)
    foreign = f"/b/{other_business.slug}/bookings/{checkout_booking.pk}/checkout/store-credit/"
    assert client.post(foreign, {"amount": "10"}).status_code == 404
    with scope(business=business):
        assert store_credit_balance(business=business, client=checkout_booking.client) == 25_00


def test_staff_apply_store_credit_with_htmx_and_get_the_summary_back(staff_client, business, checkout_booking):
    response = staff_client.post(url(business, checkout_booking, "checkout/store-credit/"), {"amount": "12.50"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="checkout-summary"' in body and "<html" not in body
    assert "Store credit applied" in body and "£47.50" in body
    with scope(business=business):
        assert consistent(business, checkout_booking).total == 47_50


def test_bad_amounts_answer_400_with_the_reason_and_change_nothing(staff_client, business, checkout_booking):
    target = url(business, checkout_booking, "checkout/store-credit/")
    for amount, reason in (
        ("-1", "above zero"),
        ("abc", "Enter an amount"),
        ("1.234", "decimal places"),
        ("99", "only"),
    ):
        response = staff_client.post(target, {"amount": amount}, **HTMX)
        assert response.status_code == 400 and reason in response.content.decode(), amount
    response = staff_client.post(url(business, checkout_booking, "checkout/points/"), {"points": "x"}, **HTMX)
    assert response.status_code == 400
    response = staff_client.post(url(business, checkout_booking, "checkout/coupon/"), {"code": "NOPE"}, **HTMX)
    assert response.status_code == 400 and "No coupon has this code" in response.content.decode()
    with scope(business=business):
        assert Booking.objects.get(pk=checkout_booking.pk).total == 60_00
        assert store_credit_balance(business=business, client=checkout_booking.client) == 25_00


def test_without_htmx_an_apply_redirects_back_to_the_checkout(owner_client, business, checkout_booking):
    with scope(business=business):
        code = coupon(business, checkout_booking.client).code
    response = owner_client.post(url(business, checkout_booking, "checkout/coupon/"), {"code": code})
    assert response.status_code == 302 and response["Location"] == url(business, checkout_booking, "checkout/")
    page = owner_client.get(response["Location"]).content.decode()
    assert f"Coupon {code}" in page and "£50.00" in page


def test_staff_record_a_payment_from_the_checkout(staff_client, business, checkout_booking):
    with scope(business=business):
        payment = checkout_booking.payments.get()
    response = staff_client.post(
        url(business, checkout_booking, f"checkout/payments/{payment.pk}/"), {"method": "card"}, **HTMX
    )
    assert response.status_code == 200 and "Payment 1 recorded" in response.content.decode()
    with scope(business=business):
        assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID


def test_only_the_owner_voids_a_payment_after_confirming(client, business, owner, staff, checkout_booking):
    with scope(business=business):
        checkout_apply_store_credit(business=business, booking=checkout_booking, amount=10_00)
        payment = payment_record(business=business, payment=checkout_booking.payments.get(), method="cash")
    target = url(business, checkout_booking, f"payments/{payment.pk}/void/")
    client.force_login(staff)
    assert client.get(target).status_code == 403
    assert client.post(target, {"reason": "Mistake"}).status_code == 403
    with scope(business=business):
        assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID
    client.force_login(owner)
    page = client.get(target)
    assert page.status_code == 200 and "Void payment 1" in page.content.decode()
    assert "Void…" in client.get(url(business, checkout_booking, "checkout/")).content.decode()
    response = client.post(target, {"reason": "Mistake"})
    assert response.status_code == 302 and response["Location"] == url(business, checkout_booking, "checkout/")
    with scope(business=business):
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.DUE and payment.voided_by == owner and payment.void_reason == "Mistake"
        assert store_credit_balance(business=business, client=checkout_booking.client) == 25_00
        assert consistent(business, checkout_booking).total == 60_00
    assert "nothing to void" in client.get(target).content.decode()


def test_the_receipt_lists_price_discounts_payments_and_what_is_left(owner_client, business, checkout_booking):
    with scope(business=business):
        checkout_apply_store_credit(business=business, booking=checkout_booking, amount=10_00)
        payment_record(business=business, payment=checkout_booking.payments.get(), method="card")
    page = owner_client.get(url(business, checkout_booking, "receipt/")).content.decode()
    for text in ("£60.00", "Store credit", "−£10.00", "£50.00", "Left to pay", "@media print", "E-mail receipt"):
        assert text in page, text


def test_the_receipt_is_emailed_to_the_client(staff_client, business, checkout_booking):
    response = staff_client.post(url(business, checkout_booking, "receipt/email/"))
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"] and business.name in message.subject
    assert "Left to pay: £60.00" in message.body
    assert "£60.00" in message.alternatives[0][0]
    assert "Receipt e-mailed to ada@example.com" in staff_client.get(response["Location"]).content.decode()
    with scope(business=business):
        assert DomainEvent.objects.filter(business=business, kind="booking.receipt_sent").count() == 1


def test_no_receipt_email_without_an_address_or_for_a_test_client(staff_client, business):
    with scope(business=business):
        no_email = make_booking(business, client=make_client(business, first_name="Noemi"))
        tester = make_client(business, first_name="Tess", email="tess@example.com")
        Client.objects.filter(pk=tester.pk).update(is_test=True)
        test_booking = make_booking(business, client=Client.objects.get(pk=tester.pk))
    for booking, reason in ((no_email, "no e-mail address"), (test_booking, "Test bookings")):
        page = staff_client.get(url(business, booking, "receipt/")).content.decode()
        assert reason in page and "E-mail receipt" not in page
        response = staff_client.post(url(business, booking, "receipt/email/"), follow=True)
        assert reason in response.content.decode()
    assert mail.outbox == []


def test_the_booking_page_links_to_checkout_and_receipt(staff_client, business, checkout_booking):
    page = staff_client.get(url(business, checkout_booking)).content.decode()
    assert url(business, checkout_booking, "checkout/") in page and url(business, checkout_booking, "receipt/") in page


def test_a_cancelled_booking_shows_why_nothing_can_be_applied(staff_client, business, checkout_booking):
    with scope(business=business):
        booking_confirm(business=business, booking=checkout_booking)
        booking_cancel(business=business, booking=checkout_booking)
    page = staff_client.get(url(business, checkout_booking, "checkout/")).content.decode()
    assert "cannot be applied to a cancelled booking" in page and "Apply store credit" not in page
    response = staff_client.post(url(business, checkout_booking, "checkout/store-credit/"), {"amount": "5"}, **HTMX)
    assert response.status_code == 400
    with scope(business=business):
        assert Booking.objects.get(pk=checkout_booking.pk).status == BookingStatus.CANCELLED
