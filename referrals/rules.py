"""The referral program's decisions as pure functions over plain facts: which rule applies, whether a referral
is eligible, the new client's discount and the referrer's reward. No database; tested with tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from businesses.money import percent_of


class Recipients(StrEnum):
    BOTH = "both"
    NEW_CLIENT_ONLY = "new_client"
    REFERRER_ONLY = "referrer"


class AmountKind(StrEnum):
    NONE = "none"
    PERCENT = "percent"
    FIXED = "fixed"


class CombinationMode(StrEnum):
    STACK = "stack"
    BEST_ONLY = "best"


@dataclass(frozen=True)
class RuleFacts:
    id: int
    position: int
    service_ids: frozenset[int]
    referee_kind: AmountKind
    referee_value: Decimal  # percent, or minor units for a fixed amount
    reward_kind: str  # "none", "coupon_percent", "coupon_fixed", "store_credit"
    reward_value: Decimal
    # Optional speed bonus: the full reward within `fast_days` of the click, `slow_reward_value` after.
    fast_days: int | None = None
    slow_reward_value: Decimal | None = None


@dataclass(frozen=True)
class ProgramFacts:
    enabled: bool
    recipients: Recipients
    max_rewards_per_referrer: int  # 0 = unlimited
    attribution_window_days: int
    combination_mode: CombinationMode


class Refusal(StrEnum):
    """Why a referral earns nothing, in words for staff and for the client."""

    PROGRAM_OFF = "The referral program is not running at the moment."
    NOT_NEW = "Referral discounts are for new clients, and this client has booked before."
    ALREADY_REFERRED = "This client already came through a referral; a friend can be referred only once."
    SELF_REFERRAL = "A client cannot refer themselves."
    SAME_PHONE_OR_EMAIL = "The referrer and the new client share an e-mail address or phone number."
    EXPIRED = "The referral link was used too long ago; it is only valid for a limited time after the click."
    NO_RULE = "The referral program does not cover this service."
    UNKNOWN_CODE = "This referral code does not exist or is no longer active."


def match_rule(rules: list[RuleFacts], service_id: int) -> RuleFacts | None:
    """The first rule, by position, whose services include the booked service; None if none does."""
    for rule in sorted(rules, key=lambda r: (r.position, r.id)):
        if service_id in rule.service_ids:
            return rule
    return None


@dataclass(frozen=True)
class EligibilityFacts:
    program_enabled: bool
    referee_is_new: bool
    same_client: bool
    already_referred: bool
    shares_email_or_phone: bool
    days_since_click: int | None  # None when the code was typed, not clicked
    attribution_window_days: int
    rule_matched: bool


def refusal(facts: EligibilityFacts) -> Refusal | None:
    """The first reason this referral is not eligible, or None. Order matters: the plainest reason first."""
    if facts.same_client:
        return Refusal.SELF_REFERRAL
    if facts.shares_email_or_phone:
        return Refusal.SAME_PHONE_OR_EMAIL
    if not facts.program_enabled:
        return Refusal.PROGRAM_OFF
    if facts.already_referred:
        return Refusal.ALREADY_REFERRED
    if not facts.referee_is_new:
        return Refusal.NOT_NEW
    if facts.days_since_click is not None and facts.days_since_click > facts.attribution_window_days:
        return Refusal.EXPIRED
    if not facts.rule_matched:
        return Refusal.NO_RULE
    return None


def referee_discount(rule: RuleFacts, program: ProgramFacts, price: int) -> int:
    """The new client's discount in minor units on `price`; 0 when the program rewards only the referrer."""
    if program.recipients == Recipients.REFERRER_ONLY or rule.referee_kind == AmountKind.NONE:
        return 0
    if rule.referee_kind == AmountKind.PERCENT:
        return min(price, percent_of(price, rule.referee_value))
    return min(price, int(rule.referee_value))


def best_discount_only(referral_discount: int, other_discounts: list[int], mode: CombinationMode) -> bool:
    """In "best only" mode the referral discount applies only if it beats every other discount."""
    if mode == CombinationMode.STACK or not other_discounts:
        return True
    return referral_discount > max(other_discounts)


@dataclass(frozen=True)
class RewardSpec:
    kind: str
    value: Decimal


def referrer_reward(
    rule: RuleFacts, program: ProgramFacts, *, rewards_so_far: int, days_since_click: int | None
) -> RewardSpec | None:
    """What the referrer earns for one confirmed referral, or None (not a recipient, at the cap, no reward)."""
    if program.recipients == Recipients.NEW_CLIENT_ONLY or rule.reward_kind == "none":
        return None
    if program.max_rewards_per_referrer and rewards_so_far >= program.max_rewards_per_referrer:
        return None
    value = rule.reward_value
    if (
        rule.fast_days is not None
        and rule.slow_reward_value is not None
        and days_since_click is not None
        and days_since_click > rule.fast_days
    ):
        value = rule.slow_reward_value
    if value <= 0:
        return None
    return RewardSpec(kind=rule.reward_kind, value=value)
