"""The referral program's settings and ordered rules: use cases, validation and the one-line summary."""

from __future__ import annotations

import contextlib
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection
from django_scopes import scope

from businesses.models import AuditLog, Service
from referrals.models import ReferralProgram, ReferralRule
from referrals.program import (
    ProgramData,
    RuleData,
    program_get,
    program_set_enabled,
    program_update,
    rule_create,
    rule_delete,
    rule_move,
    rule_summary,
    rule_update,
)
from tests.factories import BusinessFactory

from ..threads import run_at_once

pytestmark = pytest.mark.django_db


def service(business, name="Deep tissue", price=80_00, **fields) -> Service:
    return Service.objects.create(business=business, name=name, price=price, **fields)


def rule_data(*services, **overrides) -> RuleData:
    values = {
        "service_ids": tuple(s.pk for s in services),
        "referee_kind": "percent",
        "referee_value": Decimal("15"),
        "reward_kind": "coupon_fixed",
        "reward_value": Decimal("20"),
    }
    values.update(overrides)
    return RuleData(**values)


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


@pytest.fixture
def deep(in_scope):
    return service(in_scope, "Deep tissue")


@pytest.fixture
def swedish(in_scope):
    return service(in_scope, "Swedish")


def positions(business) -> list[tuple[int, int]]:
    return list(ReferralRule.objects.filter(business=business).order_by("position").values_list("pk", "position"))


# --- The program --------------------------------------------------------------------------------------------------


def test_program_get_creates_the_program_once_with_the_defaults(in_scope):
    program = program_get(business=in_scope)
    assert program_get(business=in_scope).pk == program.pk
    assert ReferralProgram.objects.filter(business=in_scope).count() == 1
    assert (program.enabled, program.recipients, program.reward_valid_days) == (False, "both", 90)
    assert (program.attribution_window_days, program.max_rewards_per_referrer) == (30, 0)


def test_program_update_saves_the_settings_and_audits_the_changed_fields(in_scope, owner):
    data = ProgramData(
        recipients="both",
        reward_valid_days=60,
        max_rewards_per_referrer=3,
        attribution_window_days=45,
        combination_mode="best",
        reward_moment="completed",
        booking_url="  https://example.com/book  ",
        flag_auto_approve_days=7,
        burst_limit=10,
    )
    program = program_update(business=in_scope, data=data, actor=owner)
    program.refresh_from_db()
    assert program.reward_valid_days == 60
    assert program.booking_url == "https://example.com/book"
    assert (program.combination_mode, program.reward_moment, program.flag_auto_approve_days) == ("best", "completed", 7)
    log = AuditLog.objects.get(business=in_scope, action="referral_program.updated")
    assert log.actor == owner
    assert log.payload["fields"] == sorted(log.payload["fields"])
    assert "booking_url" in log.payload["fields"] and "recipients" not in log.payload["fields"]

    program_update(business=in_scope, data=data, actor=owner)
    assert AuditLog.objects.filter(business=in_scope, action="referral_program.updated").count() == 1


def test_new_client_only_keeps_the_stored_validity_when_none_is_sent(in_scope, owner):
    program_update(business=in_scope, data=ProgramData(reward_valid_days=120), actor=owner)
    program = program_update(
        business=in_scope, data=ProgramData(recipients="new_client", reward_valid_days=None), actor=owner
    )
    assert (program.recipients, program.reward_valid_days) == ("new_client", 120)


@pytest.mark.parametrize(
    "field,value",
    [
        ("recipients", "everyone"),
        ("reward_valid_days", 0),
        ("reward_valid_days", 3651),
        ("reward_valid_days", None),
        ("max_rewards_per_referrer", -1),
        ("max_rewards_per_referrer", 10_001),
        ("attribution_window_days", 0),
        ("attribution_window_days", 366),
        ("combination_mode", "sometimes"),
        ("reward_moment", "never"),
        ("booking_url", "not a url"),
        ("booking_url", "javascript:alert(1)"),
        ("booking_url", "ftp://example.com/"),
        ("booking_url", "https://example.com/" + "a" * 200),
        ("flag_auto_approve_days", 0),
        ("flag_auto_approve_days", 366),
        ("burst_limit", 0),
        ("burst_limit", 10**9),
    ],
)
def test_program_update_refuses_bad_settings_by_field_and_changes_nothing(in_scope, owner, field, value):
    before = program_get(business=in_scope)
    with pytest.raises(ValidationError) as excinfo:
        program_update(business=in_scope, data=ProgramData(**{field: value}), actor=owner)
    assert list(errors_of(excinfo)) == [field]
    after = ReferralProgram.objects.get(business=in_scope)
    assert getattr(after, field) == getattr(before, field)
    assert not AuditLog.objects.filter(business=in_scope, action="referral_program.updated").exists()


def test_switching_on_needs_a_rule(in_scope, owner):
    with pytest.raises(ValidationError) as excinfo:
        program_set_enabled(business=in_scope, enabled=True, actor=owner)
    assert "at least one rule" in errors_of(excinfo)["enabled"][0]
    assert program_get(business=in_scope).enabled is False


def test_switching_on_and_off_keeps_the_rules_and_is_idempotent(in_scope, owner, deep):
    rule = rule_create(business=in_scope, data=rule_data(deep), actor=owner)
    assert program_set_enabled(business=in_scope, enabled=True, actor=owner).enabled is True
    program_set_enabled(business=in_scope, enabled=True, actor=owner)
    assert AuditLog.objects.filter(business=in_scope, action="referral_program.enabled").count() == 1
    assert program_set_enabled(business=in_scope, enabled=False, actor=owner).enabled is False
    assert list(ReferralRule.objects.filter(business=in_scope)) == [rule]
    assert AuditLog.objects.filter(business=in_scope, action="referral_program.disabled").count() == 1


# --- Rules: creating and validating --------------------------------------------------------------------------------


def test_rule_create_stores_percent_and_fixed_values_in_their_units(in_scope, owner, deep, swedish):
    rule = rule_create(
        business=in_scope,
        data=rule_data(deep, swedish, referee_value=Decimal("12.5"), reward_value=Decimal("20.50"), name=" Mass  "),
        actor=owner,
    )
    rule.refresh_from_db()
    assert (rule.referee_kind, rule.referee_percent, rule.referee_amount) == ("percent", Decimal("12.50"), 0)
    assert (rule.reward_kind, rule.reward_amount, rule.reward_percent) == ("coupon_fixed", 20_50, Decimal(0))
    assert rule.name == "Mass"
    assert set(rule.services.all()) == {deep, swedish}
    assert rule.position == 0
    log = AuditLog.objects.get(business=in_scope, action="referral_rule.created")
    assert (log.subject_id, log.actor) == (rule.pk, owner)
    assert log.payload["summary"] == "Deep tissue, Swedish: new client 12.5% off · referrer gets a £20.50 coupon"


def test_fixed_amounts_follow_the_currency_minor_units(db, owner):
    yen = BusinessFactory(currency="JPY")
    with scope(business=yen):
        massage = service(yen)
        rule = rule_create(
            business=yen,
            data=rule_data(massage, referee_kind="fixed", referee_value=Decimal("1500"), reward_value=Decimal("2000")),
        )
        assert (rule.referee_amount, rule.reward_amount) == (1500, 2000)
        with pytest.raises(ValidationError) as excinfo:
            rule_create(business=yen, data=rule_data(massage, reward_value=Decimal("20.5")))
        assert errors_of(excinfo) == {"reward_value": ["Amounts in JPY have no decimal places."]}


def test_rules_are_appended_in_order(in_scope, owner, deep, swedish):
    first = rule_create(business=in_scope, data=rule_data(deep), actor=owner)
    second = rule_create(business=in_scope, data=rule_data(swedish), actor=owner)
    third = rule_create(business=in_scope, data=rule_data(deep, swedish), actor=owner)
    assert positions(in_scope) == [(first.pk, 0), (second.pk, 1), (third.pk, 2)]


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"referee_value": None}, "referee_value"),
        ({"referee_value": Decimal("0")}, "referee_value"),
        ({"referee_value": Decimal("-5")}, "referee_value"),
        ({"referee_value": Decimal("100.01")}, "referee_value"),
        ({"referee_value": Decimal("12.345")}, "referee_value"),
        ({"referee_value": Decimal("NaN")}, "referee_value"),
        ({"referee_value": Decimal("Infinity")}, "referee_value"),
        ({"referee_value": "fifteen"}, "referee_value"),
        ({"referee_kind": "fixed", "referee_value": Decimal("0")}, "referee_value"),
        ({"referee_kind": "fixed", "referee_value": Decimal("-1")}, "referee_value"),
        ({"referee_kind": "fixed", "referee_value": Decimal("9.999")}, "referee_value"),
        ({"referee_kind": "fixed", "referee_value": Decimal("1e30")}, "referee_value"),
        ({"referee_kind": "fixed", "referee_value": Decimal("21474837")}, "referee_value"),
        ({"referee_kind": "free money"}, "referee_kind"),
        ({"reward_value": None}, "reward_value"),
        ({"reward_value": Decimal("0")}, "reward_value"),
        ({"reward_value": Decimal("-20")}, "reward_value"),
        ({"reward_value": Decimal("1E+999999")}, "reward_value"),
        ({"reward_kind": "coupon_percent", "reward_value": Decimal("101")}, "reward_value"),
        ({"reward_kind": "gift_card"}, "reward_kind"),
        ({"name": "x" * 101}, "name"),
    ],
)
def test_rule_create_refuses_bad_values_by_field_and_writes_nothing(in_scope, owner, deep, overrides, field):
    with pytest.raises(ValidationError) as excinfo:
        rule_create(business=in_scope, data=rule_data(deep, **overrides), actor=owner)
    assert list(errors_of(excinfo)) == [field]
    assert not ReferralRule.objects.filter(business=in_scope).exists()
    assert not AuditLog.objects.filter(business=in_scope, action__startswith="referral_rule").exists()


def test_a_rule_needs_at_least_one_service(in_scope, owner):
    with pytest.raises(ValidationError) as excinfo:
        rule_create(business=in_scope, data=rule_data(), actor=owner)
    assert errors_of(excinfo) == {"services": ["Choose at least one service this rule covers."]}


@pytest.mark.parametrize("kind", ["unknown", "archived", "other_business", "garbage", "huge"])
def test_a_rule_covers_only_active_services_of_the_business(in_scope, owner, deep, other_business, kind):
    if kind == "unknown":
        ids = (deep.pk, deep.pk + 1000)
    elif kind == "archived":
        ids = (deep.pk, service(in_scope, "Old treatment", is_active=False).pk)
    elif kind == "other_business":
        with scope(business=other_business):
            ids = (deep.pk, service(other_business, "Their massage").pk)
    elif kind == "garbage":
        ids = (deep.pk, "1; DROP TABLE")
    else:
        ids = (deep.pk, 10**30)
    with pytest.raises(ValidationError) as excinfo:
        rule_create(business=in_scope, data=RuleData(service_ids=ids, referee_value=10, reward_kind="none"))
    assert list(errors_of(excinfo)) == ["services"]
    assert not ReferralRule.objects.filter(business=in_scope).exists()


def test_a_rule_that_gives_nothing_is_refused(in_scope, deep):
    with pytest.raises(ValidationError) as excinfo:
        rule_create(business=in_scope, data=rule_data(deep, referee_kind="none", reward_kind="none"))
    assert list(errors_of(excinfo)) == [NON_FIELD_ERRORS]


def test_no_discount_or_no_reward_ignores_the_values_sent_for_them(in_scope, deep):
    rule = rule_create(
        business=in_scope,
        data=rule_data(deep, referee_kind="none", referee_value=Decimal("-3"), reward_value=Decimal("5")),
    )
    assert (rule.referee_percent, rule.referee_amount, rule.reward_amount) == (0, 0, 5_00)
    rule = rule_create(business=in_scope, data=rule_data(deep, reward_kind="none", reward_value="abc"))
    assert (rule.reward_kind, rule.reward_amount, rule.reward_percent) == ("none", 0, 0)


# --- Rules: the speed bonus ----------------------------------------------------------------------------------------


def test_speed_bonus_stores_the_days_and_the_smaller_later_reward(in_scope, deep):
    fixed = rule_create(business=in_scope, data=rule_data(deep, fast_days=14, slow_reward_value=Decimal("10")))
    assert (fixed.fast_days, fixed.slow_reward_amount, fixed.slow_reward_percent) == (14, 10_00, None)
    percent = rule_create(
        business=in_scope,
        data=rule_data(
            deep, reward_kind="coupon_percent", reward_value=Decimal("20"), fast_days=7, slow_reward_value=Decimal("0")
        ),
    )
    assert (percent.fast_days, percent.slow_reward_percent, percent.slow_reward_amount) == (7, Decimal(0), None)


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"fast_days": 0, "slow_reward_value": Decimal("10")}, "fast_days"),
        ({"fast_days": 366, "slow_reward_value": Decimal("10")}, "fast_days"),
        ({"fast_days": 14, "slow_reward_value": None}, "slow_reward_value"),
        ({"fast_days": 14, "slow_reward_value": Decimal("20")}, "slow_reward_value"),
        ({"fast_days": 14, "slow_reward_value": Decimal("25")}, "slow_reward_value"),
        ({"fast_days": 14, "slow_reward_value": Decimal("-1")}, "slow_reward_value"),
        ({"fast_days": None, "slow_reward_value": Decimal("10")}, "fast_days"),
        ({"reward_kind": "none", "fast_days": 14}, "fast_days"),
    ],
)
def test_speed_bonus_refusals(in_scope, deep, overrides, field):
    with pytest.raises(ValidationError) as excinfo:
        rule_create(business=in_scope, data=rule_data(deep, **overrides))
    assert list(errors_of(excinfo)) == [field]


# --- Rules: updating, deleting, moving -----------------------------------------------------------------------------


def test_rule_update_changes_values_and_services_and_keeps_the_position(in_scope, owner, deep, swedish):
    rule_create(business=in_scope, data=rule_data(deep), actor=owner)
    rule = rule_create(business=in_scope, data=rule_data(deep), actor=owner)
    updated = rule_update(
        business=in_scope,
        rule=rule,
        data=rule_data(swedish, referee_kind="fixed", referee_value=Decimal("10")),
        actor=owner,
    )
    updated.refresh_from_db()
    assert (updated.position, updated.referee_kind, updated.referee_amount) == (1, "fixed", 10_00)
    assert updated.referee_percent == 0
    assert list(updated.services.all()) == [swedish]
    log = AuditLog.objects.get(business=in_scope, action="referral_rule.updated")
    assert set(log.payload["fields"]) == {"referee_amount", "referee_kind", "referee_percent", "services"}

    rule_update(business=in_scope, rule=updated, data=rule_data(swedish, referee_kind="fixed", referee_value=10))
    assert AuditLog.objects.filter(business=in_scope, action="referral_rule.updated").count() == 1


def test_rule_update_with_bad_input_changes_nothing(in_scope, owner, deep, swedish):
    rule = rule_create(business=in_scope, data=rule_data(deep), actor=owner)
    with pytest.raises(ValidationError):
        rule_update(business=in_scope, rule=rule, data=rule_data(swedish, referee_value=Decimal("-1")), actor=owner)
    rule.refresh_from_db()
    assert (rule.referee_percent, list(rule.services.all())) == (Decimal("15.00"), [deep])


def test_deleting_a_rule_closes_the_gap(in_scope, owner, deep):
    rules = [rule_create(business=in_scope, data=rule_data(deep), actor=owner) for _ in range(3)]
    program_set_enabled(business=in_scope, enabled=True, actor=owner)
    result = rule_delete(business=in_scope, rule=rules[0], actor=owner)
    assert result.program_switched_off is False
    assert positions(in_scope) == [(rules[1].pk, 0), (rules[2].pk, 1)]
    assert program_get(business=in_scope).enabled is True
    log = AuditLog.objects.get(business=in_scope, action="referral_rule.deleted")
    assert log.payload["rule_id"] == rules[0].pk


def test_deleting_the_last_rule_switches_the_program_off_and_says_so(in_scope, owner, deep):
    rule = rule_create(business=in_scope, data=rule_data(deep), actor=owner)
    program_set_enabled(business=in_scope, enabled=True, actor=owner)
    result = rule_delete(business=in_scope, rule=rule, actor=owner)
    assert result.program_switched_off is True
    assert result.summary.startswith("Deep tissue: ")
    assert program_get(business=in_scope).enabled is False
    assert AuditLog.objects.filter(business=in_scope, action="referral_program.disabled").exists()


def test_deleting_the_last_rule_of_a_program_that_is_off_says_nothing(in_scope, deep):
    rule = rule_create(business=in_scope, data=rule_data(deep))
    assert rule_delete(business=in_scope, rule=rule).program_switched_off is False


def test_move_swaps_with_the_neighbour_and_keeps_positions_contiguous(in_scope, owner, deep):
    a, b, c = (rule_create(business=in_scope, data=rule_data(deep), actor=owner) for _ in range(3))
    rule_move(business=in_scope, rule=c, direction="up", actor=owner)
    assert positions(in_scope) == [(a.pk, 0), (c.pk, 1), (b.pk, 2)]
    rule_move(business=in_scope, rule=c, direction="up", actor=owner)
    assert positions(in_scope) == [(c.pk, 0), (a.pk, 1), (b.pk, 2)]
    rule_move(business=in_scope, rule=a, direction="down", actor=owner)
    assert positions(in_scope) == [(c.pk, 0), (b.pk, 1), (a.pk, 2)]
    assert AuditLog.objects.filter(business=in_scope, action="referral_rule.moved").count() == 3


def test_moving_past_either_end_changes_nothing(in_scope, deep):
    a, b = (rule_create(business=in_scope, data=rule_data(deep)) for _ in range(2))
    rule_move(business=in_scope, rule=a, direction="up")
    rule_move(business=in_scope, rule=b, direction="down")
    assert positions(in_scope) == [(a.pk, 0), (b.pk, 1)]
    assert not AuditLog.objects.filter(business=in_scope, action="referral_rule.moved").exists()


def test_move_repairs_gaps_left_by_older_data(in_scope, deep):
    a, b, c = (rule_create(business=in_scope, data=rule_data(deep)) for _ in range(3))
    ReferralRule.objects.filter(pk=b.pk).update(position=7)
    ReferralRule.objects.filter(pk=c.pk).update(position=9)
    rule_move(business=in_scope, rule=c, direction="up")
    assert positions(in_scope) == [(a.pk, 0), (c.pk, 1), (b.pk, 2)]


def test_move_refuses_an_unknown_direction(in_scope, deep):
    rule = rule_create(business=in_scope, data=rule_data(deep))
    with pytest.raises(ValidationError):
        rule_move(business=in_scope, rule=rule, direction="sideways")


def test_a_deleted_rule_cannot_be_moved_or_updated(in_scope, deep):
    rule = rule_create(business=in_scope, data=rule_data(deep))
    stale = ReferralRule.objects.get(pk=rule.pk)
    rule_delete(business=in_scope, rule=rule)
    with pytest.raises(ReferralRule.DoesNotExist):
        rule_move(business=in_scope, rule=stale, direction="up")
    with pytest.raises(ReferralRule.DoesNotExist):
        rule_update(business=in_scope, rule=stale, data=rule_data(deep))


# --- The summary ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides,currency,expected",
    [
        ({}, "USD", "Deep tissue, Swedish: new client 15% off · referrer gets a $20 coupon"),
        (
            {"referee_kind": "fixed", "referee_value": Decimal("12.50"), "reward_kind": "coupon_percent"},
            "EUR",
            "Deep tissue, Swedish: new client €12.50 off · referrer gets a 20% off coupon",
        ),
        (
            {"referee_kind": "none", "reward_kind": "coupon_fixed"},
            "GBP",
            "Deep tissue, Swedish: no discount for the new client · referrer gets a £20 coupon",
        ),
        (
            {"reward_kind": "none"},
            "GBP",
            "Deep tissue, Swedish: new client 15% off · no reward for the referrer",
        ),
        (
            {"fast_days": 14, "slow_reward_value": Decimal("10")},
            "USD",
            "Deep tissue, Swedish: new client 15% off · referrer gets a $20 coupon if the friend books within "
            "14 days, $10 after",
        ),
        (
            {"fast_days": 1, "slow_reward_value": Decimal("0")},
            "USD",
            "Deep tissue, Swedish: new client 15% off · referrer gets a $20 coupon if the friend books within "
            "1 day, nothing after",
        ),
    ],
)
def test_rule_summary(db, overrides, currency, expected):
    business = BusinessFactory(currency=currency)
    with scope(business=business):
        rule = rule_create(
            business=business,
            data=rule_data(service(business, "Swedish"), service(business, "Deep tissue"), **overrides),
        )
        assert rule_summary(rule, currency) == expected


def test_rule_summary_shortens_a_long_list_of_services(in_scope):
    services = [service(in_scope, name) for name in ("A", "B", "C", "D", "E", "F")]
    rule = rule_create(business=in_scope, data=rule_data(*services))
    assert rule_summary(rule, "GBP").startswith("A, B, C and 3 more: ")


# --- Concurrency (PostgreSQL) --------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_program_get_at_the_same_moment_creates_one_program(business):
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL's concurrent transactions.")

    def get():
        with scope(business=business):
            return program_get(business=business).pk

    results, errors = run_at_once(lambda _: get(), threads=8)
    assert errors == []
    assert len(set(results)) == 1
    with scope(business=business):
        assert ReferralProgram.objects.filter(business=business).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rules_added_at_the_same_moment_get_distinct_contiguous_positions(business):
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL's row locks.")
    with scope(business=business):
        massage = service(business)

    def add():
        with scope(business=business):
            return rule_create(business=business, data=rule_data(massage)).pk

    results, errors = run_at_once(lambda _: add(), threads=8)
    assert errors == []
    with scope(business=business):
        assert sorted(position for _, position in positions(business)) == list(range(len(results)))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_switching_on_while_the_last_rule_is_deleted_never_leaves_a_running_program_without_rules(business, owner):
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL's row locks.")

    def act(rule, switch_on: bool):
        with scope(business=business):
            if switch_on:
                with contextlib.suppress(ValidationError):
                    program_set_enabled(business=business, enabled=True)
            else:
                with contextlib.suppress(ReferralRule.DoesNotExist):
                    rule_delete(business=business, rule=rule)

    for round_ in range(5):
        with scope(business=business):
            rule = rule_create(business=business, data=rule_data(service(business, f"Service {round_}")))
        turns = iter([True, False] * 4)
        lock = threading.Lock()

        def next_turn(rule=rule, turns=turns, lock=lock):
            with lock:
                switch_on = next(turns)
            act(rule, switch_on)

        _, errors = run_at_once(lambda _: next_turn(), threads=8)
        assert errors == []
        with scope(business=business):
            program = ReferralProgram.objects.get(business=business)
            assert not (program.enabled and not ReferralRule.objects.filter(business=business).exists())
