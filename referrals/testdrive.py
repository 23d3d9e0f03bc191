"""Test drive: the owner runs the whole referral flow with a test referrer and a test friend before going live.

Test records carry `is_test`, use addresses under the reserved `.invalid` domain (so nothing can ever be e-mailed
to a real person), are left out of lists and figures by default, and are removed together by
`program_test_records_remove`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from bookings.models import Booking, BookingDiscount, Payment, PaymentMethod
from bookings.services import booking_complete, booking_confirm, payment_record
from businesses.models import Business, DomainEvent, Service
from clients.models import Client
from clients.services import ClientData, client_create
from rewards.models import (
    Coupon,
    MilestoneAward,
    PointsEntry,
    PointsUse,
    Reward,
    ServiceCredit,
    ServiceCreditUse,
    StoreCreditEntry,
    StoreCreditUse,
)
from rewards.services import coupon_label

from .codes import code_for_client, link_for
from .models import (
    ClientSighting,
    Referral,
    ReferralCode,
    ReferralRule,
    ReferralSource,
    ReferrerTally,
    RewardMoment,
)
from .program import program_get
from .services import ReferralClaim, booking_create_with_referral

TEST_DOMAIN = "test-drive.invalid"


@dataclass
class TestDrive:
    referrer: Client
    referee: Client
    service: Service
    booking: Booking
    discounts: list[BookingDiscount]
    referral: Referral
    reward: Reward | None
    link: str
    thank_you: str

    @property
    def reward_value(self) -> str:
        return coupon_label(self.reward.coupon) if self.reward and self.reward.coupon else ""


def _test_client(business: Business, first_name: str, actor) -> Client:
    token = secrets.token_hex(3)
    client = client_create(
        business=business,
        data=ClientData(first_name=first_name, last_name="(test)", email=f"{first_name.lower()}-{token}@{TEST_DOMAIN}"),
        actor=actor,
    )
    Client.objects.filter(business=business, pk=client.pk).update(is_test=True)
    client.is_test = True
    return client


@transaction.atomic
def program_test_drive(*, business: Business, actor=None) -> TestDrive:
    """Run link → booking with the discount → confirmation → coupon, with test records, whether or not the
    program is switched on. Refuses (ValidationError) when no rule covers an active service yet."""
    rule = ReferralRule.objects.filter(business=business).prefetch_related("services").first()
    service = next((s for s in rule.services.all() if s.is_active), None) if rule else None
    if service is None:
        raise ValidationError("Add a rule that covers an active service first; the test drive books that service.")
    referrer = _test_client(business, "Tess", actor)
    referee = _test_client(business, "Finn", actor)
    code = code_for_client(business=business, client=referrer)
    booking = booking_create_with_referral(
        business=business,
        client=referee,
        service=service,
        starts_at=timezone.now() + timedelta(days=7),
        claim=ReferralClaim(code=code.code, source=ReferralSource.LINK, clicked_at=timezone.now()),
        actor=actor,
        is_test=True,
    )
    Booking.objects.filter(business=business, pk=booking.pk).update(is_test=True)
    booking = booking_confirm(business=business, booking=booking, actor=actor)
    # Walk on to the moment the program rewards at, so the drive always ends with the referrer's reward.
    moment = program_get(business=business).reward_moment
    if moment == RewardMoment.COMPLETED:
        booking = booking_complete(business=business, booking=booking, actor=actor)
    elif moment == RewardMoment.PAID:
        payment_record(business=business, payment=booking.payments.first(), method=PaymentMethod.OTHER, actor=actor)
    referral = Referral.objects.get(business=business, booking=booking)
    reward = Reward.objects.filter(business=business, referral=referral).select_related("coupon").first()
    return TestDrive(
        referrer=referrer,
        referee=referee,
        service=service,
        booking=booking,
        discounts=list(booking.discounts.all()),
        referral=referral,
        reward=reward,
        link=link_for(code),
        thank_you=thank_you_text(business=business, referral=referral, reward=reward),
    )


def thank_you_text(*, business: Business, referral: Referral, reward: Reward | None) -> str:
    """The Referral Thank You message as the referrer would read it (the autopilots issue sends it)."""
    count = ReferrerTally.objects.filter(business=business, client_id=referral.referrer_id).first()
    coupon = reward.coupon if reward else None
    return render_to_string(
        "referrals/thank_you.txt",
        {
            "business": business,
            "referrer": referral.referrer,
            "friend": referral.referee,
            "count": count.successful_referrals if count else 1,
            "coupon": coupon,
            "coupon_value": coupon_label(coupon) if coupon else "",
            "credit": reward.description if reward and reward.store_credit_id else "",
            "credit_expires": reward.store_credit.expires_at if reward and reward.store_credit_id else None,
        },
    ).strip()


@transaction.atomic
def program_test_records_remove(*, business: Business) -> int:
    """Delete every test record of the business (clients, bookings, referrals, rewards); returns the clients
    removed. Real records are never touched: each delete filters on `is_test` or on a test client."""
    clients = list(Client.objects.filter(business=business, is_test=True).values_list("pk", flat=True))
    bookings = list(Booking.objects.filter(business=business, client_id__in=clients).values_list("pk", flat=True))
    referrals = list(
        Referral.objects.filter(business=business, referee_id__in=clients).values_list("pk", flat=True)
    ) + list(Referral.objects.filter(business=business, referrer_id__in=clients).values_list("pk", flat=True))
    rewards = list(Reward.objects.filter(business=business, client_id__in=clients).values_list("pk", flat=True))
    coupons = list(Coupon.objects.filter(business=business, client_id__in=clients).values_list("pk", flat=True))
    payments = list(Payment.objects.filter(business=business, booking_id__in=bookings).values_list("pk", flat=True))
    for label, ids in (
        ("referrals.Referral", referrals),
        ("bookings.Payment", payments),
        ("rewards.Reward", rewards),
        ("rewards.Coupon", coupons),
        ("bookings.Booking", bookings),
        ("clients.Client", clients),
    ):
        DomainEvent.objects.filter(business=business, subject_type=label, subject_id__in=ids).delete()
    _remove_wallets(business, clients)
    Reward.objects.filter(business=business, pk__in=rewards).delete()
    Coupon.objects.filter(business=business, pk__in=coupons).delete()
    Referral.objects.filter(business=business, pk__in=referrals).delete()
    Booking.objects.filter(business=business, pk__in=bookings).delete()
    for model in (ReferralCode, ReferrerTally, ClientSighting):
        model.objects.filter(business=business, client_id__in=clients).delete()
    Client.objects.filter(business=business, pk__in=clients).delete()
    return len(clients)


def _remove_wallets(business: Business, clients: list[int]) -> None:
    """Test clients' milestones, service credits and ledgers, in the order their protected links need: what
    points at a row goes before the row (awards before rewards, uses and reversals before the entries)."""
    MilestoneAward.objects.filter(business=business, client_id__in=clients).delete()
    ServiceCreditUse.objects.filter(business=business, credit__client_id__in=clients).delete()
    Reward.objects.filter(business=business, client_id__in=clients).update(store_credit=None, points_entry=None)
    for entries, uses in ((StoreCreditEntry, StoreCreditUse), (PointsEntry, PointsUse)):
        uses.objects.filter(business=business, entry__client_id__in=clients).delete()
        entries.objects.filter(business=business, client_id__in=clients, reverses__isnull=False).delete()
        entries.objects.filter(business=business, client_id__in=clients).delete()
    ServiceCredit.objects.filter(business=business, client_id__in=clients).delete()
