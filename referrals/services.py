"""The referral flow: capture at booking, eligibility, the new client's discount, confirmation and the reward.

Facts are loaded once into the dataclasses of `rules` and `fraud`, decided by their pure functions, then acted on
here in one transaction (DESIGN.md, "The referral flow").
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_scopes import scopes_disabled

from bookings.models import Booking, BookingStatus, DiscountKind
from bookings.services import DiscountLine, booking_create, is_new_client
from businesses.events import event_record
from businesses.models import Business, Service
from businesses.money import format_money
from businesses.services import audit_record
from campaigns.promotions import SOURCE_TYPE as PROMOTION_SOURCE
from campaigns.promotions import promotion_discount_line, promotion_lock_for_use, promotion_take_use
from clients.models import Client
from clients.services import ClientData, client_create, client_set_referrer, client_update
from rewards.models import CouponKind, RewardStatus
from rewards.services import (
    CouponSpec,
    coupon_discount_line,
    coupon_lock_for_use,
    coupon_redeem,
    reward_issue_coupon,
    reward_issue_points,
    reward_issue_service_credit,
    reward_issue_store_credit,
)
from rewards.services import reward_revoke as reward_revoke_coupon

from . import fraud, rules
from .codes import code_resolve
from .models import (
    LIVE_STATUSES,
    ClientSighting,
    Referral,
    ReferralFlag,
    ReferralProgram,
    ReferralRule,
    ReferralSource,
    ReferralStatus,
    ReferrerTally,
    RewardKindChoice,
    RewardMoment,
)
from .program import program_get

# ---------------------------------------------------------------------------------------------------- facts


def program_facts(program: ReferralProgram) -> rules.ProgramFacts:
    return rules.ProgramFacts(
        enabled=program.enabled,
        recipients=rules.Recipients(program.recipients),
        max_rewards_per_referrer=program.max_rewards_per_referrer,
        attribution_window_days=program.attribution_window_days,
        combination_mode=rules.CombinationMode(program.combination_mode),
    )


def rule_facts(rule: ReferralRule, service_ids: frozenset[int]) -> rules.RuleFacts:
    fixed_referee = rule.referee_kind == rules.AmountKind.FIXED
    fixed_reward = rule.reward_kind != "coupon_percent"
    slow = rule.slow_reward_amount if fixed_reward else rule.slow_reward_percent
    return rules.RuleFacts(
        id=rule.pk,
        position=rule.position,
        service_ids=service_ids,
        referee_kind=rules.AmountKind(rule.referee_kind),
        referee_value=Decimal(rule.referee_amount if fixed_referee else rule.referee_percent),
        reward_kind=rule.reward_kind,
        reward_value=Decimal(rule.reward_amount if fixed_reward else rule.reward_percent),
        fast_days=rule.fast_days,
        slow_reward_value=Decimal(slow) if slow is not None else None,
    )


def rules_for(business: Business) -> list[rules.RuleFacts]:
    """Every rule of the program with its service ids, in two queries."""
    program_rules = list(ReferralRule.objects.filter(business=business))
    through = ReferralRule.services.through
    service_ids: dict[int, set[int]] = {rule.pk: set() for rule in program_rules}
    for rule_id, service_id in through.objects.filter(referralrule__business=business).values_list(
        "referralrule_id", "service_id"
    ):
        service_ids.setdefault(rule_id, set()).add(service_id)
    return [rule_facts(rule, frozenset(service_ids[rule.pk])) for rule in program_rules]


# ---------------------------------------------------------------------------------------------------- capture


@dataclass(frozen=True)
class Fingerprint:
    """Keyed hashes of where a booking came from (see `sighting_hashes`); never raw addresses."""

    network_hash: str = ""
    device_hash: str = ""


@dataclass(frozen=True)
class ReferralClaim:
    """What a booking carries that may make it a referral: a code (from the link or typed) or a named referrer."""

    code: str = ""
    source: str = ReferralSource.CODE
    clicked_at: datetime | None = None
    referrer: Client | None = None
    fingerprint: Fingerprint | None = None
    staff_referral_id: int | None = None

    @property
    def is_empty(self) -> bool:
        return not self.code.strip() and self.referrer is None


@dataclass(frozen=True)
class Quote:
    """What a referral claim is worth on one booking, before anything is written."""

    referrer: Client | None
    code_id: int | None
    refusal: str | None
    rule: rules.RuleFacts | None
    discount: int
    label: str

    @property
    def eligible(self) -> bool:
        return self.referrer is not None and self.refusal is None


def _discount_label(referrer: Client, rule: rules.RuleFacts, currency: str) -> str:
    if rule.referee_kind == rules.AmountKind.PERCENT:
        value = f"{rule.referee_value.normalize():f}%"
    else:
        value = format_money(int(rule.referee_value), currency)
    return f"Referred by {referrer.first_name}: {value} off"


def referral_quote(
    *,
    business: Business,
    service: Service,
    claim: ReferralClaim,
    referee: Client | None = None,
    email_canonical: str = "",
    phone: str = "",
    now: datetime | None = None,
    test_drive: bool = False,
    program: ReferralProgram | None = None,
) -> Quote:
    """Decide a claim for a booking of `service` by `referee` (or, before the client exists, by the e-mail and
    phone they typed). Reads only; the widget's summary and the booking itself both use it. A test drive runs
    as if the program were switched on, so the owner can try it before going live."""
    now = now or timezone.now()
    referrer, code_id = claim.referrer, None
    if referrer is None:
        code = code_resolve(business=business, raw=claim.code)
        if code is None:
            return Quote(None, None, rules.Refusal.UNKNOWN_CODE, None, 0, "")
        referrer, code_id = code.client, code.pk
    # A test drive's clients never refer real clients, and real clients never refer test ones.
    if referrer.business_id != business.id or referrer.is_test != test_drive:
        return Quote(None, None, rules.Refusal.UNKNOWN_CODE, None, 0, "")
    email = referee.email_canonical if referee else email_canonical
    phone = referee.phone if referee else phone
    if referee is None and email:
        referee = Client.objects.filter(business=business, email_canonical=email).first()
    program = program or program_get(business=business)
    program_rules = rules_for(business)
    rule = rules.match_rule(program_rules, service.pk)
    # A click time from the future is a forged or skewed one: it counts as a click made now.
    days_since_click = max((now - claim.clicked_at).days, 0) if claim.clicked_at else None
    refusal = rules.refusal(
        rules.EligibilityFacts(
            program_enabled=(program.enabled or test_drive) and bool(program_rules),
            referee_is_new=referee is None or is_new_client(business=business, client=referee),
            same_client=referee is not None and referee.pk == referrer.pk,
            already_referred=referee is not None and _already_referred(business, referee, claim),
            shares_email_or_phone=bool(
                (email and email == referrer.email_canonical) or (phone and phone == referrer.phone)
            ),
            days_since_click=days_since_click,
            attribution_window_days=program.attribution_window_days,
            rule_matched=rule is not None,
        )
    )
    if refusal is not None:
        return Quote(referrer, code_id, refusal, rule, 0, "")
    if claim.source == ReferralSource.NAMED:
        # Anyone can type a common first name: the pair is checked by staff before anything is given.
        return Quote(referrer, code_id, None, rule, 0, f"Referred by {referrer.first_name} (to be confirmed)")
    discount = rules.referee_discount(rule, program_facts(program), service.price)
    label = _discount_label(referrer, rule, business.currency) if discount else f"Referred by {referrer.first_name}"
    return Quote(referrer, code_id, None, rule, discount, label)


def _already_referred(business: Business, referee: Client, claim: ReferralClaim) -> bool:
    """The client already has a live referral (another than the staff link this booking picks up), or one that
    was confirmed once: a friend is referred, and rewarded for, only once."""
    earlier = Referral.objects.filter(business=business, referee=referee).filter(
        Q(status__in=LIVE_STATUSES) | Q(confirmed_at__isnull=False)
    )
    if claim.staff_referral_id:
        earlier = earlier.exclude(pk=claim.staff_referral_id)
    return earlier.exists()


def _flags_for(business: Business, program: ReferralProgram, referrer: Client, referee: Client, claim) -> list:
    sightings = ClientSighting.objects.filter(business=business, client=referrer).values_list(
        "network_hash", "device_hash"
    )
    referrer_networks = frozenset(n for n, _ in sightings if n)
    referrer_devices = frozenset(d for _, d in sightings if d)
    fingerprint = claim.fingerprint or Fingerprint()
    recent = Referral.objects.filter(
        business=business, referrer=referrer, created_at__gte=timezone.now() - timedelta(hours=24)
    ).count()
    return fraud.flag_signals(
        referrer=fraud.Party(referrer.email_canonical, referrer.phone, referrer_networks, referrer_devices),
        referee=fraud.Party(
            referee.email_canonical,
            referee.phone,
            frozenset({fingerprint.network_hash} - {""}),
            frozenset({fingerprint.device_hash} - {""}),
        ),
        # The referral being made counts too: the burst limit is how many a referrer may make in a day.
        referrals_last_day=recent + 1,
        burst_limit=program.burst_limit,
        named_by_client=claim.source == ReferralSource.NAMED,
    )


def referral_discount_line(quote: Quote | None, claim: ReferralClaim) -> DiscountLine | None:
    """The referral's discount as a booking line, or None when the quote gives nothing."""
    if quote is None or not quote.discount:
        return None
    return DiscountLine(
        kind=DiscountKind.REFERRAL,
        label=quote.label,
        amount=quote.discount,
        source_type="referrals.ReferralRule",
        source_id=quote.rule.id,
        code=claim.code.upper()[:40],
    )


def combine_discounts(
    referral_line: DiscountLine | None, other_lines: list[DiscountLine], program: ReferralProgram | None
) -> list[DiscountLine]:
    """The lines a booking gets: the referral's with the others (coupon, promotion) stacked, or only the best, as
    the program's combination mode says. The booking and the widget's price preview both decide here."""
    mode = program.combination_mode if program is not None else rules.CombinationMode.STACK
    if referral_line is None:
        return other_lines
    if rules.best_discount_only(referral_line.amount, [line.amount for line in other_lines], mode):
        keep_others = mode == rules.CombinationMode.STACK
        return [referral_line, *(other_lines if keep_others else [])]
    return other_lines


def _close(referral: Referral, status: str, reason: str) -> None:
    referral.status, referral.reason, referral.closed_at = status, reason[:300], timezone.now()
    referral.save(update_fields=["status", "reason", "closed_at"])


def _pending_staff_referral(business: Business, client: Client) -> Referral | None:
    """A referral staff linked on the client record before their first booking, waiting for that booking."""
    return (
        Referral.objects.select_for_update()
        .filter(business=business, referee=client, booking__isnull=True, status__in=LIVE_STATUSES)
        .first()
    )


@transaction.atomic
def booking_create_with_referral(
    *,
    business: Business,
    client: Client | ClientData,
    service: Service,
    starts_at: datetime,
    claim: ReferralClaim | None = None,
    coupon_code: str = "",
    promotion_code: str = "",
    actor=None,
    is_test: bool = False,
    **booking_fields,
) -> Booking:
    """Create a booking with whatever referral, coupon and promotion it carries, in one transaction.

    An ineligible referral is recorded with its reason and the booking goes through at full price; a flagged one
    still gives the discount but holds the referrer's reward for review. The coupon row is locked, so one coupon
    used twice at once is accepted once. Given a ClientData, the new client is created in the same transaction,
    so a refused booking leaves no client behind.
    """
    if isinstance(client, ClientData):
        client = client_create(business=business, data=client, actor=actor)
    # Lock order, everywhere: the referee's client row, their referrals, the referrer's client row, the tally,
    # rewards, coupons. Locking the referee first makes two bookings of one new client decide one after the other.
    client = Client.objects.select_for_update().get(business=business, pk=client.pk)
    claim = claim or ReferralClaim()
    staff_referral = _pending_staff_referral(business, client)
    if staff_referral is not None and claim.is_empty:
        claim = ReferralClaim(
            referrer=staff_referral.referrer, source=staff_referral.source, staff_referral_id=staff_referral.pk
        )
    elif staff_referral is not None:
        # A code or a name given at booking replaces what staff noted before; nothing is referred twice.
        _close(staff_referral, ReferralStatus.CANCELLED, "Replaced by the referral given at booking.")
        staff_referral = None
    # Read once, and only for a booking that carries a referral: a plain booking never touches the program.
    program = None if claim.is_empty else program_get(business=business)
    quote = (
        None
        if program is None
        else referral_quote(
            business=business, service=service, claim=claim, referee=client, test_drive=is_test, program=program
        )
    )
    referral_line = referral_discount_line(quote, claim)
    coupon = coupon_lock_for_use(business=business, code=coupon_code, client=client) if coupon_code.strip() else None
    promotion = (
        promotion_lock_for_use(business=business, code=promotion_code, service=service, client=client)
        if promotion_code.strip()
        else None
    )
    others = [coupon_discount_line(coupon, service.price)] if coupon else []
    if promotion is not None:
        others.append(promotion_discount_line(promotion, service.price))
    lines = combine_discounts(referral_line, others, program)
    booking = booking_create(
        business=business,
        client=client,
        service=service,
        starts_at=starts_at,
        actor=actor,
        discounts=tuple(lines),
        **booking_fields,
    )
    if coupon is not None and any(line.source_type == "rewards.Coupon" for line in lines):
        coupon_redeem(business=business, coupon=coupon, booking=booking, actor=actor)
    if promotion is not None and any(line.source_type == PROMOTION_SOURCE for line in lines):
        promotion_take_use(business=business, promotion=promotion, booking=booking, actor=actor)
    if quote is not None and quote.referrer is not None and quote.referrer.pk != client.pk:
        applied = referral_line.amount if referral_line in lines else 0
        _record_referral(business, program, booking, quote, claim, applied, staff_referral, actor, is_test)
    elif quote is not None and quote.refusal:
        # No referral row can name a client as their own referee; the refusal stays in the activity feed.
        event_record(business=business, kind="referral.refused", subject=booking, actor=actor, reason=quote.refusal)
    if claim.fingerprint:
        sighting_record(business=business, client=client, fingerprint=claim.fingerprint)
    return booking


def _record_referral(business, program, booking, quote, claim, applied, staff_referral, actor, is_test) -> Referral:
    referee = booking.client
    referral = staff_referral or Referral(
        business=business,
        referrer=quote.referrer,
        referee=referee,
        source=claim.source,
        created_by=actor if getattr(actor, "pk", None) else None,
        is_test=is_test,
    )
    referral.booking = booking
    referral.code_id = quote.code_id
    referral.clicked_at = claim.clicked_at
    referral.rule_id = quote.rule.id if quote.rule else None
    referral.referee_discount = applied
    if quote.rule is not None:
        referral.reward_kind = quote.rule.reward_kind
        referral.reward_value = quote.rule.reward_value
        referral.reward_fast_days = quote.rule.fast_days
        referral.reward_slow_value = quote.rule.slow_reward_value
        referral.reward_service_id = (
            ReferralRule.objects.filter(business=business, pk=quote.rule.id)
            .values_list("reward_service_id", flat=True)
            .first()
            if quote.rule.reward_kind == RewardKindChoice.SERVICE_CREDIT
            else None
        )
    flags = []
    if quote.refusal:
        referral.status, referral.reason = ReferralStatus.INELIGIBLE, str(quote.refusal)
    else:
        flags = _flags_for(business, program, quote.referrer, referee, claim)
        referral.status = ReferralStatus.FLAGGED if flags else ReferralStatus.PENDING
        if flags and program.flag_auto_approve_days:
            referral.auto_approve_at = timezone.now() + timedelta(days=program.flag_auto_approve_days)
    # The referee's row is locked and live referrals were checked under it, so this insert cannot collide.
    referral.save()
    ReferralFlag.objects.bulk_create(
        ReferralFlag(business=business, referral=referral, signal=signal, detail=detail[:200])
        for signal, detail in flags
    )
    if referral.status in LIVE_STATUSES:
        if referee.referred_by_id is None:
            client_set_referrer(business=business, client=referee, referrer=quote.referrer, actor=actor)
        _tally(business, quote.referrer, last_referral_at=referral.created_at)
    event_record(
        business=business,
        kind="referral.created",
        subject=referral,
        actor=actor,
        status=referral.status,
        referrer_id=referral.referrer_id,
        referee_id=referee.pk,
        booking_id=booking.pk,
    )
    if booking.status == BookingStatus.CONFIRMED:
        referral_reward_moment(business=business, booking=booking, moment=RewardMoment.CONFIRMED, actor=actor)
    return referral


def _tally(business: Business, client: Client, **changes) -> None:
    """Move a referrer's figures. Takes the referrer's row lock first (a no-op if held), keeping the lock order."""
    Client.objects.select_for_update().filter(business=business, pk=client.pk).first()
    ReferrerTally.objects.get_or_create(business=business, client=client)
    updates = {name: F(name) + delta for name, delta in changes.items() if name != "last_referral_at"}
    if "last_referral_at" in changes:
        updates["last_referral_at"] = changes["last_referral_at"]
    ReferrerTally.objects.filter(business=business, client=client).update(**updates)


@transaction.atomic
def referral_link_by_staff(
    *, business: Business, referee: Client, referrer: Client | None, actor=None
) -> Referral | None:
    """Staff record who referred a client (or, with None, that nobody did). Before the client's first booking this
    is a pending referral that the booking picks up; after it, the link is kept for the record but earns nothing
    (never retroactive). A referral already attached to a booking cannot be replaced here."""
    if referrer is not None and (referrer.business_id != business.id or referee.business_id != business.id):
        raise ValidationError({"referrer": "That client belongs to another business."})
    if referrer is not None and referrer.pk == referee.pk:
        raise ValidationError({"referrer": "A client cannot refer themselves."})
    # The referee's row first (see booking_create_with_referral): two staff saving at once decide in turn.
    referee = Client.objects.select_for_update().get(business=business, pk=referee.pk)
    live = Referral.objects.select_for_update().filter(business=business, referee=referee, status__in=LIVE_STATUSES)
    for existing in live:
        if existing.referrer_id == getattr(referrer, "pk", None):
            return existing
        if existing.booking_id is not None:
            raise ValidationError(
                {"referrer": "This client's booking already carries a referral; reject or cancel it first."}
            )
        _close(existing, ReferralStatus.CANCELLED, "Replaced by staff before the first booking.")
    client_set_referrer(business=business, client=referee, referrer=referrer, actor=actor)
    if referrer is None:
        return None
    has_booked = not is_new_client(business=business, client=referee)
    referral = Referral.objects.create(
        business=business,
        referrer=referrer,
        referee=referee,
        source=ReferralSource.STAFF,
        status=ReferralStatus.INELIGIBLE if has_booked else ReferralStatus.PENDING,
        reason=str(rules.Refusal.NOT_NEW) if has_booked else "",
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    if not has_booked:
        _tally(business, referrer, last_referral_at=referral.created_at)
    event_record(business=business, kind="referral.created", subject=referral, actor=actor, status=referral.status)
    return referral


@transaction.atomic
def client_save_with_referrer(
    *, business: Business, data: ClientData, referrer: Client | None, client: Client | None = None, actor=None
) -> Client:
    """Create (or update) a client from the client form, and record the referrer it names as a referral, so the
    first booking gets its discount. One transaction: a refused referrer leaves the rest unsaved too."""
    if client is None:
        client = client_create(business=business, data=data, actor=actor)
    else:
        client = client_update(business=business, client=client, data=data, actor=actor)
    if client.referred_by_id != (referrer.pk if referrer else None):
        referral_link_by_staff(business=business, referee=client, referrer=referrer, actor=actor)
        client.refresh_from_db()
    return client


# ---------------------------------------------------------------------------------------------------- confirmation


_MOMENT_OF_EVENT = {
    "booking.confirmed": RewardMoment.CONFIRMED,
    "booking.completed": RewardMoment.COMPLETED,
    "payment.recorded": RewardMoment.PAID,
}


# A completed booking has been confirmed, and a payment confirms a booking too (DESIGN.md, step 5).
_SATISFIES = {
    RewardMoment.CONFIRMED: {RewardMoment.CONFIRMED},
    RewardMoment.COMPLETED: {RewardMoment.CONFIRMED, RewardMoment.COMPLETED},
    RewardMoment.PAID: {RewardMoment.CONFIRMED, RewardMoment.PAID},
}


def referral_reward_moment(*, business: Business, booking: Booking, moment: str, actor=None) -> Referral | None:
    """A referred booking reached `moment`. If that is the program's reward moment, confirm the referral (or, if
    it is flagged, remember that the reward is due). Locks the referral row: concurrent calls confirm once."""
    # Most bookings carry no referral: answer them with one indexed read, before reading (or creating) the program.
    if not Referral.objects.filter(business=business, booking=booking).exists():
        return None
    program = program_get(business=business)
    if program.reward_moment not in _SATISFIES[moment]:
        return None
    referral = Referral.objects.select_for_update().filter(business=business, booking=booking).first()
    if referral.status == ReferralStatus.FLAGGED and not referral.reward_due:
        referral.reward_due = True
        referral.save(update_fields=["reward_due"])
    elif referral.status == ReferralStatus.PENDING:
        _confirm(business, program, referral, actor)
    return referral


def _confirm(business: Business, program: ReferralProgram, referral: Referral, actor) -> None:
    """Confirm a locked referral and issue the referrer's reward, in the caller's transaction."""
    referral.status, referral.confirmed_at = ReferralStatus.CONFIRMED, timezone.now()
    referral.save(update_fields=["status", "confirmed_at"])
    # The referrer's row is the lock that keeps "at most N rewards" true when several referees confirm at once.
    referrer = Client.objects.select_for_update().get(business=business, pk=referral.referrer_id)
    _tally(business, referrer, successful_referrals=1)
    reward = _issue_reward(business, program, referral, referrer, actor)
    # After the referral's own reward, so a milestone counting towards the maximum never takes its place.
    from rewards.milestones import milestones_check

    milestones_check(business=business, referrer=referrer, actor=actor)
    event_record(
        business=business,
        kind="referral.confirmed",
        subject=referral,
        actor=actor,
        referrer_id=referrer.pk,
        referee_id=referral.referee_id,
        reward_id=reward.pk if reward else None,
    )


def _snapshot_rule(referral: Referral) -> rules.RuleFacts | None:
    """The referrer's reward as the rule stood when the friend booked (later rule edits do not change it)."""
    if not referral.reward_kind:
        return None
    return rules.RuleFacts(
        id=referral.rule_id or 0,
        position=0,
        service_ids=frozenset(),
        referee_kind=rules.AmountKind.NONE,
        referee_value=Decimal(0),
        reward_kind=referral.reward_kind,
        reward_value=referral.reward_value,
        fast_days=referral.reward_fast_days,
        slow_reward_value=referral.reward_slow_value,
    )


def _issue_reward(business, program, referral, referrer, actor):
    rule = _snapshot_rule(referral)
    if not program.rewards_referrer or rule is None:
        return None
    tally = ReferrerTally.objects.get(business=business, client=referrer)
    clicked = referral.clicked_at
    spec = rules.referrer_reward(
        rule,
        program_facts(program),
        rewards_so_far=tally.rewards_earned,
        # Speed is the time from the click to the booking (when the referral was made), not to the confirmation.
        days_since_click=max((referral.created_at - clicked).days, 0) if clicked else None,
    )
    if spec is None:
        return None
    issue = dict(business=business, client=referrer, referral=referral, valid_days=program.reward_valid_days)
    if spec.kind == RewardKindChoice.STORE_CREDIT:
        reward = reward_issue_store_credit(**issue, amount=int(spec.value), actor=actor, is_test=referral.is_test)
    elif spec.kind == RewardKindChoice.POINTS:
        reward = reward_issue_points(**issue, points=int(spec.value), actor=actor, is_test=referral.is_test)
    elif spec.kind == RewardKindChoice.SERVICE_CREDIT:
        service = Service.objects.filter(business=business, pk=referral.reward_service_id).first()
        if service is None:
            # The service was deleted after the friend booked: there is nothing to give a session of.
            event_record(business=business, kind="reward.skipped", subject=referral, actor=actor, reason="no service")
            return None
        reward = reward_issue_service_credit(
            **issue, service=service, quantity=int(spec.value), actor=actor, is_test=referral.is_test
        )
    else:
        coupon = (
            CouponSpec(CouponKind.PERCENT, percent=min(spec.value, Decimal(100)))
            if spec.kind == "coupon_percent"
            else CouponSpec(CouponKind.FIXED, amount=int(spec.value))
        )
        reward = reward_issue_coupon(**issue, spec=coupon, actor=actor, is_test=referral.is_test)
    if reward is not None:
        _tally(business, referrer, rewards_earned=1)
    return reward


@transaction.atomic
def referral_approve(*, business: Business, referral: Referral, actor=None) -> Referral:
    """The owner clears a flagged referral. If its booking already reached the reward moment, it is confirmed
    and rewarded now; otherwise it waits as pending. Locks the row; approving twice changes nothing."""
    locked = Referral.objects.select_for_update().get(business=business, pk=referral.pk)
    if locked.status != ReferralStatus.FLAGGED:
        return locked
    locked.status = ReferralStatus.PENDING
    locked.reviewed_by = actor if getattr(actor, "pk", None) else None
    locked.reviewed_at = timezone.now()
    locked.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    audit_record(business=business, actor=actor, action="referral.approved", subject=locked)
    event_record(business=business, kind="referral.approved", subject=locked, actor=actor)
    if locked.reward_due:
        _confirm(business, program_get(business=business), locked, actor)
    return locked


@transaction.atomic
def referral_reject(*, business: Business, referral: Referral, reason: str, actor=None) -> Referral:
    """The owner rejects a flagged or pending referral: no reward. The new client's discount stays on the booking
    they were quoted. Locks the row; a confirmed referral cannot be rejected (its reward is revoked by cancelling
    the booking instead)."""
    locked = Referral.objects.select_for_update().get(business=business, pk=referral.pk)
    if locked.status == ReferralStatus.REJECTED:
        return locked
    if locked.status not in (ReferralStatus.FLAGGED, ReferralStatus.PENDING):
        raise ValidationError(f"A {locked.get_status_display().lower()} referral cannot be rejected.")
    locked.status, locked.reason = ReferralStatus.REJECTED, (reason.strip() or "Rejected after review.")[:300]
    locked.reviewed_by = actor if getattr(actor, "pk", None) else None
    locked.reviewed_at = locked.closed_at = timezone.now()
    locked.save(update_fields=["status", "reason", "reviewed_by", "reviewed_at", "closed_at"])
    audit_record(business=business, actor=actor, action="referral.rejected", subject=locked, reason=locked.reason)
    event_record(business=business, kind="referral.rejected", subject=locked, actor=actor, reason=locked.reason)
    return locked


def referrals_due_for_auto_approval(now: datetime | None = None) -> list[Business]:
    """The businesses that have a flagged referral past its review deadline (for the periodic task)."""
    with scopes_disabled():
        ids = (
            Referral.objects.filter(status=ReferralStatus.FLAGGED, auto_approve_at__lte=now or timezone.now())
            .values_list("business_id", flat=True)
            .distinct()
        )
        return list(Business.objects.filter(pk__in=list(ids)))


def referrals_auto_approve_due(*, business: Business, now: datetime | None = None) -> int:
    """Approve flagged referrals whose review deadline has passed; returns how many. Each in its own
    transaction, skipping rows another worker holds."""
    now = now or timezone.now()
    approved = 0
    due_ids = list(
        Referral.objects.filter(business=business, status=ReferralStatus.FLAGGED, auto_approve_at__lte=now).values_list(
            "pk", flat=True
        )[:500]
    )
    for referral_id in due_ids:
        with transaction.atomic():
            referral = (
                Referral.objects.select_for_update(skip_locked=True)
                .filter(business=business, pk=referral_id, status=ReferralStatus.FLAGGED)
                .first()
            )
            if referral is not None:
                referral_approve(business=business, referral=referral)
                approved += 1
    return approved


@transaction.atomic
def referral_cancel_for_booking(*, business: Business, booking: Booking, reason: str, actor=None) -> Referral | None:
    """The referred booking was cancelled or marked a no-show. Before the reward: the referral is
    cancelled and nobody is rewarded. After it: an unused reward is revoked; a used one is kept and reported."""
    referral = Referral.objects.select_for_update().filter(business=business, booking=booking).first()
    if referral is None or referral.status not in LIVE_STATUSES:
        return referral
    note = reason
    if referral.status == ReferralStatus.CONFIRMED:
        _tally(business, referral.referrer, successful_referrals=-1)
        for reward in referral.rewards.filter(business=business, status=RewardStatus.ISSUED):
            if reward_revoke_coupon(business=business, reward=reward, reason=reason, actor=actor):
                _tally(business, referral.referrer, rewards_earned=-1)
                note = f"{reason} The unused reward was revoked."
            else:
                note = f"{reason} The reward had already been used and was kept."
                audit_record(business=business, actor=actor, action="reward.kept", subject=reward, reason=reason)
    _close(referral, ReferralStatus.CANCELLED, note)
    event_record(business=business, kind="referral.cancelled", subject=referral, actor=actor, reason=referral.reason)
    return referral


# ---------------------------------------------------------------------------------------------------- sightings


def sighting_record(*, business: Business, client: Client, fingerprint: Fingerprint) -> None:
    if fingerprint.network_hash or fingerprint.device_hash:
        ClientSighting.objects.create(
            business=business,
            client=client,
            network_hash=fingerprint.network_hash,
            device_hash=fingerprint.device_hash,
        )


def sighting_hashes(*, business: Business, ip_address: str, user_agent: str) -> Fingerprint:
    """Keyed hashes (the secret key and the business) of an IP's network and of a device: comparable within one
    business, useless to anyone reading the table."""

    def keyed(value: str) -> str:
        if not value:
            return ""
        key = f"{settings.SECRET_KEY}:{business.pk}".encode()
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    try:
        address = ipaddress.ip_address(ip_address)
        prefix = 24 if address.version == 4 else 64
        network = str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    except ValueError:
        network = ""
    return Fingerprint(network_hash=keyed(network), device_hash=keyed(f"{ip_address}|{user_agent}"))


# ---------------------------------------------------------------------------------------------------- events


def on_booking_moment(event) -> None:
    booking_id = event.payload.get("booking_id") if event.kind == "payment.recorded" else event.subject_id
    booking = Booking.objects.filter(business=event.business, pk=booking_id).select_related("client").first()
    if booking is not None:
        referral_reward_moment(
            business=event.business, booking=booking, moment=_MOMENT_OF_EVENT[event.kind], actor=event.actor
        )


_CANCEL_REASONS = {
    "booking.cancelled": "The referred booking was cancelled.",
    "booking.no_show": "The new client did not show up.",
}


def on_booking_lost(event) -> None:
    booking = Booking.objects.filter(business=event.business, pk=event.subject_id).first()
    if booking is not None:
        referral_cancel_for_booking(
            business=event.business, booking=booking, reason=_CANCEL_REASONS[event.kind], actor=event.actor
        )


def subscribe_to_booking_events() -> None:
    from businesses.events import subscribe

    for kind in _MOMENT_OF_EVENT:
        subscribe(kind, on_booking_moment)
    for kind in _CANCEL_REASONS:
        subscribe(kind, on_booking_lost)
