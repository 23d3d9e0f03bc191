"""Staff checkout: apply a client's coupon, store credit, points or service credit to what is left to pay on a
booking, and void a recorded payment, which takes back everything applied at checkout.

Each apply writes a BookingDiscount snapshot row, lowers the booking's total and the amounts of its due payments
(the first due payments first; paid ones are never touched), and writes the ledger entry or redeems the coupon, all
in one transaction. The sum of a booking's payments stays equal to its total.

Lock order (the engine's, everywhere): the client row, the booking row, its payment rows, then coupons, then
service credits, then wallet rows (the ledger locks those). Checkout sits above rewards on purpose: it is the
staff's use case that spans them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from businesses.events import event_record
from businesses.models import Business, PaymentPlan
from businesses.money import format_money
from clients.models import Client
from rewards.credits import (
    service_credit_label,
    service_credit_reverse_use,
    service_credit_use,
    service_credits_available,
)
from rewards.ledger import (
    points_adjust,
    points_program_get,
    points_redeem,
    points_reverse,
    store_credit_apply,
    store_credit_reverse,
)
from rewards.models import (
    Coupon,
    CouponStatus,
    PointsEntry,
    PointsKind,
    PointsProgram,
    ServiceCredit,
    ServiceCreditUse,
    StoreCreditEntry,
    WalletBalance,
)
from rewards.services import coupon_discount_line, coupon_lock_for_use, coupon_redeem

from .models import Booking, BookingDiscount, BookingEvent, BookingStatus, DiscountKind, Payment, PaymentStatus

# Discount rows written at checkout carry these source types, so a void finds exactly them (a coupon given at
# booking time is part of the price the client booked at and stays).
CHECKOUT_PREFIX = "checkout:"
COUPON_SOURCE = CHECKOUT_PREFIX + "rewards.Coupon"
STORE_CREDIT_SOURCE = CHECKOUT_PREFIX + "rewards.StoreCreditEntry"
POINTS_SOURCE = CHECKOUT_PREFIX + "rewards.PointsEntry"
SERVICE_CREDIT_SOURCE = CHECKOUT_PREFIX + "rewards.ServiceCreditUse"
CLOSED = {
    BookingStatus.CANCELLED: "Rewards cannot be applied to a cancelled booking.",
    BookingStatus.NO_SHOW: "Rewards cannot be applied to a no-show booking.",
}


@dataclass(frozen=True)
class UsableCoupon:
    coupon: Coupon
    label: str
    value: int  # what it would take off now, in minor units


@dataclass(frozen=True)
class UsableServiceCredit:
    credit: ServiceCredit
    label: str
    value: int  # what one session takes off now, in minor units


@dataclass(frozen=True)
class CheckoutSummary:
    booking: Booking
    currency: str
    list_price: int
    total: int
    discounts: list[BookingDiscount]
    payments: list[Payment]
    paid: int
    due_now: int  # unpaid payments due today or earlier (at least the next one)
    left_to_pay: int  # every unpaid payment
    coupons: list[UsableCoupon]
    store_credit: int
    points: int
    points_program: PointsProgram | None  # None unless enabled
    points_usable: int  # how many points can be redeemed now (balance and what is left to pay allowing)
    refusal: str  # why nothing can be applied now, or ""
    service_credits: list[UsableServiceCredit] = ()  # the client's credits for the booked service, usable now
    service_credit_in_use: bool = False  # the booking already uses a service credit (one per booking)

    @property
    def points_value(self) -> int:
        return self.points * self.points_program.point_value if self.points_program else 0

    @property
    def store_credit_usable(self) -> int:
        return min(self.store_credit, self.left_to_pay)

    @property
    def discount_total(self) -> int:
        return self.list_price - self.total


def _refusal(booking: Booking, left_to_pay: int) -> str:
    if booking.status in CLOSED:
        return CLOSED[booking.status]
    if left_to_pay <= 0:
        return "Nothing is left to pay on this booking."
    return ""


def _coupon_base(booking: Booking, payments: list[Payment], left_to_pay: int) -> int:
    """What a percentage coupon is taken of, as at booking time: the whole price of a one-off or instalment booking,
    one period's price of a membership or pay-per-session booking; never more than what is left to pay."""
    if booking.service.payment_plan in (PaymentPlan.ONE_OFF, PaymentPlan.INSTALMENTS) or not payments:
        base = booking.list_price
    else:
        base = payments[0].amount + payments[0].discount
    return min(base, left_to_pay)


def checkout_summary(*, business: Business, booking: Booking, now: datetime | None = None) -> CheckoutSummary:
    """What the checkout page shows: the money of the booking and what the client can use. Locks nothing."""
    if booking.business_id != business.id:
        raise ValidationError("The booking must belong to this business.")
    now = now or timezone.now()
    booking = Booking.objects.select_related("client", "service").get(business=business, pk=booking.pk)
    payments = list(
        Payment.objects.filter(business=business, booking=booking).select_related("recorded_by").order_by("sequence")
    )
    due = [p for p in payments if p.status == PaymentStatus.DUE]
    left_to_pay = sum(p.amount for p in due)
    today = timezone.localdate(now)
    due_now = sum(p.amount for i, p in enumerate(due) if i == 0 or p.due_on <= today)
    refusal = _refusal(booking, left_to_pay)
    wallet = WalletBalance.objects.filter(business=business, client_id=booking.client_id).first()
    store_credit, points = (wallet.store_credit, wallet.points) if wallet else (0, 0)
    program = points_program_get(business=business)
    program = program if program is not None and program.enabled else None
    coupons = []
    if not refusal:
        base = _coupon_base(booking, payments, left_to_pay)
        for coupon in Coupon.objects.filter(
            business=business, client_id=booking.client_id, status=CouponStatus.ACTIVE
        ).exclude(expires_at__lte=now):
            line = coupon_discount_line(coupon, base)
            coupons.append(UsableCoupon(coupon=coupon, label=line.label, value=line.amount))
    points_usable = 0
    if program is not None and program.point_value > 0 and not refusal:
        points_usable = min(points, left_to_pay // program.point_value)
    service_credits, in_use = [], False
    if not refusal:
        in_use = ServiceCreditUse.objects.filter(business=business, booking=booking, reversed_at__isnull=True).exists()
        if not in_use:
            session = _coupon_base(booking, payments, left_to_pay)
            service_credits = [
                UsableServiceCredit(credit=credit, label=service_credit_label(credit), value=session)
                for credit in service_credits_available(
                    business=business, client=booking.client, service=booking.service
                )
            ]
    return CheckoutSummary(
        booking=booking,
        currency=booking.currency,
        list_price=booking.list_price,
        total=booking.total,
        discounts=list(BookingDiscount.objects.filter(business=business, booking=booking).order_by("id")),
        payments=payments,
        paid=sum(p.amount for p in payments if p.status == PaymentStatus.PAID),
        due_now=due_now,
        left_to_pay=left_to_pay,
        coupons=coupons,
        store_credit=store_credit,
        points=points,
        points_program=program,
        points_usable=points_usable,
        refusal=refusal,
        service_credits=service_credits,
        service_credit_in_use=in_use,
    )


# ------------------------------------------------------------------------------------------------ applying


@dataclass
class _Locked:
    client: Client
    booking: Booking
    payments: list[Payment]

    @property
    def due(self) -> list[Payment]:
        return [p for p in self.payments if p.status == PaymentStatus.DUE]

    @property
    def left_to_pay(self) -> int:
        return sum(p.amount for p in self.due)


def _lock(business: Business, booking: Booking) -> _Locked:
    """Lock the client row, then the booking row, then its payments (in sequence order)."""
    if booking.business_id != business.id:
        raise ValidationError("The booking must belong to this business.")
    client = Client.objects.select_for_update().get(business=business, pk=booking.client_id)
    locked = Booking.objects.select_for_update().select_related("service").get(business=business, pk=booking.pk)
    if locked.client_id != client.pk:
        # The booking moved to another client (a merge) between the two reads.
        raise ValidationError("This booking changed while you were working on it; please try again.")
    locked.client = client
    payments = list(Payment.objects.select_for_update().filter(business=business, booking=locked).order_by("sequence"))
    return _Locked(client=client, booking=locked, payments=payments)


def _lock_open(business: Business, booking: Booking) -> _Locked:
    state = _lock(business, booking)
    refusal = _refusal(state.booking, state.left_to_pay)
    if refusal:
        raise ValidationError(refusal)
    return state


def _take(business: Business, state: _Locked, amount: int) -> None:
    """Lower the first due payments and the booking's total by `amount` (at most what is left to pay)."""
    left = amount
    for payment in state.due:
        take = min(left, payment.amount)
        if take:
            payment.amount -= take
            payment.discount += take
            payment.save(update_fields=["amount", "discount"])
            left -= take
        if not left:
            break
    if left:
        raise RuntimeError("a checkout discount exceeded what is left to pay")
    Booking.objects.filter(business=business, pk=state.booking.pk).update(total=F("total") - amount)
    state.booking.total -= amount


def _write_row(
    business: Business,
    state: _Locked,
    *,
    kind: str,
    label: str,
    amount: int,
    source: str,
    source_id: int,
    code: str = "",
    actor=None,
) -> BookingDiscount:
    _take(business, state, amount)
    row = BookingDiscount.objects.create(
        business=business,
        booking=state.booking,
        kind=kind,
        label=label[:200],
        amount=amount,
        source_type=source,
        source_id=source_id,
        code=code,
    )
    event_record(
        business=business,
        kind="booking.discount_applied",
        subject=state.booking,
        actor=actor,
        discount_kind=kind,
        amount=amount,
        discount_id=row.pk,
    )
    return row


def _check_whole(value, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({field: "Enter a whole number."})
    if value <= 0:
        raise ValidationError({field: "Enter an amount above zero."})
    return value


@transaction.atomic
def checkout_apply_coupon(*, business: Business, booking: Booking, code: str, actor=None) -> BookingDiscount:
    """Redeem the client's coupon `code` on what is left to pay. Locks the client row, the booking row, its
    payments, then the coupon row: a coupon used twice at once is redeemed once; a refusal changes nothing."""
    if not (code or "").strip():
        raise ValidationError({"coupon_code": "Enter a coupon code."})
    state = _lock_open(business, booking)
    coupon = coupon_lock_for_use(business=business, code=code, client=state.client)
    line = coupon_discount_line(coupon, _coupon_base(state.booking, state.payments, state.left_to_pay))
    if line.amount <= 0:
        raise ValidationError({"coupon_code": "This coupon takes nothing off what is left to pay."})
    coupon_redeem(business=business, coupon=coupon, booking=state.booking, actor=actor)
    return _write_row(
        business,
        state,
        kind=DiscountKind.COUPON,
        label=line.label,
        amount=line.amount,
        source=COUPON_SOURCE,
        source_id=coupon.pk,
        code=coupon.code,
        actor=actor,
    )


@transaction.atomic
def checkout_apply_store_credit(*, business: Business, booking: Booking, amount: int, actor=None) -> BookingDiscount:
    """Apply `amount` of the client's store credit, capped at what is left to pay. Locks the client row, the booking
    row, its payments, then the client's wallet row (through the ledger): two applies at once never overdraw, and
    more than the balance is refused, changing nothing."""
    _check_whole(amount, "amount")
    state = _lock_open(business, booking)
    amount = min(amount, state.left_to_pay)
    entry = store_credit_apply(
        business=business,
        client=state.client,
        amount=amount,
        booking=state.booking,
        actor=actor,
        reason=f"Checkout of booking {state.booking.pk}",
    )
    return _write_row(
        business,
        state,
        kind=DiscountKind.STORE_CREDIT,
        label="Store credit",
        amount=amount,
        source=STORE_CREDIT_SOURCE,
        source_id=entry.pk,
        actor=actor,
    )


@transaction.atomic
def checkout_apply_points(*, business: Business, booking: Booking, points: int, actor=None) -> BookingDiscount:
    """Redeem `points` for their value, capped at the whole points that what is left to pay allows. Locks the client
    row, the booking row, its payments, then the client's wallet row (through the ledger); more points than the
    balance are refused, changing nothing."""
    _check_whole(points, "points")
    program = points_program_get(business=business)
    if program is None or not program.enabled or program.point_value <= 0:
        raise ValidationError({"points": "This business has no points program."})
    state = _lock_open(business, booking)
    most = state.left_to_pay // program.point_value
    if most <= 0:
        raise ValidationError({"points": "Less than one point's worth is left to pay."})
    points = min(points, most)
    redemption = points_redeem(
        business=business, client=state.client, points=points, booking=state.booking, actor=actor
    )
    return _write_row(
        business,
        state,
        kind=DiscountKind.POINTS,
        label=f"{points} points",
        amount=redemption.value,
        source=POINTS_SOURCE,
        source_id=redemption.entry.pk,
        actor=actor,
    )


@transaction.atomic
def checkout_apply_service_credit(
    *, business: Business, booking: Booking, credit: ServiceCredit, actor=None
) -> BookingDiscount:
    """Use one session of the client's service credit on the booking: the discount is what one session of the booked
    service costs (the whole price of a one-off or instalment booking, one period's of a membership or pay-per-session
    one), capped at what is left to pay. Locks the client row, the booking row, its payments, then the credit row
    (through service_credit_use): a session is used once, a booking uses one credit; a refusal changes nothing."""
    if credit.business_id != business.id:
        raise ValidationError({"service_credit": "This service credit does not exist."})
    state = _lock_open(business, booking)
    amount = _coupon_base(state.booking, state.payments, state.left_to_pay)
    use = service_credit_use(business=business, credit=credit, booking=state.booking, actor=actor)
    return _write_row(
        business,
        state,
        kind=DiscountKind.SERVICE_CREDIT,
        label=f"Service credit: {state.booking.service.name}",
        amount=amount,
        source=SERVICE_CREDIT_SOURCE,
        source_id=use.pk,
        actor=actor,
    )


# ------------------------------------------------------------------------------------------------ voiding


def _room_to_give_back(state: _Locked) -> int:
    """How much the due payments can take back: each at most up to its list amount."""
    return sum(p.discount for p in state.due)


def _give_back(state: _Locked, amount: int) -> None:
    """Raise the due payments' amounts by `amount` (at most the room there is), first due first."""
    left = amount
    for payment in state.due:
        give = min(left, payment.discount)
        if give:
            payment.amount += give
            payment.discount -= give
            payment.save(update_fields=["amount", "discount"])
            left -= give
        if not left:
            return
    if left:
        raise RuntimeError("a voided checkout discount did not fit on the due payments")


@dataclass(frozen=True)
class VoidResult:
    payment: Payment
    voided: bool  # False: the payment was not paid (already voided), nothing changed
    reversed: list[BookingDiscount]  # the checkout discount rows taken back (and removed)
    kept: list[BookingDiscount]  # checkout rows kept: part of them sits on another payment still paid


@transaction.atomic
def payment_void(*, business: Business, payment: Payment, actor=None, reason: str = "") -> VoidResult:
    """Void a recorded payment: it is due again, the client's lifetime spend drops by it, the points earned on it are
    taken back, and everything applied at checkout to the booking is reversed (coupons active again, service credit
    sessions given back, store credit and points given back with reversing entries, the discount rows removed and
    their amounts due again), unless
    part of it sits on another payment that is still paid: then it stays until that payment is voided too.

    Locks the client row, the booking row, its payments, the referrer's row, coupons, service credits, then wallet
    rows in client-id order. Idempotent: voiding a payment that is no longer paid (already voided) changes nothing."""
    if payment.business_id != business.id:
        raise ValidationError("The payment must belong to this business.")
    reason = (reason or "").strip()[:200]
    booking = Booking.objects.get(business=business, pk=payment.booking_id)
    state = _lock(business, booking)
    locked = next((p for p in state.payments if p.pk == payment.pk), None)
    if locked is None:
        raise ValidationError("This payment no longer exists.")
    if locked.status != PaymentStatus.PAID:
        if locked.voided_at is not None or locked.status == PaymentStatus.VOID:
            return VoidResult(payment=locked, voided=False, reversed=[], kept=[])
        raise ValidationError("Only a recorded payment can be voided.")
    now = timezone.now()
    who = actor if getattr(actor, "pk", None) else None
    was = f"{locked.get_method_display() or 'paid'}, {format_money(locked.amount, state.booking.currency)}"
    Client.objects.filter(business=business, pk=state.client.pk).update(
        lifetime_spend=F("lifetime_spend") - locked.amount
    )
    locked.status, locked.method, locked.paid_at, locked.recorded_by = PaymentStatus.DUE, "", None, None
    locked.voided_at, locked.voided_by, locked.void_reason = now, who, reason
    locked.save(update_fields=["status", "method", "paid_at", "recorded_by", "voided_at", "voided_by", "void_reason"])

    rows = list(
        BookingDiscount.objects.filter(
            business=business, booking=state.booking, source_type__startswith=CHECKOUT_PREFIX
        ).order_by("id")
    )
    restored = sum(row.amount for row in rows)
    kept: list[BookingDiscount] = []
    if restored > _room_to_give_back(state):
        # Giving it back would change a payment that is still paid; it goes when that payment is voided too.
        rows, kept, restored = [], rows, 0
    earned = list(
        PointsEntry.objects.filter(business=business, payment=locked, kind=PointsKind.EARN).order_by("client_id")
    )
    # The referrer's row comes after the client's (engine order), before coupons and wallets.
    others = sorted({e.client_id for e in earned} - {state.client.pk})
    if others:
        list(Client.objects.select_for_update().filter(business=business, pk__in=others).order_by("pk"))
    _restore_coupons(business, state.booking, rows)
    _restore_service_credits(business, rows, actor)
    list(
        WalletBalance.objects.select_for_update()
        .filter(business=business, client_id__in=[state.client.pk, *others])
        .order_by("client_id")
    )
    note = f"Payment {locked.sequence} ({was}) voided" + (f": {reason}" if reason else "")
    _reverse_ledgers(business, rows, earned, actor, note)
    if restored:
        _give_back(state, restored)
        Booking.objects.filter(business=business, pk=state.booking.pk).update(total=F("total") + restored)
        BookingDiscount.objects.filter(business=business, pk__in=[row.pk for row in rows]).delete()
    BookingEvent.objects.create(
        business=business,
        booking=state.booking,
        from_status=state.booking.status,
        to_status=state.booking.status,
        actor=who,
        note=note[:200],
    )
    event_record(
        business=business,
        kind="payment.voided",
        subject=locked,
        actor=actor,
        booking_id=state.booking.pk,
        amount=locked.amount,
        reason=reason,
        discounts_reversed=[{"kind": row.kind, "amount": row.amount} for row in rows],
        discounts_kept=[{"kind": row.kind, "amount": row.amount} for row in kept],
    )
    return VoidResult(payment=locked, voided=True, reversed=rows, kept=kept)


def _restore_coupons(business: Business, booking: Booking, rows: list[BookingDiscount]) -> None:
    ids = sorted(row.source_id for row in rows if row.source_type == COUPON_SOURCE and row.source_id)
    if not ids:
        return
    coupons = Coupon.objects.select_for_update().filter(business=business, pk__in=ids).order_by("pk")
    for coupon in coupons:
        if coupon.status == CouponStatus.REDEEMED and coupon.redeemed_booking_id == booking.pk:
            coupon.status, coupon.redeemed_at, coupon.redeemed_booking = CouponStatus.ACTIVE, None, None
            coupon.save(update_fields=["status", "redeemed_at", "redeemed_booking"])


def _restore_service_credits(business: Business, rows: list[BookingDiscount], actor) -> None:
    """Give back the sessions checkout used (after coupons, before wallet rows: the engine's lock order)."""
    ids = sorted(row.source_id for row in rows if row.source_type == SERVICE_CREDIT_SOURCE and row.source_id)
    for use in ServiceCreditUse.objects.filter(business=business, pk__in=ids).order_by("credit_id", "pk"):
        service_credit_reverse_use(business=business, use=use, actor=actor)


def _reverse_ledgers(business: Business, rows: list[BookingDiscount], earned: list[PointsEntry], actor, note: str):
    for row in rows:
        if row.source_type == STORE_CREDIT_SOURCE and row.source_id:
            entry = StoreCreditEntry.objects.filter(business=business, pk=row.source_id).first()
            if entry is not None:
                store_credit_reverse(business=business, entry=entry, actor=actor, reason=note)
        elif row.source_type == POINTS_SOURCE and row.source_id:
            entry = PointsEntry.objects.filter(business=business, pk=row.source_id).first()
            if entry is not None:
                points_reverse(business=business, entry=entry, actor=actor, reason=note)
    for entry in earned:
        try:
            with transaction.atomic():
                points_reverse(business=business, entry=entry, actor=actor, reason=note)
        except ValidationError:
            # Part of the earned points was spent or expired: take back what is left of them.
            left = PointsEntry.objects.get(business=business, pk=entry.pk).remaining
            if left > 0:
                client = Client.objects.get(business=business, pk=entry.client_id)
                points_adjust(business=business, client=client, points=-left, reason=note, actor=actor)


# ------------------------------------------------------------------------------------------------ receipts


def receipt_problem(*, booking: Booking) -> str:
    """Why the receipt cannot be e-mailed to the booking's client, in words for staff; "" if it can."""
    client = booking.client
    if booking.is_test or client.is_test:
        return "Test bookings are not e-mailed; print the receipt instead."
    if client.erased_at is not None or not client.email:
        return f"{client.full_name} has no e-mail address on file; print the receipt instead."
    return ""


@transaction.atomic
def receipt_send(*, business: Business, booking: Booking, subject: str, text: str, html: str, actor=None) -> str:
    """E-mail the rendered receipt to the booking's client at once; returns the address. Locks nothing; refuses a
    test booking or a client without an e-mail address with a ValidationError. Sending twice sends twice."""
    if booking.business_id != business.id:
        raise ValidationError("The booking must belong to this business.")
    problem = receipt_problem(booking=booking)
    if problem:
        raise ValidationError(problem)
    address = booking.client.email
    send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [address], html_message=html)
    event_record(business=business, kind="booking.receipt_sent", subject=booking, actor=actor, to=address)
    return address
