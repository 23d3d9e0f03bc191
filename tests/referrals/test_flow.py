"""The whole referral flow through the services: capture, eligibility, discount, confirmation, reward."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bookings.models import Booking, DiscountKind, PaymentMethod
from bookings.services import booking_cancel, booking_complete, booking_confirm, booking_create, payment_record
from businesses.models import DomainEvent, PaymentPlan, PlanInterval
from clients.services import client_merge
from referrals.codes import code_for_client
from referrals.models import FlagSignal, Referral, ReferralSource, ReferralStatus, ReferrerTally, RewardMoment
from referrals.rules import Refusal
from referrals.services import (
    ReferralClaim,
    booking_create_with_referral,
    referral_approve,
    referral_link_by_staff,
    referral_quote,
    referral_reject,
    referrals_auto_approve_due,
)
from rewards.models import Coupon, CouponStatus, Reward, RewardStatus

from .conftest import make_client, make_program, make_service, soon

pytestmark = pytest.mark.django_db


def link(referrer, days_ago=2):
    return ReferralClaim(
        code=code_for_client(business=referrer.business, client=referrer).code.lower(),
        source=ReferralSource.LINK,
        clicked_at=timezone.now() - timedelta(days=days_ago),
    )


def book(business, client, service, claim=None, **fields):
    return booking_create_with_referral(
        business=business, client=client, service=service, starts_at=soon(), claim=claim, **fields
    )


def test_a_friend_from_the_link_gets_the_discount_and_the_referrer_a_coupon_on_confirmation(
    in_scope, program, massage, anna, owner
):
    bob = make_client(in_scope, "Bob", "Stone", email="bob@outlook.com")
    booking = book(in_scope, bob, massage, link(anna))

    assert (booking.list_price, booking.total) == (100_00, 85_00)
    [row] = booking.discounts.all()
    assert (row.kind, row.amount, row.label) == (DiscountKind.REFERRAL, 15_00, "Referred by Anna: 15% off")
    referral = Referral.objects.get(booking=booking)
    assert (referral.referrer, referral.referee, referral.status) == (anna, bob, ReferralStatus.PENDING)
    assert referral.referee_discount == 15_00
    bob.refresh_from_db()
    assert bob.referred_by == anna and bob.source == "client_referral"
    assert not Reward.objects.exists()

    booking_confirm(business=in_scope, booking=booking, actor=owner)

    referral.refresh_from_db()
    assert referral.status == ReferralStatus.CONFIRMED
    reward = Reward.objects.get(referral=referral)
    coupon = reward.coupon
    assert (coupon.client, coupon.kind, coupon.amount, coupon.status) == (anna, "fixed", 20_00, CouponStatus.ACTIVE)
    assert coupon.expires_at.date() == (timezone.now() + timedelta(days=90)).date()
    tally = ReferrerTally.objects.get(client=anna)
    assert (tally.successful_referrals, tally.rewards_earned) == (1, 1)
    kinds = list(DomainEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds.index("referral.created") < kinds.index("reward.issued") < kinds.index("referral.confirmed")


def test_confirming_again_issues_nothing_more(in_scope, program, massage, anna):
    booking = book(in_scope, make_client(in_scope, "Bob", email="bob@outlook.com"), massage, link(anna))
    booking_confirm(business=in_scope, booking=booking)
    booking_confirm(business=in_scope, booking=booking)
    booking_complete(business=in_scope, booking=booking)
    assert Reward.objects.count() == 1 and Coupon.objects.count() == 1


def test_a_booking_made_confirmed_rewards_at_once(in_scope, program, massage, anna):
    booking = book(
        in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), massage, link(anna), status="confirmed"
    )
    assert Referral.objects.get(booking=booking).status == ReferralStatus.CONFIRMED
    assert Reward.objects.filter(client=anna).count() == 1


def test_self_referral_through_a_gmail_alias_is_refused(in_scope, program, massage):
    rob = make_client(in_scope, "Rob", "Smith", email="robsmith@gmail.com")
    claim = ReferralClaim(code=code_for_client(business=in_scope, client=rob).code)
    # Before the booking: the widget sees who the typed address belongs to.
    quote = referral_quote(business=in_scope, service=massage, claim=claim, email_canonical="robsmith@gmail.com")
    assert quote.refusal == Refusal.SELF_REFERRAL and quote.discount == 0
    # The typed alias is the same client: the booking goes through at full price with the reason recorded.
    from clients.identity import canonical_email

    assert canonical_email("Rob.Smith+x@gmail.com") == "robsmith@gmail.com"
    booking = book(in_scope, rob, massage, claim)
    assert booking.total == booking.list_price == 100_00
    assert Referral.objects.filter(referee=rob).count() == 0  # a client cannot be their own referee row
    refused = DomainEvent.objects.get(kind="referral.refused", subject_id=booking.pk)
    assert refused.payload["reason"] == Refusal.SELF_REFERRAL


def test_a_referee_sharing_the_referrers_phone_is_refused(in_scope, program, massage, anna):
    twin = make_client(in_scope, "Anne", email="anne@outlook.com", phone=anna.phone)
    booking = book(in_scope, twin, massage, link(anna))
    referral = Referral.objects.get(booking=booking)
    assert referral.status == ReferralStatus.INELIGIBLE
    assert referral.reason == Refusal.SAME_PHONE_OR_EMAIL
    assert booking.total == 100_00


def test_an_existing_client_using_a_code_gets_no_discount(in_scope, program, massage, anna):
    carl = make_client(in_scope, "Carl", email="carl@outlook.com")
    booking_create(business=in_scope, client=carl, service=massage, starts_at=soon(1))
    booking = book(in_scope, carl, massage, link(anna))
    assert booking.total == 100_00 and not booking.discounts.exists()
    referral = Referral.objects.get(booking=booking)
    assert (referral.status, referral.reason) == (ReferralStatus.INELIGIBLE, Refusal.NOT_NEW)
    booking_confirm(business=in_scope, booking=booking)
    assert not Reward.objects.exists()


@pytest.mark.parametrize(
    ("setup", "refusal"),
    [
        ("program_off", Refusal.PROGRAM_OFF),
        ("expired_click", Refusal.EXPIRED),
        ("other_service", Refusal.NO_RULE),
        ("unknown_code", Refusal.UNKNOWN_CODE),
    ],
)
def test_refusals_say_why_and_the_booking_still_goes_through(in_scope, program, massage, anna, setup, refusal):
    service, claim = massage, link(anna)
    if setup == "program_off":
        program.enabled = False
        program.save()
    elif setup == "expired_click":
        claim = link(anna, days_ago=31)
    elif setup == "other_service":
        service = make_service(in_scope, "Facial", price=50_00)
    elif setup == "unknown_code":
        claim = ReferralClaim(code="NOSUCHCODE")
    quote = referral_quote(business=in_scope, service=service, claim=claim, email_canonical="new@outlook.com")
    assert quote.refusal == refusal
    booking = book(in_scope, make_client(in_scope, "Dora", email="dora@outlook.com"), service, claim)
    assert booking.total == booking.list_price


def test_who_is_rewarded_is_read_when_the_referral_is_evaluated(in_scope, program, massage, anna):
    program.recipients = "new_client"
    program.save()
    booking = book(in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), massage, link(anna))
    assert booking.total == 85_00
    booking_confirm(business=in_scope, booking=booking)
    assert Referral.objects.get(booking=booking).status == ReferralStatus.CONFIRMED
    assert not Reward.objects.exists()

    program.recipients = "referrer"
    program.save()
    booking = book(in_scope, make_client(in_scope, "Cleo", email="c@outlook.com"), massage, link(anna))
    assert booking.total == 100_00
    booking_confirm(business=in_scope, booking=booking)
    assert Reward.objects.filter(client=anna).count() == 1


def test_at_the_maximum_the_referrer_gets_no_more_coupons_but_friends_keep_their_discount(
    in_scope, program, massage, anna
):
    program.max_rewards_per_referrer = 1
    program.save()
    for name in ("Bob", "Cleo"):
        booking = book(in_scope, make_client(in_scope, name, email=f"{name}@outlook.com"), massage, link(anna))
        assert booking.total == 85_00
        booking_confirm(business=in_scope, booking=booking)
    assert Reward.objects.filter(client=anna).count() == 1
    assert ReferrerTally.objects.get(client=anna).successful_referrals == 2


@pytest.mark.parametrize(
    ("moment", "rewarded_after"),
    [(RewardMoment.CONFIRMED, "confirm"), (RewardMoment.COMPLETED, "complete"), (RewardMoment.PAID, "pay")],
)
def test_the_business_chooses_when_the_referrer_earns(in_scope, program, massage, anna, moment, rewarded_after):
    program.reward_moment = moment
    program.save()
    booking = book(in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), massage, link(anna))
    steps = {
        "confirm": lambda: booking_confirm(business=in_scope, booking=booking),
        "complete": lambda: booking_complete(business=in_scope, booking=booking),
        "pay": lambda: payment_record(business=in_scope, payment=booking.payments.get(), method=PaymentMethod.CARD),
    }
    for name, step in steps.items():
        step()
        assert Reward.objects.filter(client=anna).exists() == (
            list(steps).index(name) >= list(steps).index(rewarded_after)
        ), name


def test_a_flagged_referral_keeps_the_discount_but_waits_for_review(in_scope, program, massage, anna, owner):
    sly = make_client(in_scope, "Sly", email="sly@mailinator.com")
    booking = book(in_scope, sly, massage, link(anna))
    referral = Referral.objects.get(booking=booking)
    assert referral.status == ReferralStatus.FLAGGED and booking.total == 85_00
    assert [f.signal for f in referral.flags.all()] == [FlagSignal.DISPOSABLE_EMAIL]

    booking_confirm(business=in_scope, booking=booking)
    referral.refresh_from_db()
    assert referral.reward_due and not Reward.objects.exists()

    referral_approve(business=in_scope, referral=referral, actor=owner)
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.CONFIRMED and referral.reviewed_by == owner
    assert Reward.objects.filter(client=anna).count() == 1


def test_a_rejected_referral_is_never_rewarded(in_scope, program, massage, anna, owner):
    booking = book(in_scope, make_client(in_scope, "Sly", email="sly@mailinator.com"), massage, link(anna))
    referral = referral_reject(
        business=in_scope, referral=Referral.objects.get(booking=booking), reason="Same person", actor=owner
    )
    booking_confirm(business=in_scope, booking=booking)
    referral.refresh_from_db()
    assert (referral.status, referral.reason) == (ReferralStatus.REJECTED, "Same person")
    assert not Reward.objects.exists()
    # Approving a rejected referral changes nothing.
    assert referral_approve(business=in_scope, referral=referral).status == ReferralStatus.REJECTED


def test_a_confirmed_referral_cannot_be_rejected(in_scope, program, massage, anna):
    booking = book(in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), massage, link(anna))
    booking_confirm(business=in_scope, booking=booking)
    with pytest.raises(ValidationError, match="confirmed referral cannot be rejected"):
        referral_reject(business=in_scope, referral=Referral.objects.get(booking=booking), reason="")


def test_flagged_referrals_are_approved_automatically_after_the_deadline(in_scope, program, massage, anna):
    program.flag_auto_approve_days = 7
    program.save()
    booking = book(in_scope, make_client(in_scope, "Sly", email="sly@mailinator.com"), massage, link(anna))
    booking_confirm(business=in_scope, booking=booking)
    assert referrals_auto_approve_due(business=in_scope) == 0
    assert referrals_auto_approve_due(business=in_scope, now=timezone.now() + timedelta(days=8)) == 1
    assert Referral.objects.get(booking=booking).status == ReferralStatus.CONFIRMED
    assert Reward.objects.filter(client=anna).count() == 1


def test_a_burst_of_referrals_is_flagged(in_scope, program, massage, anna):
    program.burst_limit = 2
    program.save()
    statuses = []
    for name in ("Bob", "Cleo", "Dan"):
        booking = book(in_scope, make_client(in_scope, name, email=f"{name}@outlook.com"), massage, link(anna))
        statuses.append(Referral.objects.get(booking=booking).status)
    assert statuses == [ReferralStatus.PENDING, ReferralStatus.PENDING, ReferralStatus.FLAGGED]


def test_a_referrer_named_by_the_new_client_is_flagged_for_staff(in_scope, program, massage, anna):
    claim = ReferralClaim(referrer=anna, source=ReferralSource.NAMED)
    booking = book(in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), massage, claim)
    referral = Referral.objects.get(booking=booking)
    assert referral.status == ReferralStatus.FLAGGED
    assert [f.signal for f in referral.flags.all()] == [FlagSignal.NAMED]


def test_cancelling_before_the_reward_cancels_the_referral(in_scope, program, massage, anna):
    booking = book(in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), massage, link(anna))
    booking_cancel(business=in_scope, booking=booking)
    referral = Referral.objects.get(booking=booking)
    assert (referral.status, referral.reason) == (ReferralStatus.CANCELLED, "The referred booking was cancelled.")
    assert not Reward.objects.exists()


def test_cancelling_after_the_reward_revokes_an_unused_coupon(in_scope, program, massage, anna):
    booking = book(in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), massage, link(anna))
    booking_confirm(business=in_scope, booking=booking)
    booking_cancel(business=in_scope, booking=booking)
    reward = Reward.objects.get(client=anna)
    assert reward.status == RewardStatus.REVOKED and reward.coupon.status == CouponStatus.REVOKED
    referral = Referral.objects.get(booking=booking)
    assert referral.status == ReferralStatus.CANCELLED and "revoked" in referral.reason
    assert DomainEvent.objects.filter(kind="reward.revoked").count() == 1
    tally = ReferrerTally.objects.get(client=anna)
    assert (tally.successful_referrals, tally.rewards_earned) == (0, 0)


def test_a_used_coupon_is_kept_when_the_referred_booking_is_cancelled_later(in_scope, program, massage, anna):
    booking = book(in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), massage, link(anna))
    booking_confirm(business=in_scope, booking=booking)
    coupon = Coupon.objects.get(client=anna)
    book(in_scope, anna, massage, coupon_code=coupon.code.lower())
    booking_cancel(business=in_scope, booking=booking)
    reward = Reward.objects.get(client=anna)
    assert reward.status == RewardStatus.ISSUED
    assert "kept" in Referral.objects.get(booking=booking).reason
    assert DomainEvent.objects.filter(kind="reward.kept").count() == 1


def test_a_coupon_is_single_use_and_only_for_its_owner(in_scope, program, massage, anna):
    booking = book(in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), massage, link(anna))
    booking_confirm(business=in_scope, booking=booking)
    coupon = Coupon.objects.get(client=anna)

    with pytest.raises(ValidationError) as not_hers:
        book(in_scope, Booking.objects.get(pk=booking.pk).client, massage, coupon_code=coupon.code)
    assert "another client" in str(not_hers.value)

    used = book(in_scope, anna, massage, coupon_code=coupon.code)
    [row] = used.discounts.all()
    assert (row.kind, row.amount, row.code) == (DiscountKind.COUPON, 20_00, coupon.code)
    assert used.total == 80_00
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.REDEEMED and coupon.redeemed_booking == used

    bookings_before = Booking.objects.count()
    with pytest.raises(ValidationError) as again:
        book(in_scope, anna, massage, coupon_code=coupon.code)
    assert "already been used" in str(again.value)
    assert Booking.objects.count() == bookings_before  # the refused booking left nothing behind


def test_an_expired_coupon_is_refused(in_scope, program, massage, anna):
    booking = book(in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), massage, link(anna))
    booking_confirm(business=in_scope, booking=booking)
    Coupon.objects.filter(client=anna).update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(ValidationError, match="expired"):
        book(in_scope, anna, massage, coupon_code=Coupon.objects.get().code)


def test_the_discount_is_spread_over_instalments_to_the_cent(in_scope, anna):
    programme = make_service(
        in_scope,
        "Ten-week programme",
        price=100_00,
        payment_plan=PaymentPlan.INSTALMENTS,
        plan_count=3,
        plan_interval=PlanInterval.MONTH,
    )
    make_program(in_scope, [programme], referee_percent="10")
    booking = book(in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), programme, link(anna))
    payments = list(booking.payments.order_by("sequence"))
    assert [p.discount for p in payments] == [3_34, 3_33, 3_33]
    assert sum(p.amount for p in payments) == booking.total == 90_00
    assert booking.discounts.get().amount == 10_00


def test_a_membership_takes_the_discount_on_every_renewal(in_scope, anna):
    membership = make_service(
        in_scope,
        "Monthly membership",
        price=80_00,
        payment_plan=PaymentPlan.MEMBERSHIP,
        plan_count=12,
        plan_interval=PlanInterval.MONTH,
    )
    make_program(in_scope, [membership], referee_percent="25")
    booking = book(in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), membership, link(anna))
    assert {p.amount for p in booking.payments.all()} == {60_00}
    assert booking.discounts.get().amount == 12 * 20_00


def test_staff_linking_before_the_first_booking_makes_it_a_referral(in_scope, program, massage, anna, owner):
    bob = make_client(in_scope, "Bob", email="b@outlook.com")
    referral_link_by_staff(business=in_scope, referee=bob, referrer=anna, actor=owner)
    booking = book(in_scope, bob, massage)
    referral = Referral.objects.get(referee=bob)
    assert referral.booking == booking and referral.source == ReferralSource.STAFF
    assert booking.total == 85_00


def test_staff_linking_after_a_booking_is_kept_but_never_retroactive(in_scope, program, massage, anna, owner):
    bob = make_client(in_scope, "Bob", email="b@outlook.com")
    earlier = booking_create(business=in_scope, client=bob, service=massage, starts_at=soon(1))
    referral = referral_link_by_staff(business=in_scope, referee=bob, referrer=anna, actor=owner)
    assert (referral.status, referral.reason) == (ReferralStatus.INELIGIBLE, Refusal.NOT_NEW)
    assert referral.booking is None and earlier.total == 100_00
    bob.refresh_from_db()
    assert bob.referred_by == anna


def test_merging_a_referrer_into_their_own_referee_is_refused(in_scope, program, massage, anna):
    bob = make_client(in_scope, "Bob", email="b@outlook.com")
    book(in_scope, bob, massage, link(anna))
    with pytest.raises(ValidationError, match="referred the other"):
        client_merge(business=in_scope, keep=anna, merge=bob)


def test_merging_clients_keeps_one_current_code_and_sums_their_tallies(in_scope, program, massage, anna):
    twin = make_client(in_scope, "Anna", "B.", email="anna.work@outlook.com")
    old_code = code_for_client(business=in_scope, client=twin).code
    code_for_client(business=in_scope, client=anna)
    book(in_scope, make_client(in_scope, "Bob", email="b@outlook.com"), massage, ReferralClaim(code=old_code))
    client_merge(business=in_scope, keep=anna, merge=twin)
    assert anna.referral_codes.filter(is_current=True).count() == 1
    assert anna.referral_codes.count() == 2
    assert (
        referral_quote(
            business=in_scope, service=massage, claim=ReferralClaim(code=old_code), email_canonical="c@outlook.com"
        ).referrer
        == anna
    )
    assert ReferrerTally.objects.filter(client=anna).count() == 1
