"""Store credit and loyalty points: two append-only ledgers per client, with a cached balance.

Every write locks the client's WalletBalance row, writes the entry, and moves the cached sum with F() in the same
transaction; the row's check constraint is the last wall against going below zero. Positive entries are lots that
keep what is left of them; a debit records the lots it took from (oldest expiry first, never-expiring last), so an
expiry takes exactly the unused part of a lot and a reversal gives back exactly what a debit took.

Lock order: wallet rows come last, after everything in the referral engine's order (referee client → referrals →
referrer client → tally → rewards → coupons → wallets); several wallets are locked in client-id order.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django_scopes import scopes_disabled

from bookings.models import Booking, Payment, PaymentStatus
from businesses.events import event_record
from businesses.models import Business
from businesses.money import MAX_MINOR, format_money, from_minor
from clients.models import Client

from .models import (
    PointsEntry,
    PointsKind,
    PointsProgram,
    PointsUse,
    StoreCreditEntry,
    StoreCreditKind,
    StoreCreditUse,
    WalletBalance,
)

HISTORY_SIZE = 10


@dataclass(frozen=True)
class _Book:
    """What differs between the two ledgers; the engine below is shared."""

    entry: type[models.Model]
    use: type[models.Model]
    value: str  # the entry's signed field
    balance: str  # the WalletBalance field
    credit: str  # the kind that adds a lot (grant, earn)
    debit: str  # the kind a checkout takes (apply, redeem)
    event: str
    noun: str


STORE_CREDIT = _Book(
    StoreCreditEntry, StoreCreditUse, "amount", "store_credit", "grant", "apply", "store_credit.changed", "credit"
)
POINTS = _Book(PointsEntry, PointsUse, "points", "points", "earn", "redeem", "points.changed", "points")


# ------------------------------------------------------------------------------------------------ the engine


def _check_value(value, field: str, *, signed: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({field: "Enter a whole number."})
    if value == 0 or (value < 0 and not signed):
        raise ValidationError({field: "Enter an amount above zero." if not signed else "Enter an amount other than 0."})
    if abs(value) > MAX_MINOR:
        raise ValidationError({field: "This amount is too large."})
    return value


def _check_client(business: Business, client: Client) -> None:
    if client.business_id != business.id:
        raise ValidationError("The client must belong to this business.")


def _check_booking(business: Business, client: Client, booking: Booking | None) -> None:
    if booking is not None and (booking.business_id != business.id or booking.client_id != client.pk):
        raise ValidationError({"booking": "The booking must be this client's, in this business."})


def _lock_wallets(business: Business, client_ids) -> dict[int, WalletBalance]:
    """Lock the wallets of `client_ids` in client-id order, creating missing ones. A concurrent creation of the
    same row waits for the other transaction and then does nothing (ON CONFLICT DO NOTHING)."""
    ids = sorted(set(client_ids))
    wallets = {
        w.client_id: w
        for w in WalletBalance.objects.select_for_update()
        .filter(business=business, client_id__in=ids)
        .order_by("client_id")
    }
    missing = [i for i in ids if i not in wallets]
    if missing:
        WalletBalance.objects.bulk_create(
            [WalletBalance(business=business, client_id=i) for i in missing], ignore_conflicts=True
        )
        wallets = {
            w.client_id: w
            for w in WalletBalance.objects.select_for_update()
            .filter(business=business, client_id__in=ids)
            .order_by("client_id")
        }
    return wallets


def _write(book: _Book, business: Business, wallet: WalletBalance, *, kind: str, delta: int, actor, uses=(), **fields):
    """Write one entry under the wallet lock: its lot uses, the lots' remaining, the cached balance, the event."""
    lot = delta > 0 and kind != "reverse"
    if book is STORE_CREDIT:
        fields.setdefault("currency", business.currency)
    entry = book.entry.objects.create(
        business=business,
        client_id=wallet.client_id,
        kind=kind,
        remaining=delta if lot else 0,
        created_by=actor if getattr(actor, "pk", None) else None,
        **{book.value: delta},
        **fields,
    )
    if uses:
        book.use.objects.bulk_create(
            [book.use(business=business, entry=entry, lot_id=lot_id, amount=amount) for lot_id, amount in uses]
        )
        for lot_id, amount in uses:
            book.entry.objects.filter(business=business, pk=lot_id).update(remaining=F("remaining") - amount)
    now = timezone.now()
    WalletBalance.objects.filter(business=business, pk=wallet.pk).update(
        **{book.balance: F(book.balance) + delta}, updated_at=now
    )
    setattr(wallet, book.balance, getattr(wallet, book.balance) + delta)
    event_record(
        business=business,
        kind=book.event,
        subject=entry,
        actor=actor,
        client_id=wallet.client_id,
        entry_kind=kind,
        change=delta,
        balance=getattr(wallet, book.balance),
    )
    return entry


def _expire_wallet(book: _Book, business: Business, wallet: WalletBalance, now: datetime, actor=None):
    """Under the wallet lock: one "expire" entry for the unused part of every lot past its expiry."""
    due = list(
        book.entry.objects.filter(
            business=business, client_id=wallet.client_id, remaining__gt=0, expires_at__lte=now
        ).values_list("pk", "remaining")
    )
    if not due:
        return None
    total = sum(remaining for _, remaining in due)
    return _write(book, business, wallet, kind="expire", delta=-total, actor=actor, uses=due, reason="Expired")


def _take(book: _Book, business: Business, wallet: WalletBalance, amount: int, now: datetime) -> list[tuple[int, int]]:
    """Which lots a debit of `amount` uses: the one expiring first first, never-expiring ones last."""
    lots = (
        book.entry.objects.filter(business=business, client_id=wallet.client_id, remaining__gt=0)
        .exclude(expires_at__lte=now)
        .order_by(F("expires_at").asc(nulls_last=True), "created_at", "pk")
        .values_list("pk", "remaining")
    )
    uses, left = [], amount
    for lot_id, remaining in lots.iterator():
        take = min(left, remaining)
        uses.append((lot_id, take))
        left -= take
        if not left:
            return uses
    raise ValidationError(f"This client's {book.noun} needs reconciling before it can be used; please tell support.")


def _credit(book: _Book, business: Business, client: Client, *, kind: str, delta: int, actor, **fields):
    wallet = _lock_wallets(business, [client.pk])[client.pk]
    return _write(book, business, wallet, kind=kind, delta=delta, actor=actor, **fields)


def _debit(book: _Book, business: Business, client: Client, *, kind: str, delta: int, field: str, actor, **fields):
    """Take `delta` (> 0) from the client's lots; refuses more than the balance, changing nothing."""
    now = timezone.now()
    wallet = _lock_wallets(business, [client.pk])[client.pk]
    _expire_wallet(book, business, wallet, now, actor=None)
    available = getattr(wallet, book.balance)
    if delta > available:
        raise ValidationError({field: _not_enough(book, business, available)})
    uses = _take(book, business, wallet, delta, now)
    return _write(book, business, wallet, kind=kind, delta=-delta, actor=actor, uses=uses, **fields)


def _not_enough(book: _Book, business: Business, available: int) -> str:
    if book is STORE_CREDIT:
        return f"The client has only {format_money(available, business.currency)} of store credit."
    return f"The client has only {available} points."


def _reverse(book: _Book, business: Business, entry, actor, reason: str):
    """Reverse `entry` once; a second call returns the first reversal. A lot is taken back whole only if unused;
    a debit gives back what it took to the lots it took it from."""
    wallet = _lock_wallets(business, [entry.client_id])[entry.client_id]
    # Every entry of this client is written under the wallet lock now held, so this read is stable.
    locked = book.entry.objects.get(business=business, pk=entry.pk)
    existing = book.entry.objects.filter(business=business, reverses=locked).first()
    if existing is not None:
        return existing
    value = getattr(locked, book.value)
    fields = {"reverses": locked, "reason": (reason or f"Reverses entry {locked.pk}")[:200], "booking": locked.booking}
    if book is STORE_CREDIT:
        fields["currency"] = locked.currency
    if locked.kind == "reverse":
        raise ValidationError("A reversal cannot be reversed.")
    if locked.kind == "expire":
        raise ValidationError(f"Expired {book.noun} cannot be reversed; grant it again instead.")
    if value > 0:
        if locked.remaining != value:
            raise ValidationError(
                f"Part of this {book.noun} was already used or expired, so it cannot be reversed; adjust instead."
            )
        return _write(
            book, business, wallet, kind="reverse", delta=-value, actor=actor, uses=[(locked.pk, value)], **fields
        )
    for use in book.use.objects.filter(business=business, entry=locked):
        book.entry.objects.filter(business=business, pk=use.lot_id).update(remaining=F("remaining") + use.amount)
    reversal = _write(book, business, wallet, kind="reverse", delta=-value, actor=actor, **fields)
    _expire_wallet(book, business, wallet, timezone.now())  # what it gave back to an expired lot leaves again
    return reversal


def _expire_due(book: _Book, business: Business, now: datetime | None) -> int:
    """Expire due lots client by client, each in its own transaction; a wallet another worker holds is skipped
    (that worker expires due lots itself before it debits, and the next run gets the rest)."""
    now = now or timezone.now()
    client_ids = list(
        book.entry.objects.filter(business=business, remaining__gt=0, expires_at__lte=now)
        .values_list("client_id", flat=True)
        .distinct()[:500]
    )
    expired = 0
    for client_id in client_ids:
        with transaction.atomic():
            wallet = (
                WalletBalance.objects.select_for_update(skip_locked=True)
                .filter(business=business, client_id=client_id)
                .first()
            )
            if wallet is not None and _expire_wallet(book, business, wallet, now) is not None:
                expired += 1
    return expired


def businesses_with_due_expiry(now: datetime | None = None) -> list[Business]:
    """The businesses with a lot of store credit or points past its expiry (for the periodic task)."""
    now = now or timezone.now()
    with scopes_disabled():
        ids = set()
        for model in (StoreCreditEntry, PointsEntry):
            ids |= set(
                model.objects.filter(remaining__gt=0, expires_at__lte=now)
                .values_list("business_id", flat=True)
                .distinct()
            )
        return list(Business.objects.filter(pk__in=ids).order_by("pk"))


# ------------------------------------------------------------------------------------------------ store credit


@transaction.atomic
def store_credit_grant(
    *,
    business: Business,
    client: Client,
    amount: int,
    reason: str,
    actor=None,
    expires_at: datetime | None = None,
    booking: Booking | None = None,
    referral=None,
) -> StoreCreditEntry:
    """Give `client` `amount` minor units of credit, optionally expiring. Locks the client's wallet row."""
    _check_client(business, client)
    _check_value(amount, "amount")
    _check_booking(business, client, booking)
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the credit is given."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    return _credit(
        STORE_CREDIT,
        business,
        client,
        kind=StoreCreditKind.GRANT,
        delta=amount,
        actor=actor,
        currency=business.currency,
        reason=reason.strip()[:200],
        expires_at=expires_at,
        booking=booking,
        referral=referral,
    )


@transaction.atomic
def store_credit_apply(
    *, business: Business, client: Client, amount: int, booking: Booking, actor=None, reason: str = ""
) -> StoreCreditEntry:
    """Use `amount` of the client's credit on `booking`, from the grants expiring first. Locks the client's wallet
    row: of two applies at once the second sees what the first left, and one past the balance is refused."""
    _check_client(business, client)
    _check_value(amount, "amount")
    if booking is None:
        raise ValidationError({"booking": "Store credit is applied to a booking."})
    _check_booking(business, client, booking)
    return _debit(
        STORE_CREDIT,
        business,
        client,
        kind=StoreCreditKind.APPLY,
        delta=amount,
        field="amount",
        actor=actor,
        currency=business.currency,
        reason=(reason or f"Applied to booking {booking.pk}")[:200],
        booking=booking,
    )


@transaction.atomic
def store_credit_adjust(
    *, business: Business, client: Client, amount: int, reason: str, actor=None
) -> StoreCreditEntry:
    """A correction by staff: a positive `amount` adds credit that never expires, a negative one takes credit
    (never past the balance). Locks the client's wallet row."""
    _check_client(business, client)
    _check_value(amount, "amount", signed=True)
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the balance is adjusted."})
    fields = {"currency": business.currency, "reason": reason.strip()[:200]}
    if amount > 0:
        return _credit(STORE_CREDIT, business, client, kind=StoreCreditKind.ADJUST, delta=amount, actor=actor, **fields)
    return _debit(
        STORE_CREDIT,
        business,
        client,
        kind=StoreCreditKind.ADJUST,
        delta=-amount,
        field="amount",
        actor=actor,
        **fields,
    )


@transaction.atomic
def store_credit_reverse(
    *, business: Business, entry: StoreCreditEntry, actor=None, reason: str = ""
) -> StoreCreditEntry:
    """Undo `entry` (a voided payment's apply, a grant given by mistake). Locks the client's wallet row; idempotent:
    reversing twice returns the first reversal (a unique one-to-one makes a second impossible)."""
    if entry.business_id != business.id:
        raise ValidationError("The entry must belong to this business.")
    return _reverse(STORE_CREDIT, business, entry, actor, reason)


def store_credit_expire_due(*, business: Business, now: datetime | None = None) -> int:
    """Write "expire" entries for the unused part of expired grants; returns how many clients. One transaction per
    client, skipping wallets another worker holds."""
    return _expire_due(STORE_CREDIT, business, now)


def store_credit_balance(*, business: Business, client: Client) -> int:
    return (
        WalletBalance.objects.filter(business=business, client=client).values_list("store_credit", flat=True).first()
        or 0
    )


# ------------------------------------------------------------------------------------------------ points


def points_program_get(*, business: Business) -> PointsProgram | None:
    return PointsProgram.objects.filter(business=business).first()


def points_for(amount: int, currency: str, per_unit: Decimal) -> int:
    """Whole points for paying `amount` minor units at `per_unit` points per currency unit (rounded down)."""
    if amount <= 0 or per_unit <= 0:
        return 0
    return int((from_minor(amount, currency) * Decimal(per_unit)).to_integral_value(rounding=ROUND_DOWN))


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def _referral_of(business: Business, referee: Client):
    """The referee's referral that still stands (pending or confirmed; flagged ones earn nothing until reviewed).

    Read by model name: referrals sits above rewards and is not imported."""
    referral_model = apps.get_model("referrals", "Referral")
    return (
        referral_model.objects.select_for_update()
        .filter(
            business=business, referee=referee, referrer_id=referee.referred_by_id, status__in=["pending", "confirmed"]
        )
        .order_by("pk")
        .first()
    )


@transaction.atomic
def points_earn_for_payment(*, business: Business, payment: Payment, actor=None) -> list[PointsEntry]:
    """Points for a paid payment: the client's, and the referrer's share if the client was referred (within the
    program's months after the referral, if set). Locks, in the engine's order, the client row, their referral,
    the referrer's row, then both wallets in id order. Idempotent: one earn per (payment, client)."""
    program = PointsProgram.objects.filter(business=business, enabled=True).first()
    if program is None:
        return []
    payment = Payment.objects.select_related("booking").get(business=business, pk=payment.pk)
    booking = payment.booking
    if payment.status != PaymentStatus.PAID or booking.is_test:
        return []
    client = Client.objects.select_for_update().get(business=business, pk=booking.client_id)
    awards: dict[int, tuple[int, object]] = {}
    own = points_for(payment.amount, booking.currency, program.points_per_unit)
    if own:
        awards[client.pk] = (own, None)
    share = points_for(payment.amount, booking.currency, program.referrer_points_per_unit)
    if share and client.referred_by_id:
        referral = _referral_of(business, client)
        paid_at = payment.paid_at or timezone.now()
        within = referral is not None and (
            program.referrer_months is None or paid_at < add_months(referral.created_at, program.referrer_months)
        )
        if within:
            Client.objects.select_for_update().filter(business=business, pk=client.referred_by_id).first()
            awards[client.referred_by_id] = (share, referral)
    if not awards:
        return []
    wallets = _lock_wallets(business, awards)
    done = set(
        PointsEntry.objects.filter(
            business=business, payment=payment, kind=PointsKind.EARN, client_id__in=list(awards)
        ).values_list("client_id", flat=True)
    )
    expires_at = timezone.now() + timedelta(days=program.expiry_days) if program.expiry_days else None
    entries = []
    for client_id, (points, referral) in sorted(awards.items()):
        if client_id in done:
            continue
        reason = "For a payment" if referral is None else "For a payment by a client they referred"
        entries.append(
            _write(
                POINTS,
                business,
                wallets[client_id],
                kind=PointsKind.EARN,
                delta=points,
                actor=actor,
                reason=reason,
                booking=booking,
                payment=payment,
                referral=referral,
                expires_at=expires_at,
            )
        )
    return entries


@transaction.atomic
def points_award(
    *,
    business: Business,
    client: Client,
    points: int,
    reason: str,
    referral=None,
    actor=None,
    expires_at: datetime | None = None,
) -> PointsEntry:
    """Give `client` `points` as an earn entry not tied to a payment (a referrer's reward), optionally expiring.
    Locks the client's wallet row. Not idempotent on its own: the caller's Reward row is the once-only guard."""
    _check_client(business, client)
    _check_value(points, "points")
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the points are given."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    return _credit(
        POINTS,
        business,
        client,
        kind=PointsKind.EARN,
        delta=points,
        actor=actor,
        reason=reason.strip()[:200],
        referral=referral,
        expires_at=expires_at,
    )


@dataclass(frozen=True)
class PointsRedemption:
    entry: PointsEntry
    value: int  # the discount, in minor units


@transaction.atomic
def points_redeem(*, business: Business, client: Client, points: int, booking: Booking, actor=None) -> PointsRedemption:
    """Spend `points` on `booking` for a discount worth points × the point's value. Locks the client's wallet row;
    refuses more than the balance, changing nothing."""
    _check_client(business, client)
    _check_value(points, "points")
    if booking is None:
        raise ValidationError({"booking": "Points are redeemed on a booking."})
    _check_booking(business, client, booking)
    program = PointsProgram.objects.filter(business=business, enabled=True).first()
    if program is None:
        raise ValidationError("This business has no points program.")
    value = points * program.point_value
    entry = _debit(
        POINTS,
        business,
        client,
        kind=PointsKind.REDEEM,
        delta=points,
        field="points",
        actor=actor,
        reason=f"Redeemed on booking {booking.pk}",
        booking=booking,
        value=value,
    )
    return PointsRedemption(entry=entry, value=value)


@transaction.atomic
def points_adjust(*, business: Business, client: Client, points: int, reason: str, actor=None) -> PointsEntry:
    """A correction by staff, positive (never expires) or negative (never past the balance). Locks the wallet row."""
    _check_client(business, client)
    _check_value(points, "points", signed=True)
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the points are adjusted."})
    if points > 0:
        return _credit(POINTS, business, client, kind=PointsKind.ADJUST, delta=points, actor=actor, reason=reason[:200])
    return _debit(
        POINTS,
        business,
        client,
        kind=PointsKind.ADJUST,
        delta=-points,
        field="points",
        actor=actor,
        reason=reason[:200],
    )


@transaction.atomic
def points_reverse(*, business: Business, entry: PointsEntry, actor=None, reason: str = "") -> PointsEntry:
    """Undo `entry` (a voided payment's redemption or earn). Locks the wallet row; idempotent like store credit."""
    if entry.business_id != business.id:
        raise ValidationError("The entry must belong to this business.")
    return _reverse(POINTS, business, entry, actor, reason)


def points_expire_due(*, business: Business, now: datetime | None = None) -> int:
    """Write "expire" entries for expired earned points; returns how many clients. Skips wallets held elsewhere."""
    return _expire_due(POINTS, business, now)


def points_balance(*, business: Business, client: Client) -> int:
    return WalletBalance.objects.filter(business=business, client=client).values_list("points", flat=True).first() or 0


# ------------------------------------------------------------------------------------------------ reads


@dataclass(frozen=True)
class ClientWallet:
    currency: str
    store_credit: int
    points: int
    points_value: int  # what the points are worth now, in minor units (0 without an enabled program)
    program: PointsProgram | None
    store_credit_entries: list[StoreCreditEntry]
    points_entries: list[PointsEntry]


def client_wallet(business: Business, client: Client, *, limit: int = HISTORY_SIZE) -> ClientWallet:
    """Balances and the latest entries of both ledgers for the client page: four queries, whatever the history."""
    wallet = WalletBalance.objects.filter(business=business, client=client).first()
    program = PointsProgram.objects.filter(business=business).first()
    credit = list(
        StoreCreditEntry.objects.filter(business=business, client=client)
        .select_related("created_by")
        .order_by("-created_at", "-id")[:limit]
    )
    points = list(
        PointsEntry.objects.filter(business=business, client=client)
        .select_related("created_by")
        .order_by("-created_at", "-id")[:limit]
    )
    points_balance_ = wallet.points if wallet else 0
    return ClientWallet(
        currency=business.currency,
        store_credit=wallet.store_credit if wallet else 0,
        points=points_balance_,
        points_value=points_balance_ * program.point_value if program and program.enabled else 0,
        program=program,
        store_credit_entries=credit,
        points_entries=points,
    )


# ------------------------------------------------------------------------------------------------ events


def on_payment_recorded(event) -> None:
    """In the payment's transaction: the points it earns (nothing without an enabled points program)."""
    payment = Payment.objects.filter(business=event.business, pk=event.subject_id).first()
    if payment is not None:
        points_earn_for_payment(business=event.business, payment=payment, actor=event.actor)
