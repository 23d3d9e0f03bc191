"""The program's decisions as tables over plain facts: no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from referrals.rules import (
    AmountKind,
    CombinationMode,
    EligibilityFacts,
    ProgramFacts,
    Recipients,
    Refusal,
    RuleFacts,
    best_discount_only,
    match_rule,
    referee_discount,
    referrer_reward,
    refusal,
)

MASSAGE, FACIAL, YOGA = 1, 2, 3


def rule(id, position, services, referee=("percent", "15"), reward=("coupon_fixed", "2000"), **extra):
    return RuleFacts(
        id=id,
        position=position,
        service_ids=frozenset(services),
        referee_kind=AmountKind(referee[0]),
        referee_value=Decimal(referee[1]),
        reward_kind=reward[0],
        reward_value=Decimal(reward[1]),
        **extra,
    )


def program(recipients=Recipients.BOTH, cap=0, mode=CombinationMode.STACK):
    return ProgramFacts(
        enabled=True,
        recipients=recipients,
        max_rewards_per_referrer=cap,
        attribution_window_days=30,
        combination_mode=mode,
    )


RULES = [rule(10, 1, {FACIAL, MASSAGE}), rule(11, 0, {MASSAGE}), rule(12, 2, {YOGA})]


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        (MASSAGE, 11),  # two rules cover it: the one with the lower position wins, whatever the id
        (FACIAL, 10),
        (YOGA, 12),
        (99, None),  # no rule covers it: no discount
    ],
)
def test_the_first_rule_by_position_that_covers_the_service_wins(service, expected):
    matched = match_rule(RULES, service)
    assert (matched.id if matched else None) == expected


def test_equal_positions_fall_back_to_the_older_rule():
    assert match_rule([rule(8, 0, {MASSAGE}), rule(7, 0, {MASSAGE})], MASSAGE).id == 7


@pytest.mark.parametrize(
    ("referee", "recipients", "price", "expected"),
    [
        (("percent", "15"), Recipients.BOTH, 100_00, 15_00),
        (("percent", "15"), Recipients.NEW_CLIENT_ONLY, 100_00, 15_00),
        (("percent", "15"), Recipients.REFERRER_ONLY, 100_00, 0),  # the setting wins over what the rule stores
        (("percent", "12.5"), Recipients.BOTH, 33_33, 4_17),  # 416.625 cents rounds half-up once
        (("percent", "100"), Recipients.BOTH, 80_00, 80_00),
        (("fixed", "2500"), Recipients.BOTH, 100_00, 25_00),
        (("fixed", "2500"), Recipients.BOTH, 20_00, 20_00),  # never more than the price
        (("none", "0"), Recipients.BOTH, 100_00, 0),
    ],
)
def test_the_new_clients_discount(referee, recipients, price, expected):
    assert referee_discount(rule(1, 0, {MASSAGE}, referee=referee), program(recipients), price) == expected


@pytest.mark.parametrize(
    ("reward", "recipients", "cap", "so_far", "expected"),
    [
        (("coupon_fixed", "2000"), Recipients.BOTH, 0, 50, ("coupon_fixed", Decimal(2000))),  # 0 = unlimited
        (("coupon_percent", "10"), Recipients.REFERRER_ONLY, 0, 0, ("coupon_percent", Decimal(10))),
        (("coupon_fixed", "2000"), Recipients.NEW_CLIENT_ONLY, 0, 0, None),  # stored reward is ignored
        (("coupon_fixed", "2000"), Recipients.BOTH, 3, 2, ("coupon_fixed", Decimal(2000))),
        (("coupon_fixed", "2000"), Recipients.BOTH, 3, 3, None),  # at the cap
        (("none", "0"), Recipients.BOTH, 0, 0, None),
    ],
)
def test_the_referrers_reward(reward, recipients, cap, so_far, expected):
    spec = referrer_reward(
        rule(1, 0, {MASSAGE}, reward=reward), program(recipients, cap), rewards_so_far=so_far, days_since_click=None
    )
    assert ((spec.kind, spec.value) if spec else None) == expected


@pytest.mark.parametrize(("days", "expected"), [(None, 2000), (0, 2000), (7, 2000), (8, 1000)])
def test_a_rule_can_reward_speed(days, expected):
    fast = rule(1, 0, {MASSAGE}, fast_days=7, slow_reward_value=Decimal(1000))
    assert referrer_reward(fast, program(), rewards_so_far=0, days_since_click=days).value == expected


def facts(**changes):
    base = dict(
        program_enabled=True,
        referee_is_new=True,
        same_client=False,
        already_referred=False,
        shares_email_or_phone=False,
        days_since_click=3,
        attribution_window_days=30,
        rule_matched=True,
    )
    return EligibilityFacts(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, None),
        ({"days_since_click": None}, None),  # a typed code has no click
        ({"days_since_click": 30}, None),
        ({"days_since_click": 31}, Refusal.EXPIRED),
        ({"program_enabled": False}, Refusal.PROGRAM_OFF),
        ({"referee_is_new": False}, Refusal.NOT_NEW),
        ({"same_client": True}, Refusal.SELF_REFERRAL),
        ({"already_referred": True, "referee_is_new": False}, Refusal.ALREADY_REFERRED),
        ({"shares_email_or_phone": True}, Refusal.SAME_PHONE_OR_EMAIL),
        ({"rule_matched": False}, Refusal.NO_RULE),
        # Several reasons: the plainest comes first.
        ({"same_client": True, "referee_is_new": False}, Refusal.SELF_REFERRAL),
        ({"program_enabled": False, "rule_matched": False}, Refusal.PROGRAM_OFF),
    ],
)
def test_eligibility(changes, expected):
    assert refusal(facts(**changes)) == expected


@pytest.mark.parametrize(
    ("referral", "others", "mode", "applies"),
    [
        (15_00, [], CombinationMode.BEST_ONLY, True),
        (15_00, [10_00], CombinationMode.BEST_ONLY, True),
        (15_00, [20_00], CombinationMode.BEST_ONLY, False),
        (15_00, [15_00], CombinationMode.BEST_ONLY, False),  # a tie keeps the other discount
        (15_00, [20_00], CombinationMode.STACK, True),
    ],
)
def test_combination_mode(referral, others, mode, applies):
    assert best_discount_only(referral, others, mode) is applies
