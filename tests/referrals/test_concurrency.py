"""Caps and single-use under real concurrency on PostgreSQL: row locks and unique constraints hold."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope

from bookings.services import booking_confirm
from clients.models import Client
from referrals.codes import code_for_client
from referrals.models import Referral, ReferralStatus, ReferrerTally
from referrals.services import ReferralClaim, booking_create_with_referral
from rewards.models import Coupon, CouponStatus, Reward

from ..threads import needs_postgres, run_at_once
from .conftest import make_client, make_program, make_service, soon

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    needs_postgres()


def referred_booking(business, referrer, service, name):
    referee = make_client(business, name, email=f"{name.lower()}@outlook.com")
    claim = ReferralClaim(code=code_for_client(business=business, client=referrer).code)
    return booking_create_with_referral(
        business=business, client=referee, service=service, starts_at=soon(), claim=claim
    )


def test_twenty_simultaneous_confirmations_of_one_booking_give_one_coupon(business, owner):
    with scope(business=business):
        massage = make_service(business)
        make_program(business, [massage])
        anna = make_client(business, email="anna@gmail.com")
        booking = referred_booking(business, anna, massage, "Bob")

    def confirm(_):
        with scope(business=business):
            booking_confirm(business=business, booking=booking, actor=owner)

    _, errors = run_at_once(confirm, threads=20)
    assert errors == []
    with scope(business=business):
        assert Reward.objects.filter(client=anna).count() == 1
        assert Coupon.objects.filter(client=anna).count() == 1
        assert Referral.objects.get(booking=booking).status == ReferralStatus.CONFIRMED
        assert ReferrerTally.objects.get(client=anna).successful_referrals == 1


def test_ten_referees_confirmed_at_once_with_a_maximum_of_three_give_three_coupons(business):
    with scope(business=business):
        massage = make_service(business)
        make_program(business, [massage], max_rewards_per_referrer=3, burst_limit=100)
        anna = make_client(business, email="anna@gmail.com")
        bookings = [referred_booking(business, anna, massage, f"Friend{i}") for i in range(10)]

    def confirm(i):
        with scope(business=business):
            booking_confirm(business=business, booking=bookings[i])

    _, errors = run_at_once(confirm, threads=10)
    assert errors == []
    with scope(business=business):
        assert Reward.objects.filter(client=anna).count() == 3
        assert Referral.objects.filter(referrer=anna, status=ReferralStatus.CONFIRMED).count() == 10
        tally = ReferrerTally.objects.get(client=anna)
        assert (tally.successful_referrals, tally.rewards_earned) == (10, 3)


def test_one_coupon_redeemed_twice_at_once_is_accepted_once(business):
    with scope(business=business):
        massage = make_service(business)
        make_program(business, [massage])
        anna = make_client(business, email="anna@gmail.com")
        booking_confirm(business=business, booking=referred_booking(business, anna, massage, "Bob"))
        coupon = Coupon.objects.get(client=anna)

    def redeem(_):
        with scope(business=business):
            return booking_create_with_referral(
                business=business,
                client=Client.objects.get(pk=anna.pk),
                service=massage,
                starts_at=soon(),
                coupon_code=coupon.code,
            )

    bookings, errors = run_at_once(redeem, threads=2)
    assert len(bookings) == 1
    assert len(errors) == 1 and isinstance(errors[0], ValidationError)
    assert "already been used" in str(errors[0])
    with scope(business=business):
        coupon.refresh_from_db()
        assert coupon.status == CouponStatus.REDEEMED and coupon.redeemed_booking_id == bookings[0].pk


def test_staff_saving_the_same_referrer_twice_at_once_make_one_referral(business, owner):
    from referrals.services import referral_link_by_staff

    with scope(business=business):
        make_program(business, [make_service(business)])
        anna = make_client(business, email="anna@gmail.com")
        bob = make_client(business, "Bob", email="bob@outlook.com")

    def link(_):
        with scope(business=business):
            return referral_link_by_staff(business=business, referee=bob, referrer=anna, actor=owner).pk

    results, errors = run_at_once(link, threads=8)
    assert errors == []
    assert len(set(results)) == 1
    with scope(business=business):
        assert Referral.objects.filter(referee=bob).count() == 1


def test_confirmations_and_bookings_of_one_referrer_at_once_neither_deadlock_nor_double(business):
    """Friends already linked by staff book confirmed (tally, then reward) while other friends are confirmed:
    every path takes the referrer's row before the tally, so nothing waits in a circle."""
    from referrals.services import referral_link_by_staff

    with scope(business=business):
        massage = make_service(business)
        make_program(business, [massage], burst_limit=100)
        anna = make_client(business, email="anna@gmail.com")
        pending = [referred_booking(business, anna, massage, f"Waiting{i}") for i in range(6)]
        linked = [make_client(business, f"Linked{i}", email=f"linked{i}@outlook.com") for i in range(6)]
        for friend in linked:
            referral_link_by_staff(business=business, referee=friend, referrer=anna)

    def act(i):
        with scope(business=business):
            if i % 2:
                booking_confirm(business=business, booking=pending[i // 2])
            else:
                booking_create_with_referral(
                    business=business, client=linked[i // 2], service=massage, starts_at=soon(), status="confirmed"
                )

    _, errors = run_at_once(act, threads=12)
    assert errors == []
    with scope(business=business):
        assert Reward.objects.filter(client=anna).count() == 12
        assert ReferrerTally.objects.get(client=anna).successful_referrals == 12
