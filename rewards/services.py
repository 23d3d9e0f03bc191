"""Use cases for rewards: issuing a referrer's reward (coupon, store credit, loyalty points, service credit),
redeeming a coupon on a booking, revoking a reward."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from bookings.models import Booking, DiscountKind
from bookings.services import DiscountLine
from businesses.events import event_record
from businesses.models import Business, Service
from businesses.money import format_money, percent_of
from clients.models import Client

from .credits import service_credit_issue, service_credit_revoke
from .ledger import points_award, points_reverse, store_credit_grant, store_credit_reverse
from .models import (
    Coupon,
    CouponKind,
    CouponStatus,
    Reward,
    RewardKind,
    RewardStatus,
    ServiceCredit,
    ServiceCreditSource,
)

COUPON_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


def _new_coupon_code() -> str:
    body = "".join(secrets.choice(COUPON_ALPHABET) for _ in range(8))
    return f"THX-{body[:4]}-{body[4:]}"


def coupon_label(coupon: Coupon) -> str:
    if coupon.kind == CouponKind.PERCENT:
        return f"{coupon.percent.normalize():f}% off"
    return f"{format_money(coupon.amount, coupon.currency)} off"


@dataclass(frozen=True)
class CouponSpec:
    kind: str  # CouponKind
    percent: Decimal = Decimal(0)
    amount: int = 0


def coupon_issue(*, business: Business, client: Client, spec: CouponSpec, valid_days: int, is_test=False) -> Coupon:
    """A new single-use coupon for `client` with a unique code (retried on the rare collision)."""
    for _ in range(10):
        try:
            with transaction.atomic():
                return Coupon.objects.create(
                    business=business,
                    client=client,
                    code=_new_coupon_code(),
                    kind=spec.kind,
                    percent=spec.percent if spec.kind == CouponKind.PERCENT else 0,
                    amount=spec.amount if spec.kind == CouponKind.FIXED else 0,
                    currency=business.currency,
                    expires_at=timezone.now() + timedelta(days=valid_days),
                    is_test=is_test,
                )
        except IntegrityError:
            continue
    raise RuntimeError("Could not find a free coupon code after 10 tries")


@transaction.atomic
def reward_issue_coupon(
    *, business: Business, client: Client, referral, spec: CouponSpec, valid_days: int, actor=None, is_test=False
) -> Reward | None:
    """Issue the referrer's coupon for `referral`. At most one reward per referral (unique constraint): a second
    call, concurrent or not, returns None and issues nothing."""
    reward = _reward_row(
        business=business,
        client=client,
        referral=referral,
        kind=RewardKind.COUPON,
        description="Coupon",
        actor=actor,
        is_test=is_test,
    )
    if reward is None:
        return None
    coupon = coupon_issue(business=business, client=client, spec=spec, valid_days=valid_days, is_test=is_test)
    reward.coupon, reward.description = coupon, f"Coupon {coupon.code}: {coupon_label(coupon)}"
    reward.save(update_fields=["coupon", "description"])
    _issued(reward, actor, coupon_code=coupon.code)
    return reward


@transaction.atomic
def reward_issue_store_credit(
    *, business: Business, client: Client, referral, amount: int, valid_days: int, actor=None, is_test=False
) -> Reward | None:
    """Grant the referrer store credit for `referral`, expiring after `valid_days`. The reward row is written
    first, so the one-per-referral constraint refuses a second grant before any credit moves."""
    reward = _reward_row(
        business=business,
        client=client,
        referral=referral,
        kind=RewardKind.STORE_CREDIT,
        description=f"{format_money(amount, business.currency)} of store credit",
        actor=actor,
        is_test=is_test,
    )
    if reward is None:
        return None
    reward.store_credit = store_credit_grant(
        business=business,
        client=client,
        amount=amount,
        reason="Referral reward",
        actor=actor,
        expires_at=timezone.now() + timedelta(days=valid_days),
        referral=referral,
    )
    reward.save(update_fields=["store_credit"])
    _issued(reward, actor, store_credit=amount)
    return reward


def _issued(reward: Reward, actor, **what) -> None:
    """The `reward.issued` event the autopilots and webhooks listen to, with what the reward gives."""
    event_record(
        business=reward.business,
        kind="reward.issued",
        subject=reward,
        actor=actor,
        client_id=reward.client_id,
        referral_id=reward.referral_id,
        **what,
    )


def _reward_row(*, business: Business, client: Client, referral, kind: str, description: str, actor, is_test):
    """The Reward row, written before what it gives: the one-per-referral constraint refuses a second one (None)."""
    try:
        with transaction.atomic():
            return Reward.objects.create(
                business=business,
                client=client,
                referral=referral,
                kind=kind,
                description=description[:200],
                issued_by=actor if getattr(actor, "pk", None) else None,
                is_test=is_test,
            )
    except IntegrityError:
        return None


@transaction.atomic
def reward_issue_points(
    *, business: Business, client: Client, referral, points: int, valid_days: int, actor=None, is_test=False
) -> Reward | None:
    """Award the referrer `points` loyalty points for `referral`, expiring after `valid_days`. The reward row is
    written first (one per referral), then the earn entry under the client's wallet lock."""
    reward = _reward_row(
        business=business,
        client=client,
        referral=referral,
        kind=RewardKind.POINTS,
        description=f"{points} loyalty point{'s' if points != 1 else ''}",
        actor=actor,
        is_test=is_test,
    )
    if reward is None:
        return None
    reward.points_entry = points_award(
        business=business,
        client=client,
        points=points,
        reason="Referral reward",
        referral=referral,
        actor=actor,
        expires_at=timezone.now() + timedelta(days=valid_days),
    )
    reward.save(update_fields=["points_entry"])
    _issued(reward, actor, points=points)
    return reward


@transaction.atomic
def reward_issue_service_credit(
    *,
    business: Business,
    client: Client,
    referral,
    service: Service,
    quantity: int,
    valid_days: int,
    actor=None,
    is_test=False,
) -> Reward | None:
    """Put `quantity` prepaid sessions of `service` on the referrer's file for `referral`, expiring after
    `valid_days`. The reward row is written first (one per referral), then the credit linked to it."""
    reward = _reward_row(
        business=business,
        client=client,
        referral=referral,
        kind=RewardKind.SERVICE_CREDIT,
        description=f"Service credit: {quantity} × {service.name}",
        actor=actor,
        is_test=is_test,
    )
    if reward is None:
        return None
    service_credit_issue(
        business=business,
        client=client,
        service=service,
        quantity=quantity,
        source=ServiceCreditSource.RULE,
        expires_at=timezone.now() + timedelta(days=valid_days),
        actor=actor,
        reward=reward,
        reason="Referral reward",
        is_test=is_test,
    )
    _issued(reward, actor, service_id=service.pk, quantity=quantity)
    return reward


@transaction.atomic
def reward_revoke(*, business: Business, reward: Reward, reason: str, actor=None) -> bool:
    """Revoke an unused reward; returns False (and keeps it) if its coupon was redeemed, its store credit or points
    (partly) spent or expired, or a session of its service credit used.

    Locks, in the engine's order, the coupon row, the service credit row, then the wallet row (through the ledger),
    so a use and a revocation at the same moment cannot both win. Store credit and points are taken back with a
    reversing ledger entry; a service credit is stamped revoked and expires at once (see service_credit_revoke).
    """
    reward = Reward.objects.select_for_update().get(business=business, pk=reward.pk)
    if reward.status == RewardStatus.REVOKED:
        raise ValidationError("This reward was already revoked.")
    coupon = Coupon.objects.select_for_update().filter(business=business, pk=reward.coupon_id).first()
    kept = coupon is not None and coupon.status == CouponStatus.REDEEMED
    credit = ServiceCredit.objects.filter(business=business, reward=reward).first()
    if credit is not None and not kept:
        kept = not service_credit_revoke(business=business, credit=credit, reason=reason, actor=actor)
    if reward.store_credit_id and not kept:
        try:
            store_credit_reverse(business=business, entry=reward.store_credit, actor=actor, reason=reason)
        except ValidationError:
            kept = True  # part of the credit was spent or has expired
    if reward.points_entry_id and not kept:
        try:
            points_reverse(business=business, entry=reward.points_entry, actor=actor, reason=reason)
        except ValidationError:
            kept = True  # some of the points were redeemed or have expired
    if kept:
        event_record(business=business, kind="reward.kept", subject=reward, actor=actor, reason=reason)
        return False
    now = timezone.now()
    if coupon is not None:
        coupon.status, coupon.revoked_at, coupon.revoke_reason = CouponStatus.REVOKED, now, reason[:200]
        coupon.save(update_fields=["status", "revoked_at", "revoke_reason"])
    reward.status, reward.revoked_at, reward.revoke_reason = RewardStatus.REVOKED, now, reason[:200]
    reward.save(update_fields=["status", "revoked_at", "revoke_reason"])
    event_record(business=business, kind="reward.revoked", subject=reward, actor=actor, reason=reason)
    return True


def coupon_find(*, business: Business, code: str) -> Coupon | None:
    cleaned = (code or "").strip().upper()
    if not cleaned:
        return None
    # iexact compares UPPER(code), which the unique index (business, UPPER(code)) serves.
    return Coupon.objects.select_related("client").filter(business=business, code__iexact=cleaned).first()


def coupon_problem(coupon: Coupon | None, *, client: Client, now=None) -> str | None:
    """Why this coupon cannot be used by `client` now, in words for staff; None if it can."""
    if coupon is None:
        return "No coupon has this code."
    if coupon.client_id != client.pk:
        return "This coupon belongs to another client."
    if coupon.status == CouponStatus.REDEEMED:
        return "This coupon has already been used."
    if coupon.status == CouponStatus.REVOKED:
        return "This coupon was revoked."
    if coupon.is_expired(now):
        return "This coupon has expired."
    return None


def coupon_discount_line(coupon: Coupon, price: int) -> DiscountLine:
    """The discount the coupon gives on `price`, as a booking discount line (never more than the price)."""
    amount = percent_of(price, coupon.percent) if coupon.kind == CouponKind.PERCENT else coupon.amount
    return DiscountLine(
        kind=DiscountKind.COUPON,
        label=f"Coupon {coupon.code} ({coupon_label(coupon)})",
        amount=min(amount, price),
        source_type="rewards.Coupon",
        source_id=coupon.pk,
        code=coupon.code,
        per_period=False,
    )


def coupon_lock_for_use(*, business: Business, code: str, client: Client) -> Coupon:
    """The coupon `client` may use now, locked until the caller's transaction ends; ValidationError otherwise."""
    found = coupon_find(business=business, code=code)
    locked = Coupon.objects.select_for_update().filter(business=business, pk=found.pk).first() if found else None
    problem = coupon_problem(locked, client=client)
    if problem:
        raise ValidationError({"coupon_code": problem})
    return locked


def coupon_redeem(*, business: Business, coupon: Coupon, booking: Booking, actor=None) -> Coupon:
    """Mark the coupon used on `booking`. Locks the coupon row and redeems only an active one, so of two
    simultaneous redemptions exactly one succeeds; the other gets a ValidationError. Runs in the caller's
    transaction (the booking's), so a refused redemption undoes the booking too."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("coupon_redeem() must run inside the booking's transaction")
    locked = Coupon.objects.select_for_update().get(business=business, pk=coupon.pk)
    problem = coupon_problem(locked, client=booking.client)
    if problem:
        raise ValidationError({"coupon_code": problem})
    locked.status, locked.redeemed_at, locked.redeemed_booking = CouponStatus.REDEEMED, timezone.now(), booking
    locked.save(update_fields=["status", "redeemed_at", "redeemed_booking"])
    event_record(business=business, kind="coupon.redeemed", subject=locked, actor=actor, booking_id=booking.pk)
    return locked
