"""A rule can reward the referrer with loyalty points or a service credit (free sessions of a service)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope

from bookings.services import booking_cancel, booking_confirm
from referrals.codes import code_for_client
from referrals.models import Referral, ReferralRule
from referrals.program import RuleData, rule_create, rule_summary, rule_update
from referrals.services import ReferralClaim, booking_create_with_referral
from rewards.credits import service_credit_use, service_credits_available
from rewards.ledger import points_balance, points_redeem
from rewards.models import (
    PointsEntry,
    PointsKind,
    PointsProgram,
    Reward,
    RewardKind,
    RewardStatus,
    ServiceCredit,
    ServiceCreditSource,
)

from .conftest import make_client, make_service, soon

pytestmark = pytest.mark.django_db


@pytest.fixture
def points_rule(program):
    ReferralRule.objects.filter(business=program.business).update(reward_kind="points", reward_amount=150)
    return ReferralRule.objects.get(business=program.business)


@pytest.fixture
def facial(in_scope):
    return make_service(in_scope, "Facial", price=60_00)


@pytest.fixture
def credit_rule(program, facial):
    ReferralRule.objects.filter(business=program.business).update(
        reward_kind="service_credit", reward_amount=2, reward_service=facial
    )
    return ReferralRule.objects.get(business=program.business)


def referred(business, anna, massage, name="Bob"):
    return booking_create_with_referral(
        business=business,
        client=make_client(business, name, email=f"{name.lower()}@outlook.com"),
        service=massage,
        starts_at=soon(),
        claim=ReferralClaim(code=code_for_client(business=business, client=anna).code),
    )


# ------------------------------------------------------------------------------------------------ points


def test_the_referrer_earns_expiring_points_once(in_scope, points_rule, massage, anna):
    assert rule_summary(points_rule, "GBP").endswith("referrer gets 150 points")
    booking = referred(in_scope, anna, massage)
    booking_confirm(business=in_scope, booking=booking)
    booking_confirm(business=in_scope, booking=booking)
    reward = Reward.objects.get(client=anna)
    assert reward.kind == RewardKind.POINTS and reward.description == "150 loyalty points"
    entry = reward.points_entry
    assert entry.kind == PointsKind.EARN and entry.points == 150 and entry.expires_at is not None
    assert entry.referral == Referral.objects.get(booking=booking) and entry.payment is None
    assert points_balance(business=in_scope, client=anna) == 150


def test_cancelling_before_the_points_are_spent_takes_them_back(in_scope, points_rule, massage, anna):
    booking = referred(in_scope, anna, massage)
    booking_confirm(business=in_scope, booking=booking)
    booking_cancel(business=in_scope, booking=booking)
    reward = Reward.objects.get(client=anna)
    assert reward.status == RewardStatus.REVOKED
    assert points_balance(business=in_scope, client=anna) == 0
    assert PointsEntry.objects.get(client=anna, kind=PointsKind.REVERSE).reverses == reward.points_entry
    assert "revoked" in Referral.objects.get(booking=booking).reason


def test_points_already_spent_are_kept_and_reported(in_scope, points_rule, massage, anna):
    PointsProgram.objects.create(business=in_scope, enabled=True, point_value=1)
    booking = referred(in_scope, anna, massage)
    booking_confirm(business=in_scope, booking=booking)
    own = booking_create_with_referral(business=in_scope, client=anna, service=massage, starts_at=soon())
    points_redeem(business=in_scope, client=anna, points=50, booking=own)
    booking_cancel(business=in_scope, booking=booking)
    assert Reward.objects.get(client=anna).status == RewardStatus.ISSUED
    assert "kept" in Referral.objects.get(booking=booking).reason
    assert points_balance(business=in_scope, client=anna) == 100


def test_a_slower_booking_earns_the_smaller_number_of_points(in_scope, massage):
    rule = rule_create(
        business=in_scope,
        data=RuleData(
            service_ids=(massage.pk,),
            reward_kind="points",
            reward_value=Decimal(200),
            referee_value=Decimal(10),
            fast_days=7,
            slow_reward_value=Decimal(0),
        ),
    )
    assert (rule.reward_amount, rule.slow_reward_amount, rule.reward_percent) == (200, 0, 0)
    assert rule_summary(rule, "GBP").endswith(
        "referrer gets 200 points if the friend books within 7 days, nothing after"
    )


# ------------------------------------------------------------------------------------------------ service credit


def test_the_referrer_gets_sessions_of_the_rules_service(in_scope, credit_rule, massage, facial, anna):
    assert rule_summary(credit_rule, "GBP").endswith("referrer gets a service credit of 2 × Facial")
    booking = referred(in_scope, anna, massage)
    assert Referral.objects.get(booking=booking).reward_service == facial
    booking_confirm(business=in_scope, booking=booking)
    booking_confirm(business=in_scope, booking=booking)
    reward = Reward.objects.get(client=anna)
    assert reward.kind == RewardKind.SERVICE_CREDIT and reward.description == "Service credit: 2 × Facial"
    credit = ServiceCredit.objects.get(client=anna)
    assert credit.reward == reward and credit.service == facial and credit.quantity == 2
    assert credit.source == ServiceCreditSource.RULE and credit.expires_at is not None
    assert service_credits_available(business=in_scope, client=anna, service=facial) == [credit]


def test_the_service_is_snapshot_when_the_friend_books(in_scope, credit_rule, massage, facial, anna):
    booking = referred(in_scope, anna, massage)
    other = make_service(in_scope, "Sauna")
    rule_update(
        business=in_scope,
        rule=credit_rule,
        data=RuleData(
            service_ids=(massage.pk,),
            referee_value=Decimal(15),
            reward_kind="service_credit",
            reward_value=Decimal(1),
            reward_service_id=other.pk,
        ),
    )
    booking_confirm(business=in_scope, booking=booking)
    credit = ServiceCredit.objects.get(client=anna)
    assert (credit.service, credit.quantity) == (facial, 2)


def test_cancelling_before_a_session_is_used_revokes_the_credit(in_scope, credit_rule, massage, facial, anna):
    booking = referred(in_scope, anna, massage)
    booking_confirm(business=in_scope, booking=booking)
    booking_cancel(business=in_scope, booking=booking)
    assert Reward.objects.get(client=anna).status == RewardStatus.REVOKED
    credit = ServiceCredit.objects.get(client=anna)
    assert credit.revoked_at is not None and credit.display_status == "Revoked"
    assert service_credits_available(business=in_scope, client=anna) == []
    own = booking_create_with_referral(business=in_scope, client=anna, service=facial, starts_at=soon())
    with pytest.raises(ValidationError):
        service_credit_use(business=in_scope, credit=credit, booking=own)


def test_a_used_service_credit_is_kept_and_reported(in_scope, credit_rule, massage, facial, anna):
    booking = referred(in_scope, anna, massage)
    booking_confirm(business=in_scope, booking=booking)
    credit = ServiceCredit.objects.get(client=anna)
    own = booking_create_with_referral(business=in_scope, client=anna, service=facial, starts_at=soon())
    service_credit_use(business=in_scope, credit=credit, booking=own)
    booking_cancel(business=in_scope, booking=booking)
    assert Reward.objects.get(client=anna).status == RewardStatus.ISSUED
    assert "kept" in Referral.objects.get(booking=booking).reason
    credit.refresh_from_db()
    assert credit.revoked_at is None and credit.remaining == 1


# ------------------------------------------------------------------------------------------------ the rule


def rule_data(massage, **overrides) -> RuleData:
    values = {"service_ids": (massage.pk,), "referee_value": Decimal(15), "reward_kind": "points"}
    values.update(overrides)
    return RuleData(**values)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reward_value": Decimal("12.5")}, "reward_value"),
        ({"reward_value": Decimal(0)}, "reward_value"),
        ({"reward_value": Decimal(-3)}, "reward_value"),
        ({"reward_value": None}, "reward_value"),
        ({"reward_value": Decimal(10**9)}, "reward_value"),
        ({"reward_value": Decimal(100), "fast_days": 3, "slow_reward_value": Decimal(100)}, "slow_reward_value"),
        ({"reward_kind": "service_credit", "reward_value": Decimal(1)}, "reward_service"),
        ({"reward_kind": "service_credit", "reward_value": Decimal(1), "reward_service_id": 2**70}, "reward_service"),
        ({"reward_kind": "service_credit", "reward_value": Decimal(101), "reward_service_id": "own"}, "reward_value"),
    ],
)
def test_bad_whole_number_rewards_are_refused_by_field(in_scope, massage, overrides, field):
    if overrides.get("reward_service_id") == "own":
        overrides["reward_service_id"] = massage.pk
    with pytest.raises(ValidationError) as excinfo:
        rule_create(business=in_scope, data=rule_data(massage, **overrides))
    assert field in excinfo.value.message_dict
    assert not ReferralRule.objects.filter(business=in_scope).exists()


def test_a_service_credit_for_another_business_or_an_archived_service_is_refused(in_scope, massage):
    from tests.factories import BusinessFactory

    elsewhere = BusinessFactory()
    with scope(business=elsewhere):
        foreign = make_service(elsewhere, "Foreign")
    archived = make_service(in_scope, "Old", is_active=False)
    for service in (foreign, archived):
        data = rule_data(massage, reward_kind="service_credit", reward_value=Decimal(1), reward_service_id=service.pk)
        with pytest.raises(ValidationError) as excinfo:
            rule_create(business=in_scope, data=data)
        assert "reward_service" in excinfo.value.message_dict


def test_the_service_is_cleared_when_the_kind_changes(in_scope, massage, facial):
    rule = rule_create(
        business=in_scope,
        data=rule_data(massage, reward_kind="service_credit", reward_value=Decimal(1), reward_service_id=facial.pk),
    )
    assert (rule.reward_kind, rule.reward_amount, rule.reward_service) == ("service_credit", 1, facial)
    rule = rule_update(business=in_scope, rule=rule, data=rule_data(massage, reward_value=Decimal(300)))
    rule.refresh_from_db()
    assert (rule.reward_kind, rule.reward_amount, rule.reward_service) == ("points", 300, None)


# ------------------------------------------------------------------------------------------------ the form


def test_the_owner_saves_a_service_credit_rule_from_the_form(owner_client, business, in_scope, massage, facial):
    from django.urls import reverse

    new = reverse("referrals:rule_new", args=[business.slug])
    page = owner_client.get(new).content.decode()
    assert 'value="service_credit"' in page and 'value="points"' in page and 'name="reward_service"' in page
    form = {
        "services": [str(massage.pk)],
        "referee_kind": "percent",
        "referee_value": "15",
        "reward_kind": "service_credit",
        "reward_value": "1",
        "reward_service": str(facial.pk),
    }
    missing = owner_client.post(new, {**form, "reward_service": ""})
    assert (
        missing.status_code == 400 and "Choose the service the credit gives a session of." in missing.content.decode()
    )
    saved = owner_client.post(new, form)
    assert saved.status_code == 302, saved.context["form"].errors
    rule = ReferralRule.objects.get(business=business)
    assert (rule.reward_kind, rule.reward_amount, rule.reward_service) == ("service_credit", 1, facial)
    edit = owner_client.get(reverse("referrals:rule_edit", args=[business.slug, rule.pk])).content.decode()
    assert f'<option value="{facial.pk}" selected>' in edit


def test_the_owner_saves_a_points_rule_and_a_service_sent_with_it_is_ignored(
    owner_client, business, in_scope, massage, facial
):
    from django.urls import reverse

    form = {
        "services": [str(massage.pk)],
        "referee_kind": "percent",
        "referee_value": "15",
        "reward_kind": "points",
        "reward_value": "250",
        "reward_service": str(facial.pk),
    }
    half = owner_client.post(reverse("referrals:rule_new", args=[business.slug]), {**form, "reward_value": "2.5"})
    assert half.status_code == 400 and "whole number of points" in half.content.decode()
    assert owner_client.post(reverse("referrals:rule_new", args=[business.slug]), form).status_code == 302
    rule = ReferralRule.objects.get(business=business)
    assert (rule.reward_kind, rule.reward_amount, rule.reward_service) == ("points", 250, None)


def test_the_test_drive_and_its_removal_work_with_points_and_service_credit(in_scope, credit_rule, owner):
    from referrals.testdrive import program_test_drive, program_test_records_remove

    program_test_drive(business=in_scope, actor=owner)
    assert ServiceCredit.objects.filter(business=in_scope).exists()
    program_test_records_remove(business=in_scope)
    ReferralRule.objects.filter(business=in_scope).update(reward_kind="points", reward_amount=40, reward_service=None)
    program_test_drive(business=in_scope, actor=owner)
    assert PointsEntry.objects.filter(business=in_scope, kind=PointsKind.EARN).exists()
    program_test_records_remove(business=in_scope)
    assert not Reward.objects.filter(business=in_scope).exists()
