"""Loyalty points: earned on payment (the client's and the referrer's share, within N months), redeemed, expired."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bookings.models import PaymentMethod
from bookings.services import payment_record
from referrals.models import Referral, ReferralStatus
from rewards.ledger import (
    add_months,
    points_adjust,
    points_balance,
    points_earn_for_payment,
    points_expire_due,
    points_for,
    points_redeem,
    points_reverse,
)
from rewards.models import PointsEntry, PointsKind, PointsProgram

from .conftest import make_booking, make_client, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def program(in_scope):
    return PointsProgram.objects.create(
        business=in_scope,
        enabled=True,
        points_per_unit=Decimal("1"),
        point_value=5,
        referrer_points_per_unit=Decimal("0.25"),
        referrer_months=6,
    )


def referred(business, referrer, *, months_ago=0, status=ReferralStatus.CONFIRMED):
    referee = make_client(business, first_name="Rae", email=f"rae{months_ago}{status}@example.com")
    referee.referred_by = referrer
    referee.save(update_fields=["referred_by"])
    referral = Referral.objects.create(
        business=business, referrer=referrer, referee=referee, source="staff", status=status
    )
    Referral.objects.filter(pk=referral.pk).update(created_at=timezone.now() - timedelta(days=31 * months_ago))
    return referee


def pay(business, client, price=80_00):
    booking = make_booking(business, client=client, service=make_service(business, name=f"S{price}", price=price))
    return payment_record(business=business, payment=booking.payments.get(), method=PaymentMethod.CARD)


@pytest.mark.parametrize(
    ("amount", "currency", "rate", "points"),
    [
        (80_00, "GBP", "1", 80),
        (80_99, "GBP", "1", 80),
        (80_00, "GBP", "0.25", 20),
        (1_99, "GBP", "0.5", 0),
        (500, "JPY", "1", 500),
        (0, "GBP", "1", 0),
    ],
)
def test_points_for_rounds_down_to_whole_points(amount, currency, rate, points):
    assert points_for(amount, currency, Decimal(rate)) == points


def test_add_months_keeps_the_day_or_the_month_end():
    moment = timezone.now().replace(year=2030, month=1, day=31)
    assert add_months(moment, 1).date().isoformat() == "2030-02-28"
    assert add_months(moment, 12).date().isoformat() == "2031-01-31"


def test_a_payment_earns_the_client_points_once(in_scope, ada, program):
    payment = pay(in_scope, ada)
    assert points_balance(business=in_scope, client=ada) == 80
    assert points_earn_for_payment(business=in_scope, payment=payment) == []
    assert PointsEntry.objects.filter(business=in_scope, kind=PointsKind.EARN).count() == 1


def test_no_program_no_points(in_scope, ada):
    pay(in_scope, ada)
    assert points_balance(business=in_scope, client=ada) == 0


def test_the_referrer_earns_a_share_of_what_their_referee_pays(in_scope, ada, program):
    referee = referred(in_scope, ada, months_ago=1)
    pay(in_scope, referee)
    assert points_balance(business=in_scope, client=referee) == 80
    assert points_balance(business=in_scope, client=ada) == 20
    share = PointsEntry.objects.get(business=in_scope, client=ada)
    assert share.referral is not None and share.payment is not None


def test_no_referrer_share_after_the_months_window(in_scope, ada, program):
    referee = referred(in_scope, ada, months_ago=7)
    pay(in_scope, referee)
    assert points_balance(business=in_scope, client=referee) == 80
    assert points_balance(business=in_scope, client=ada) == 0


def test_without_a_window_the_referrer_earns_for_ever(in_scope, ada, program):
    program.referrer_months = None
    program.save()
    pay(in_scope, referred(in_scope, ada, months_ago=30))
    assert points_balance(business=in_scope, client=ada) == 20


def test_a_flagged_referral_earns_the_referrer_nothing(in_scope, ada, program):
    pay(in_scope, referred(in_scope, ada, status=ReferralStatus.FLAGGED))
    assert points_balance(business=in_scope, client=ada) == 0


def test_redeem_gives_the_money_value_and_refuses_past_the_balance(in_scope, ada, booking, program):
    points_adjust(business=in_scope, client=ada, points=100, reason="Welcome")
    redemption = points_redeem(business=in_scope, client=ada, points=40, booking=booking)
    assert redemption.value == 200 and redemption.entry.points == -40 and redemption.entry.value == 200
    with pytest.raises(ValidationError) as refused:
        points_redeem(business=in_scope, client=ada, points=61, booking=booking)
    assert "only 60 points" in str(refused.value.message_dict["points"])
    points_reverse(business=in_scope, entry=redemption.entry)
    points_reverse(business=in_scope, entry=redemption.entry)
    assert points_balance(business=in_scope, client=ada) == 100


def test_earned_points_expire_oldest_first(in_scope, ada, booking, program):
    program.expiry_days = 30
    program.save()
    pay(in_scope, ada)
    points_adjust(business=in_scope, client=ada, points=10, reason="Never expires")
    points_redeem(business=in_scope, client=ada, points=50, booking=booking)
    assert points_expire_due(business=in_scope, now=timezone.now() + timedelta(days=31)) == 1
    assert PointsEntry.objects.get(business=in_scope, kind=PointsKind.EXPIRE).points == -30
    assert points_balance(business=in_scope, client=ada) == 10
