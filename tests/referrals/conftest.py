from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from businesses.models import Service
from clients.services import ClientData, client_create
from referrals.models import ReferralProgram, ReferralRule


def make_service(business, name="Deep tissue massage", price=100_00, **fields) -> Service:
    return Service.objects.create(business=business, name=name, price=price, duration_minutes=60, **fields)


def make_client(business, first_name="Anna", last_name="Berg", email="", phone="", **fields):
    return client_create(
        business=business,
        data=ClientData(first_name=first_name, last_name=last_name, email=email, phone=phone, **fields),
    )


def make_program(business, services, *, enabled=True, referee_percent="15", reward_amount=20_00, **settings):
    """A running program with one rule over `services`: 15% off for the new client, a $20 coupon for the referrer."""
    program, _ = ReferralProgram.objects.update_or_create(business=business, defaults={"enabled": enabled, **settings})
    rule = ReferralRule.objects.create(
        business=business,
        program=program,
        position=ReferralRule.objects.filter(business=business).count(),
        referee_kind="percent",
        referee_percent=Decimal(referee_percent),
        reward_kind="coupon_fixed",
        reward_amount=reward_amount,
    )
    rule.services.set(services)
    return program


def landing(response) -> str:
    """Where the redirect goes, without the signed click time (tests/referrals/test_click_time.py checks it)."""
    return re.sub(r"&ref_t=[^&#]*", "", response["Location"])


def soon(days=3):
    return timezone.now() + timedelta(days=days)


@pytest.fixture
def massage(in_scope):
    return make_service(in_scope)


@pytest.fixture
def program(in_scope, massage):
    return make_program(in_scope, [massage])


@pytest.fixture
def anna(in_scope):
    """The referrer: a client with a gmail address and a phone."""
    return make_client(in_scope, email="anna.berg@gmail.com", phone="+442079460001")
