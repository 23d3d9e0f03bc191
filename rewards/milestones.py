"""Milestones: a bonus a referrer earns once, on reaching N successful referrals.

The referral engine calls `milestones_check` from its confirmation, under the referrer's client row lock and after
the tally moved, so two confirmations of one referrer decide one after the other; the unique constraint on
(milestone, client) is the second wall. The referral engine's models are read by name: rewards sits below
referrals and does not import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from businesses.events import event_record
from businesses.models import Business, Service
from businesses.money import MAX_MINOR, format_money
from clients.models import Client

from .credits import service_credit_issue
from .ledger import store_credit_grant
from .models import (
    CouponKind,
    Milestone,
    MilestoneAward,
    MilestoneRewardKind,
    Reward,
    RewardKind,
    ServiceCreditSource,
)
from .services import CouponSpec, coupon_issue, coupon_label

DEFAULT_VALID_DAYS = 90


# ------------------------------------------------------------------------------------------------ settings


@dataclass(frozen=True)
class MilestoneData:
    threshold: int
    reward_kind: str
    service: Service | None = None
    amount: int = 0
    percent: Decimal = Decimal(0)
    counts_towards_max: bool = False
    active: bool = True


def milestone_summary(milestone: Milestone, currency: str) -> str:
    return f"{milestone.threshold} successful referrals → {milestone_reward_label(milestone, currency)}"


def milestone_reward_label(milestone: Milestone, currency: str) -> str:
    kind = milestone.reward_kind
    if kind == MilestoneRewardKind.SERVICE_CREDIT:
        return f"a free {milestone.service.name if milestone.service else 'service'} (service credit)"
    if kind == MilestoneRewardKind.STORE_CREDIT:
        return f"{format_money(milestone.amount, currency)} of store credit"
    if kind == MilestoneRewardKind.COUPON_PERCENT:
        return f"a {milestone.percent.normalize():f}% off coupon"
    return f"a {format_money(milestone.amount, currency)} off coupon"


def _clean(business: Business, data: MilestoneData, exclude_pk: int | None = None) -> dict:
    errors: dict[str, str] = {}
    threshold = data.threshold
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= 10000:
        errors["threshold"] = "Enter a whole number of referrals from 1 to 10000."
    elif Milestone.objects.filter(business=business, threshold=threshold).exclude(pk=exclude_pk).exists():
        errors["threshold"] = "Another milestone already has this number of referrals."
    fields = {"service": None, "amount": 0, "percent": Decimal(0)}
    kind = data.reward_kind
    if kind == MilestoneRewardKind.SERVICE_CREDIT:
        if data.service is None or data.service.business_id != business.id:
            errors["service"] = "Choose the service the credit is for."
        fields["service"] = data.service
    elif kind in (MilestoneRewardKind.STORE_CREDIT, MilestoneRewardKind.COUPON_FIXED):
        if isinstance(data.amount, bool) or not isinstance(data.amount, int) or not 0 < data.amount <= MAX_MINOR:
            errors["amount"] = "Enter an amount above zero."
        fields["amount"] = data.amount
    elif kind == MilestoneRewardKind.COUPON_PERCENT:
        percent = Decimal(data.percent or 0)
        if not Decimal(0) < percent <= Decimal(100) or percent.as_tuple().exponent < -2:
            errors["percent"] = "Enter a percentage above 0 and up to 100, with at most two decimals."
        fields["percent"] = percent
    else:
        errors["reward_kind"] = "Choose what the referrer gets."
    if errors:
        raise ValidationError(errors)
    return {
        "threshold": threshold,
        "reward_kind": kind,
        "counts_towards_max": bool(data.counts_towards_max),
        "active": bool(data.active),
        **fields,
    }


def _save(business: Business, milestone: Milestone, actor, verb: str) -> Milestone:
    try:
        with transaction.atomic():
            milestone.save()
    except IntegrityError as exc:
        # Two owners saving the same threshold at once: the unique constraint decides.
        raise ValidationError({"threshold": "Another milestone already has this number of referrals."}) from exc
    event_record(business=business, kind=f"milestone.{verb}", subject=milestone, actor=actor)
    return milestone


@transaction.atomic
def milestone_create(*, business: Business, data: MilestoneData, actor=None) -> Milestone:
    """A new milestone; one per number of referrals (unique constraint)."""
    fields = _clean(business, data)
    return _save(business, Milestone(business=business, **fields), actor, "created")


@transaction.atomic
def milestone_update(*, business: Business, milestone: Milestone, data: MilestoneData, actor=None) -> Milestone:
    """Change a milestone. Clients who reached it keep what they were given; it is not given again."""
    locked = Milestone.objects.select_for_update().get(business=business, pk=milestone.pk)
    for name, value in _clean(business, data, exclude_pk=locked.pk).items():
        setattr(locked, name, value)
    locked.updated_at = timezone.now()
    return _save(business, locked, actor, "updated")


@transaction.atomic
def milestone_delete(*, business: Business, milestone: Milestone, actor=None) -> None:
    """Delete a milestone. Its awards stay (with the threshold copied), and so do the rewards they gave."""
    locked = Milestone.objects.select_for_update().filter(business=business, pk=milestone.pk).first()
    if locked is None:
        return
    event_record(business=business, kind="milestone.deleted", subject=locked, actor=actor, threshold=locked.threshold)
    locked.delete()


# ------------------------------------------------------------------------------------------------ reaching one


def _referral_model(name: str):
    return apps.get_model("referrals", name)


def _issue(business: Business, milestone: Milestone, client: Client, *, valid_days: int, actor) -> Reward:
    """The milestone's reward for `client`: the Reward row (no referral) and what it gives."""
    expires_at = timezone.now() + timedelta(days=valid_days)
    issued_by = actor if getattr(actor, "pk", None) else None
    prefix = f"Milestone: {milestone.threshold} successful referrals"
    kind = milestone.reward_kind
    if kind == MilestoneRewardKind.SERVICE_CREDIT:
        reward = Reward.objects.create(
            business=business,
            client=client,
            kind=RewardKind.SERVICE_CREDIT,
            description=f"{prefix}: 1 × {milestone.service.name}"[:200],
            issued_by=issued_by,
        )
        service_credit_issue(
            business=business,
            client=client,
            service=milestone.service,
            source=ServiceCreditSource.MILESTONE,
            expires_at=expires_at,
            actor=actor,
            reward=reward,
            reason=prefix,
        )
        return reward
    if kind == MilestoneRewardKind.STORE_CREDIT:
        entry = store_credit_grant(
            business=business, client=client, amount=milestone.amount, reason=prefix, actor=actor, expires_at=expires_at
        )
        return Reward.objects.create(
            business=business,
            client=client,
            kind=RewardKind.STORE_CREDIT,
            store_credit=entry,
            description=f"{prefix}: {format_money(milestone.amount, business.currency)} of store credit"[:200],
            issued_by=issued_by,
        )
    spec = (
        CouponSpec(CouponKind.PERCENT, percent=milestone.percent)
        if kind == MilestoneRewardKind.COUPON_PERCENT
        else CouponSpec(CouponKind.FIXED, amount=milestone.amount)
    )
    coupon = coupon_issue(business=business, client=client, spec=spec, valid_days=valid_days)
    return Reward.objects.create(
        business=business,
        client=client,
        kind=RewardKind.COUPON,
        coupon=coupon,
        description=f"{prefix}: coupon {coupon.code}, {coupon_label(coupon)}"[:200],
        issued_by=issued_by,
    )


def milestones_check(*, business: Business, referrer: Client, actor=None) -> list[MilestoneAward]:
    """Give `referrer` every active milestone they have reached and not been given yet, in the caller's
    transaction (the confirmation that reached it). Takes the referrer's client row lock (a no-op when the
    confirmation holds it), so concurrent confirmations decide in turn; the (milestone, client) unique constraint
    makes a second award a no-op. A milestone that counts towards the program's maximum is skipped while the
    referrer is at it, and given by a later confirmation if the maximum is raised."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("milestones_check() must run inside the confirmation's transaction")
    referrer = Client.objects.select_for_update().get(business=business, pk=referrer.pk)
    # Test-drive clients never reach milestones: their records are removed wholesale afterwards.
    if referrer.is_test:
        return []
    tally = _referral_model("ReferrerTally").objects.filter(business=business, client=referrer).first()
    if tally is None or tally.successful_referrals <= 0:
        return []
    program = _referral_model("ReferralProgram").objects.filter(business=business).first()
    if program is not None and not program.rewards_referrer:
        return []
    maximum = program.max_rewards_per_referrer if program is not None else 0
    valid_days = program.reward_valid_days if program is not None else DEFAULT_VALID_DAYS
    reached = list(
        Milestone.objects.filter(business=business, active=True, threshold__lte=tally.successful_referrals)
        .select_related("service")
        .order_by("threshold")
    )
    if not reached:
        return []
    given = MilestoneAward.objects.filter(business=business, client=referrer)
    given_ids = set(given.filter(milestone__isnull=False).values_list("milestone_id", flat=True))
    # A milestone deleted and added again with the same threshold is the same step for a client who reached it.
    given_thresholds = set(given.values_list("threshold", flat=True))
    rewards_earned = tally.rewards_earned
    awards = []
    for milestone in reached:
        if milestone.pk in given_ids or milestone.threshold in given_thresholds:
            continue
        if milestone.counts_towards_max and maximum and rewards_earned >= maximum:
            continue
        try:
            with transaction.atomic():
                reward = _issue(business, milestone, referrer, valid_days=valid_days, actor=actor)
                award = MilestoneAward.objects.create(
                    business=business,
                    milestone=milestone,
                    client=referrer,
                    reward=reward,
                    threshold=milestone.threshold,
                )
        except IntegrityError:
            continue  # given meanwhile by a caller that did not hold the referrer's lock
        if milestone.counts_towards_max:
            _referral_model("ReferrerTally").objects.filter(business=business, client=referrer).update(
                rewards_earned=F("rewards_earned") + 1
            )
            rewards_earned += 1
        event_record(
            business=business,
            kind="reward.issued",
            subject=reward,
            actor=actor,
            client_id=referrer.pk,
            milestone_id=milestone.pk,
        )
        event_record(
            business=business,
            kind="milestone.reached",
            subject=award,
            actor=actor,
            client_id=referrer.pk,
            milestone_id=milestone.pk,
            threshold=milestone.threshold,
            reward_id=reward.pk,
            successful_referrals=tally.successful_referrals,
        )
        awards.append(award)
    return awards


def milestone_awards_for_client(*, business: Business, client: Client) -> list[MilestoneAward]:
    return list(
        MilestoneAward.objects.filter(business=business, client=client).select_related("reward").order_by("threshold")
    )
