"""A rule can reward the referrer with store credit instead of a coupon."""

from __future__ import annotations

import pytest

from bookings.services import booking_cancel, booking_confirm
from referrals.codes import code_for_client
from referrals.models import Referral, ReferralRule
from referrals.program import rule_summary
from referrals.services import ReferralClaim, booking_create_with_referral
from rewards.ledger import store_credit_apply, store_credit_balance
from rewards.models import Reward, RewardKind, RewardStatus

from .conftest import make_client, soon

pytestmark = pytest.mark.django_db


@pytest.fixture
def credit_rule(program):
    ReferralRule.objects.filter(business=program.business).update(reward_kind="store_credit", reward_amount=25_00)
    return ReferralRule.objects.get(business=program.business)


def referred(business, anna, massage, name="Bob"):
    return booking_create_with_referral(
        business=business,
        client=make_client(business, name, email=f"{name.lower()}@outlook.com"),
        service=massage,
        starts_at=soon(),
        claim=ReferralClaim(code=code_for_client(business=business, client=anna).code),
    )


def test_the_referrer_gets_expiring_store_credit_on_confirmation(in_scope, credit_rule, massage, anna):
    assert rule_summary(credit_rule, "GBP").endswith("referrer gets £25 of store credit")
    booking = referred(in_scope, anna, massage)
    booking_confirm(business=in_scope, booking=booking)
    booking_confirm(business=in_scope, booking=booking)
    reward = Reward.objects.get(client=anna)
    assert reward.kind == RewardKind.STORE_CREDIT and reward.description == "£25.00 of store credit"
    assert reward.store_credit.amount == 25_00 and reward.store_credit.expires_at is not None
    assert reward.store_credit.referral == Referral.objects.get(booking=booking)
    assert store_credit_balance(business=in_scope, client=anna) == 25_00


def test_cancelling_before_it_is_spent_takes_the_credit_back(in_scope, credit_rule, massage, anna):
    booking = referred(in_scope, anna, massage)
    booking_confirm(business=in_scope, booking=booking)
    booking_cancel(business=in_scope, booking=booking)
    assert Reward.objects.get(client=anna).status == RewardStatus.REVOKED
    assert store_credit_balance(business=in_scope, client=anna) == 0


def test_credit_already_spent_is_kept_and_reported(in_scope, credit_rule, massage, anna):
    booking = referred(in_scope, anna, massage)
    booking_confirm(business=in_scope, booking=booking)
    own = booking_create_with_referral(business=in_scope, client=anna, service=massage, starts_at=soon())
    store_credit_apply(business=in_scope, client=anna, amount=10_00, booking=own)
    booking_cancel(business=in_scope, booking=booking)
    assert Reward.objects.get(client=anna).status == RewardStatus.ISSUED
    assert "kept" in Referral.objects.get(booking=booking).reason
    assert store_credit_balance(business=in_scope, client=anna) == 15_00


def test_the_test_drive_shows_a_store_credit_reward(owner_client, business, in_scope, credit_rule):
    from django.urls import reverse

    page = owner_client.post(reverse("referrals:test_drive", args=[business.slug])).content.decode()
    assert "Tess earned a reward: £25.00 of store credit" in page
    assert "we have added £25.00 of store credit to your account" in page


def test_test_records_with_store_credit_and_its_use_are_removed(in_scope, credit_rule, massage, owner):
    from referrals.testdrive import program_test_drive, program_test_records_remove
    from rewards.ledger import store_credit_reverse
    from rewards.models import StoreCreditEntry

    drive = program_test_drive(business=in_scope, actor=owner)
    own = booking_create_with_referral(
        business=in_scope, client=drive.referrer, service=massage, starts_at=soon(), is_test=True
    )
    use = store_credit_apply(business=in_scope, client=drive.referrer, amount=5_00, booking=own)
    store_credit_reverse(business=in_scope, entry=use)
    assert program_test_records_remove(business=in_scope) == 2
    assert not StoreCreditEntry.objects.exists() and not Reward.objects.exists()
