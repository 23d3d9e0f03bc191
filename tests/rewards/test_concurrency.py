"""Races on PostgreSQL with real threads: the wallet row lock keeps store credit and points from overdrawing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django_scopes import scope

from bookings.models import PaymentMethod
from bookings.services import payment_record
from rewards.ledger import (
    points_adjust,
    points_balance,
    points_redeem,
    store_credit_apply,
    store_credit_balance,
    store_credit_grant,
)
from rewards.models import PointsEntry, PointsProgram, StoreCreditEntry, StoreCreditKind, WalletBalance

from ..threads import needs_postgres, run_at_once
from .conftest import make_booking, make_client, make_service

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    needs_postgres()


def test_two_checkouts_applying_the_same_credit_at_once_never_overdraw(business, owner):
    with scope(business=business):
        client = make_client(business)
        booking = make_booking(business, client=client)
        store_credit_grant(business=business, client=client, amount=30_00, reason="Thanks")

    def apply(_):
        with scope(business=business):
            return store_credit_apply(business=business, client=client, amount=20_00, booking=booking, actor=owner)

    applied, errors = run_at_once(apply, threads=2)
    assert len(applied) == 1 and len(errors) == 1 and isinstance(errors[0], ValidationError)
    with scope(business=business):
        assert store_credit_balance(business=business, client=client) == 10_00
        assert StoreCreditEntry.objects.filter(business=business, kind=StoreCreditKind.APPLY).count() == 1


def test_ten_applies_at_once_take_exactly_what_there_is(business):
    with scope(business=business):
        client = make_client(business)
        booking = make_booking(business, client=client)
        for _ in range(3):
            store_credit_grant(business=business, client=client, amount=10_00, reason="Thanks")

    def apply(_):
        with scope(business=business):
            return store_credit_apply(business=business, client=client, amount=7_00, booking=booking)

    applied, errors = run_at_once(apply, threads=10)
    assert len(applied) == 4 and all(isinstance(e, ValidationError) for e in errors)
    with scope(business=business):
        total = StoreCreditEntry.objects.filter(business=business, client=client).aggregate(s=Sum("amount"))["s"]
        assert store_credit_balance(business=business, client=client) == 2_00 == total


def test_the_first_writes_for_a_client_create_one_wallet(business):
    with scope(business=business):
        client = make_client(business)

    def grant(_):
        with scope(business=business):
            return store_credit_grant(business=business, client=client, amount=1_00, reason="Thanks")

    assert run_at_once(grant, threads=8)[1] == []
    with scope(business=business):
        assert WalletBalance.objects.filter(business=business).count() == 1
        assert store_credit_balance(business=business, client=client) == 8_00


def test_points_redeemed_at_once_never_overdraw(business):
    with scope(business=business):
        PointsProgram.objects.create(business=business, enabled=True, point_value=1)
        client = make_client(business)
        booking = make_booking(business, client=client)
        points_adjust(business=business, client=client, points=100, reason="Welcome")

    def redeem(_):
        with scope(business=business):
            return points_redeem(business=business, client=client, points=60, booking=booking)

    redeemed, errors = run_at_once(redeem, threads=4)
    assert len(redeemed) == 1 and len(errors) == 3
    with scope(business=business):
        assert points_balance(business=business, client=client) == 40


def test_recording_one_payment_at_once_earns_points_once(business):
    with scope(business=business):
        PointsProgram.objects.create(business=business, enabled=True)
        client = make_client(business)
        payment = make_booking(business, client=client, service=make_service(business, price=50_00)).payments.get()

    def record(_):
        with scope(business=business):
            return payment_record(business=business, payment=payment, method=PaymentMethod.CASH)

    assert run_at_once(record, threads=6)[1] == []
    with scope(business=business):
        assert points_balance(business=business, client=client) == 50
        assert PointsEntry.objects.filter(business=business, client=client).count() == 1
