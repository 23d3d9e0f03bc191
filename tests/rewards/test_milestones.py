"""Milestones: referrers earn a bonus once, on the confirmation that brings them to N successful referrals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django_scopes import scope

from bookings.services import booking_cancel, booking_confirm
from businesses.models import DomainEvent
from referrals.codes import code_for_client
from referrals.models import ReferralProgram, ReferrerTally
from referrals.services import ReferralClaim, booking_create_with_referral
from rewards.ledger import store_credit_balance
from rewards.milestones import MilestoneData, milestone_create, milestone_delete, milestones_check
from rewards.models import Coupon, Milestone, MilestoneAward, Reward, RewardKind, ServiceCredit

from ..referrals.conftest import make_client, make_program, make_service, soon
from ..threads import needs_postgres, run_at_once


def referred(business, referrer, service, name):
    return booking_create_with_referral(
        business=business,
        client=make_client(business, name, email=f"{name.lower()}@outlook.com"),
        service=service,
        starts_at=soon(),
        claim=ReferralClaim(code=code_for_client(business=business, client=referrer).code),
    )


def refer_and_confirm(business, referrer, service, count, start=0):
    for i in range(start, start + count):
        booking_confirm(business=business, booking=referred(business, referrer, service, f"Friend{i}"))


def milestone_rewards(client):
    return list(Reward.objects.filter(client=client, referral__isnull=True).order_by("pk"))


@pytest.fixture
def massage(in_scope):
    return make_service(in_scope, name="30-minute massage")


@pytest.fixture
def program(in_scope, massage):
    return make_program(in_scope, [massage], burst_limit=100)


@pytest.fixture
def anna(in_scope):
    return make_client(in_scope, "Anna", email="anna@gmail.com")


@pytest.fixture
def tiers(in_scope, massage):
    """3 successful referrals → a free 30-minute massage; 5 → £20 of store credit."""
    return (
        milestone_create(
            business=in_scope, data=MilestoneData(threshold=3, reward_kind="service_credit", service=massage)
        ),
        milestone_create(business=in_scope, data=MilestoneData(threshold=5, reward_kind="store_credit", amount=20_00)),
    )


@pytest.mark.django_db
class TestReaching:
    def test_three_give_a_service_credit_and_five_store_credit_each_once(self, in_scope, program, massage, anna, tiers):
        refer_and_confirm(in_scope, anna, massage, 2)
        assert milestone_rewards(anna) == []

        refer_and_confirm(in_scope, anna, massage, 1, start=2)
        [reward] = milestone_rewards(anna)
        assert reward.kind == RewardKind.SERVICE_CREDIT
        assert reward.description == "Milestone: 3 successful referrals: 1 × 30-minute massage"
        credit = ServiceCredit.objects.get(client=anna)
        assert (credit.service, credit.quantity, credit.source, credit.reward) == (massage, 1, "milestone", reward)
        assert credit.expires_at is not None
        award = MilestoneAward.objects.get(client=anna)
        assert (award.milestone, award.threshold, award.reward) == (tiers[0], 3, reward)

        refer_and_confirm(in_scope, anna, massage, 2, start=3)
        assert [r.kind for r in milestone_rewards(anna)] == [RewardKind.SERVICE_CREDIT, RewardKind.STORE_CREDIT]
        assert store_credit_balance(business=in_scope, client=anna) == 20_00

        refer_and_confirm(in_scope, anna, massage, 3, start=5)
        assert MilestoneAward.objects.filter(client=anna).count() == 2
        assert ServiceCredit.objects.filter(client=anna).count() == 1
        # Each referral still gave its own coupon; milestones come on top by default.
        assert Reward.objects.filter(client=anna, referral__isnull=False).count() == 8
        assert ReferrerTally.objects.get(client=anna).rewards_earned == 8

    def test_reached_is_recorded_as_events(self, in_scope, program, massage, anna, tiers):
        refer_and_confirm(in_scope, anna, massage, 3)
        event = DomainEvent.objects.get(kind="milestone.reached")
        award = MilestoneAward.objects.get(client=anna)
        assert event.subject_id == award.pk
        assert event.payload["threshold"] == 3 and event.payload["client_id"] == anna.pk
        assert DomainEvent.objects.filter(kind="service_credit.issued").count() == 1

    def test_milestones_added_later_are_all_given_on_the_next_confirmation(self, in_scope, program, massage, anna):
        refer_and_confirm(in_scope, anna, massage, 6)
        milestone_create(business=in_scope, data=MilestoneData(threshold=3, reward_kind="coupon_fixed", amount=5_00))
        milestone_create(
            business=in_scope, data=MilestoneData(threshold=5, reward_kind="coupon_percent", percent=Decimal("25"))
        )
        refer_and_confirm(in_scope, anna, massage, 1, start=6)
        coupons = [r.coupon for r in milestone_rewards(anna)]
        assert [(c.kind, c.amount, c.percent) for c in coupons] == [("fixed", 5_00, 0), ("percent", 0, Decimal("25"))]

    def test_each_client_reaches_a_milestone_for_themselves(self, in_scope, program, massage, anna, tiers):
        carl = make_client(in_scope, "Carl", email="carl@gmail.com")
        refer_and_confirm(in_scope, anna, massage, 3)
        refer_and_confirm(in_scope, carl, massage, 2, start=10)
        assert MilestoneAward.objects.filter(client=anna).count() == 1
        assert not MilestoneAward.objects.filter(client=carl).exists()

    def test_an_inactive_milestone_is_not_given(self, in_scope, program, massage, anna, tiers):
        Milestone.objects.filter(pk=tiers[0].pk).update(active=False)
        refer_and_confirm(in_scope, anna, massage, 3)
        assert not MilestoneAward.objects.exists()

    def test_a_program_for_new_clients_only_gives_no_milestone(self, in_scope, program, massage, anna, tiers):
        ReferralProgram.objects.filter(business=in_scope).update(recipients="new_client")
        refer_and_confirm(in_scope, anna, massage, 3)
        assert not MilestoneAward.objects.exists()

    def test_a_cancelled_referral_does_not_take_the_milestone_back(self, in_scope, program, massage, anna, tiers):
        bookings = [referred(in_scope, anna, massage, f"Friend{i}") for i in range(3)]
        for booking in bookings:
            booking_confirm(business=in_scope, booking=booking)
        booking_cancel(business=in_scope, booking=bookings[0])
        assert ReferrerTally.objects.get(client=anna).successful_referrals == 2
        assert MilestoneAward.objects.filter(client=anna).count() == 1
        refer_and_confirm(in_scope, anna, massage, 1, start=3)  # back at 3: not given again
        assert MilestoneAward.objects.filter(client=anna).count() == 1

    def test_a_deleted_milestone_keeps_its_awards_and_is_not_given_again(self, in_scope, program, massage, anna, tiers):
        refer_and_confirm(in_scope, anna, massage, 3)
        milestone_delete(business=in_scope, milestone=tiers[0])
        award = MilestoneAward.objects.get(client=anna)
        assert award.milestone is None and award.threshold == 3 and award.reward.kind == RewardKind.SERVICE_CREDIT
        milestone_create(business=in_scope, data=MilestoneData(threshold=3, reward_kind="coupon_fixed", amount=1_00))
        refer_and_confirm(in_scope, anna, massage, 1, start=3)
        assert MilestoneAward.objects.filter(client=anna).count() == 1

    def test_checking_again_gives_nothing_more(self, in_scope, program, massage, anna, tiers):
        refer_and_confirm(in_scope, anna, massage, 3)
        with transaction.atomic():
            assert milestones_check(business=in_scope, referrer=anna) == []
        assert MilestoneAward.objects.count() == 1


@pytest.mark.django_db
class TestMaximumRewards:
    def test_off_by_default_a_milestone_is_given_past_the_maximum(self, in_scope, massage, anna, tiers):
        make_program(in_scope, [massage], burst_limit=100, max_rewards_per_referrer=1)
        refer_and_confirm(in_scope, anna, massage, 3)
        assert Reward.objects.filter(client=anna, referral__isnull=False).count() == 1
        assert len(milestone_rewards(anna)) == 1
        assert ReferrerTally.objects.get(client=anna).rewards_earned == 1

    def test_on_it_is_not_given_at_the_maximum(self, in_scope, massage, anna, tiers):
        make_program(in_scope, [massage], burst_limit=100, max_rewards_per_referrer=2)
        Milestone.objects.filter(pk=tiers[0].pk).update(counts_towards_max=True)
        refer_and_confirm(in_scope, anna, massage, 3)
        assert milestone_rewards(anna) == []
        assert ReferrerTally.objects.get(client=anna).rewards_earned == 2

    def test_on_it_counts_as_a_reward_below_the_maximum(self, in_scope, massage, anna, tiers):
        make_program(in_scope, [massage], burst_limit=100, max_rewards_per_referrer=4)
        Milestone.objects.filter(pk=tiers[0].pk).update(counts_towards_max=True)
        refer_and_confirm(in_scope, anna, massage, 4)
        assert len(milestone_rewards(anna)) == 1
        # Three referral coupons, the milestone, then the fourth referral finds the maximum reached.
        assert Reward.objects.filter(client=anna, referral__isnull=False).count() == 3
        assert ReferrerTally.objects.get(client=anna).rewards_earned == 4

    def test_a_skipped_milestone_is_given_once_the_maximum_is_raised(self, in_scope, massage, anna, tiers):
        program = make_program(in_scope, [massage], burst_limit=100, max_rewards_per_referrer=2)
        Milestone.objects.filter(pk=tiers[0].pk).update(counts_towards_max=True)
        refer_and_confirm(in_scope, anna, massage, 3)
        ReferralProgram.objects.filter(pk=program.pk).update(max_rewards_per_referrer=10)
        refer_and_confirm(in_scope, anna, massage, 1, start=3)
        assert len(milestone_rewards(anna)) == 1


@pytest.mark.django_db
class TestSettingsServices:
    @pytest.mark.parametrize(
        "data, field",
        [
            (MilestoneData(threshold=0, reward_kind="store_credit", amount=1), "threshold"),
            (MilestoneData(threshold=2, reward_kind="service_credit"), "service"),
            (MilestoneData(threshold=2, reward_kind="store_credit", amount=0), "amount"),
            (MilestoneData(threshold=2, reward_kind="coupon_percent", percent=Decimal("101")), "percent"),
            (MilestoneData(threshold=2, reward_kind="gift"), "reward_kind"),
        ],
    )
    def test_bad_data_is_a_field_error(self, in_scope, data, field):
        with pytest.raises(ValidationError) as error:
            milestone_create(business=in_scope, data=data)
        assert field in error.value.message_dict

    def test_one_milestone_per_number_of_referrals(self, in_scope, tiers):
        with pytest.raises(ValidationError) as error:
            milestone_create(business=in_scope, data=MilestoneData(threshold=3, reward_kind="coupon_fixed", amount=1))
        assert "already" in error.value.message_dict["threshold"][0]


# ------------------------------------------------------------------------------------------------ pages


def url(business, name, *args):
    return reverse(f"rewards:{name}", args=[business.slug, *args])


@pytest.mark.django_db
class TestPages:
    def test_the_owner_adds_edits_and_deletes_a_milestone(self, owner_client, business, in_scope, massage):
        response = owner_client.post(
            url(business, "milestone_new"), {"threshold": "3", "reward_kind": "service_credit", "service": massage.pk}
        )
        assert response.status_code == 302
        milestone = Milestone.objects.get(business=business)
        assert (milestone.threshold, milestone.service, milestone.active) == (3, massage, False)

        response = owner_client.get(url(business, "milestones"))
        assert response.status_code == 200 and "a free 30-minute massage (service credit)" in response.content.decode()

        edit = url(business, "milestone_edit", milestone.pk)
        assert owner_client.get(edit).status_code == 200
        response = owner_client.post(
            edit, {"threshold": "5", "reward_kind": "store_credit", "value": "20.50", "active": "on"}
        )
        assert response.status_code == 302
        milestone.refresh_from_db()
        assert (milestone.threshold, milestone.amount, milestone.service, milestone.active) == (5, 20_50, None, True)

        delete = url(business, "milestone_delete", milestone.pk)
        assert "Delete the milestone" in owner_client.get(delete).content.decode()
        assert owner_client.post(delete).status_code == 302
        assert not Milestone.objects.filter(business=business).exists()

    @pytest.mark.parametrize(
        "data, field",
        [
            ({"threshold": "", "reward_kind": "store_credit", "value": "5"}, "threshold"),
            ({"threshold": "-1", "reward_kind": "store_credit", "value": "5"}, "threshold"),
            ({"threshold": "3", "reward_kind": "service_credit"}, "service"),
            ({"threshold": "3", "reward_kind": "store_credit"}, "value"),
            ({"threshold": "3", "reward_kind": "store_credit", "value": "1e30"}, "value"),
            ({"threshold": "3", "reward_kind": "store_credit", "value": "0.001"}, "value"),
            ({"threshold": "3", "reward_kind": "coupon_percent", "value": "150"}, "value"),
            ({"threshold": "3", "reward_kind": "gift", "value": "5"}, "reward_kind"),
            ({"threshold": "3", "reward_kind": "service_credit", "service": "999999"}, "service"),
            ({"threshold": "99999999999999999999", "reward_kind": "store_credit", "value": "5"}, "threshold"),
        ],
    )
    def test_bad_input_shows_field_errors(self, owner_client, business, in_scope, data, field):
        response = owner_client.post(url(business, "milestone_new"), data)
        assert response.status_code == 400
        assert response.context["form"].errors[field]
        assert not Milestone.objects.filter(business=business).exists()

    def test_a_duplicate_threshold_is_a_field_error(self, owner_client, business, in_scope, tiers):
        response = owner_client.post(
            url(business, "milestone_edit", tiers[1].pk),
            {"threshold": "3", "reward_kind": "coupon_fixed", "value": "5"},
        )
        assert response.status_code == 400
        assert "already" in response.context["form"].errors["threshold"][0]

    def test_another_business_service_cannot_be_chosen(self, owner_client, business, other_business):
        with scope(business=other_business):
            foreign = make_service(other_business)
        data = {"threshold": "3", "reward_kind": "service_credit", "service": foreign.pk}
        response = owner_client.post(url(business, "milestone_new"), data)
        assert response.status_code == 400 and response.context["form"].errors["service"]

    def test_staff_get_403(self, staff_client, business, in_scope, tiers):
        for target in (
            url(business, "milestones"),
            url(business, "milestone_new"),
            url(business, "milestone_edit", tiers[0].pk),
            url(business, "milestone_delete", tiers[0].pk),
        ):
            assert staff_client.get(target).status_code == 403
            assert staff_client.post(target).status_code == 403
        assert Milestone.objects.filter(business=business).count() == 2

    def test_an_outsider_gets_404(self, outsider_client, business, other_business, in_scope, tiers):
        assert outsider_client.get(url(business, "milestones")).status_code == 404
        assert outsider_client.post(url(business, "milestone_delete", tiers[0].pk)).status_code == 404
        # Their own business, this business's milestone id: not found either.
        assert outsider_client.get(url(other_business, "milestone_edit", tiers[0].pk)).status_code == 404
        assert outsider_client.post(url(other_business, "milestone_delete", tiers[0].pk)).status_code == 404
        assert Milestone.objects.filter(business=business).count() == 2


# ------------------------------------------------------------------------------------------------ races


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestConcurrency:
    @pytest.fixture(autouse=True)
    def _postgres_only(self):
        needs_postgres()

    def test_two_confirmations_reaching_a_milestone_at_once_give_it_once(self, business):
        with scope(business=business):
            massage = make_service(business)
            make_program(business, [massage], burst_limit=100)
            anna = make_client(business, email="anna@gmail.com")
            milestone_create(
                business=business, data=MilestoneData(threshold=2, reward_kind="store_credit", amount=5_00)
            )
            bookings = [referred(business, anna, massage, f"Friend{i}") for i in range(2)]

        def confirm(i):
            with scope(business=business):
                booking_confirm(business=business, booking=bookings[i])

        _, errors = run_at_once(confirm, threads=2)
        assert errors == []
        with scope(business=business):
            assert ReferrerTally.objects.get(client=anna).successful_referrals == 2
            assert MilestoneAward.objects.filter(client=anna).count() == 1
            assert store_credit_balance(business=business, client=anna) == 5_00

    def test_ten_confirmations_at_once_give_each_milestone_once(self, business):
        with scope(business=business):
            massage = make_service(business)
            make_program(business, [massage], burst_limit=100, max_rewards_per_referrer=3)
            anna = make_client(business, email="anna@gmail.com")
            for threshold, counts in ((1, True), (5, False), (10, True)):
                milestone_create(
                    business=business,
                    data=MilestoneData(
                        threshold=threshold,
                        reward_kind="coupon_fixed",
                        amount=threshold * 100,
                        counts_towards_max=counts,
                    ),
                )
            bookings = [referred(business, anna, massage, f"Friend{i}") for i in range(10)]

        def confirm(i):
            with scope(business=business):
                booking_confirm(business=business, booking=bookings[i])

        _, errors = run_at_once(confirm, threads=10)
        assert errors == []
        with scope(business=business):
            tally = ReferrerTally.objects.get(client=anna)
            # Maximum 3: the first referral coupon, the 1-milestone, the second referral coupon; the 5-milestone
            # does not count; the 10-milestone finds the maximum reached.
            assert [a.threshold for a in MilestoneAward.objects.filter(client=anna).order_by("threshold")] == [1, 5]
            assert (tally.successful_referrals, tally.rewards_earned) == (10, 3)
            assert Coupon.objects.filter(client=anna).count() == 4
