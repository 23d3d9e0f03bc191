"""The overview's daily figures: moved by the domain-event subscribers, equal to a rebuild from the source rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from bookings.checkout import checkout_apply_coupon, checkout_apply_store_credit, payment_void
from bookings.models import Booking, PaymentMethod
from bookings.services import booking_cancel, booking_complete, booking_confirm, payment_record
from clients.models import Client
from referrals.codes import code_for_client
from referrals.daily_stats import FIGURES, compute, daily_stats_compact, daily_stats_rebuild, daily_stats_refresh_recent
from referrals.models import ClickCount, Referral, ReferralDailyStats, ReferralSource, ReferralStatus
from referrals.services import ReferralClaim, booking_create_with_referral, referral_reject
from rewards.ledger import store_credit_grant
from rewards.models import Coupon

from .conftest import make_client, make_program, make_service

pytestmark = pytest.mark.django_db


def link(referrer):
    return ReferralClaim(
        code=code_for_client(business=referrer.business, client=referrer).code,
        source=ReferralSource.LINK,
        clicked_at=timezone.now() - timedelta(hours=1),
    )


def book(business, client, service, claim=None, days=3, **fields):
    return booking_create_with_referral(
        business=business,
        client=client,
        service=service,
        starts_at=timezone.now() + timedelta(days=days),
        claim=claim,
        **fields,
    )


def stored(business) -> dict:
    """The incremental rows summed as {(day, service): {figure: value}} (a change adds a row), zeros left out."""
    sums: dict = {}
    for row in ReferralDailyStats.objects.filter(business=business):
        values = sums.setdefault((row.day, row.service_key), dict.fromkeys(FIGURES, 0))
        for name in FIGURES:
            values[name] += getattr(row, name)
    return {key: values for key, values in sums.items() if any(values.values())}


def rebuilt(business, *, without_clicks=True) -> dict:
    out = {}
    for key, values in compute(business).items():
        values = dict(values)
        if without_clicks:
            values["clicks"] = 0
        if any(values.values()):
            out[key] = values
    return out


def totals(business) -> dict:
    found = {name: 0 for name in FIGURES}
    for values in stored(business).values():
        for name, value in values.items():
            found[name] += value
    return found


def test_incremental_figures_equal_the_rebuild_after_a_realistic_sequence(in_scope, owner):
    business = in_scope
    massage = make_service(business, price=100_00)
    facial = make_service(business, name="Facial", price=60_00)
    make_program(business, [massage, facial])
    anna = make_client(business, "Anna", "Berg", email="anna@example.com")
    # Anna is a regular: a first booking, confirmed and completed, before any referral.
    own = book(business, anna, massage)
    booking_confirm(business=business, booking=own, actor=owner)
    # Bob comes through her link and is confirmed: Anna earns a coupon.
    bob = make_client(business, "Bob", "Stone", email="bob@example.com")
    bob_first = book(business, bob, massage, link(anna))
    booking_confirm(business=business, booking=bob_first, actor=owner)
    booking_complete(business=business, booking=bob_first, actor=owner)
    # Bob comes back: a referred client's second booking counts as referred revenue too.
    bob_again = book(business, bob, facial, days=10)
    booking_confirm(business=business, booking=bob_again, actor=owner)
    # Carl books through the link and cancels: the referral is cancelled, nothing is counted as revenue.
    carl = make_client(business, "Carl", "Dunn", email="carl@example.com")
    carl_first = book(business, carl, massage, link(anna))
    booking_confirm(business=business, booking=carl_first, actor=owner)
    booking_cancel(business=business, booking=carl_first, actor=owner)
    # Dina's referral is rejected after review.
    dina = make_client(business, "Dina", "Eve", email="dina@example.com")
    book(business, dina, facial, link(anna))
    referral_reject(business=business, referral=Referral.objects.get(referee=dina), actor=owner, reason="Unknown")
    # Anna redeems her coupon and some store credit at checkout, then a payment is voided and recorded again.
    anna_second = book(business, anna, massage, days=5)
    booking_confirm(business=business, booking=anna_second, actor=owner)
    coupon = Coupon.objects.get(client=anna, status="active")
    checkout_apply_coupon(business=business, booking=anna_second, code=coupon.code, actor=owner)
    store_credit_grant(business=business, client=anna, amount=10_00, reason="Welcome back", actor=owner)
    checkout_apply_store_credit(business=business, booking=anna_second, amount=5_00, actor=owner)
    payment = anna_second.payments.get()
    payment_record(business=business, payment=payment, method=PaymentMethod.CARD, actor=owner)
    payment_void(business=business, payment=payment, actor=owner, reason="Wrong card")
    checkout_apply_coupon(business=business, booking=anna_second, code=coupon.code, actor=owner)
    checkout_apply_store_credit(business=business, booking=anna_second, amount=3_00, actor=owner)
    # A test-drive booking is left out everywhere.
    tester = make_client(business, "Test", "Friend", email="tester@example.com")
    Client.objects.filter(pk=tester.pk).update(is_test=True)
    tester.refresh_from_db()
    book(business, tester, massage, link(anna), is_test=True)
    # Clicks arrive by flush: the rebuild copies them.
    anna_code = code_for_client(business=business, client=anna)
    ClickCount.objects.create(business=business, code=anna_code, day=date.today(), clicks=7)

    assert stored(business) == rebuilt(business)
    # Folding the rows of differences changes no figure and leaves one row per key; a second pass changes nothing.
    before = stored(business)
    newest = daily_stats_compact()
    keys = list(ReferralDailyStats.objects.filter(business=business).values_list("day", "service_key"))
    assert len(keys) == len(set(keys)) and stored(business) == before
    assert daily_stats_compact(after_id=newest) == newest
    figures = totals(business)
    assert figures["referrals"] == 3  # Bob, Carl, Dina (the test drive is left out)
    assert figures["confirmed"] == 2  # Bob and Carl (confirmed before he cancelled)
    assert figures["lost"] == 2  # Carl cancelled, Dina rejected
    assert figures["new_clients"] == 4  # Anna, Bob, Carl, Dina
    assert figures["new_referred_clients"] == 3
    assert figures["referred_revenue"] == 85_00 + 60_00  # Bob's two bookings (15% off the first)
    assert figures["cost_referral"] == 15_00  # Bob's; Carl's booking was cancelled, Dina's never confirmed
    assert figures["cost_coupon"] == 20_00
    assert figures["cost_store_credit"] == 3_00  # the void gave the coupon and 5.00 back; used again: 3.00

    daily_stats_rebuild(business=business)
    assert stored(business) == rebuilt(business, without_clicks=False)
    assert totals(business)["clicks"] == 7
    assert totals(business)["referred_revenue"] == 145_00


def test_the_rebuild_repairs_drift_and_the_command_backfills(in_scope, owner):
    business = in_scope
    massage = make_service(business)
    make_program(business, [massage])
    anna = make_client(business, "Anna", email="anna@example.com")
    bob = make_client(business, "Bob", email="bob@example.com")
    booking = book(business, bob, massage, link(anna))
    booking_confirm(business=business, booking=booking, actor=owner)
    ReferralDailyStats.objects.filter(business=business).update(referrals=99, referred_revenue=1)
    ReferralDailyStats.objects.create(business=business, day=date(2020, 1, 1), referrals=5)
    call_command("rebuild_referral_stats", business=business.slug)
    assert stored(business) == rebuilt(business)
    assert totals(business)["referrals"] == 1
    assert totals(business)["referred_revenue"] == 85_00


def test_the_nightly_refresh_copies_the_clicks_of_recent_days(in_scope):
    business = in_scope
    anna = make_client(business, "Anna", email="anna@example.com")
    code = code_for_client(business=business, client=anna)
    today = timezone.localdate()
    ClickCount.objects.create(business=business, code=code, day=today - timedelta(days=1), clicks=4)
    ClickCount.objects.create(business=business, code=None, day=today - timedelta(days=2), clicks=2)
    daily_stats_refresh_recent()
    assert totals(business)["clicks"] == 6


def test_days_are_the_businesses_local_days_across_a_dst_change(owner, business):
    from django_scopes import scope

    business.time_zone = "America/New_York"
    business.save()
    with scope(business=business):
        massage = make_service(business)
        make_program(business, [massage])
        anna = make_client(business, "Anna", email="anna@example.com")
        bob = make_client(business, "Bob", email="bob@example.com")
        # 8 March 2026, 03:30 UTC is 7 March, 22:30 in New York (clocks go forward later that night).
        starts = datetime(2026, 3, 8, 3, 30, tzinfo=UTC)
        booking = booking_create_with_referral(
            business=business, client=bob, service=massage, starts_at=starts, claim=link(anna)
        )
        Booking.objects.filter(pk=booking.pk).update(created_at=starts - timedelta(days=2))
        booking_confirm(business=business, booking=booking, actor=owner)
        revenue_days = {row.day for row in ReferralDailyStats.objects.filter(referred_revenue__gt=0)}
        assert revenue_days == {date(2026, 3, 7)}
        daily_stats_rebuild(business=business)
        assert stored(business) == rebuilt(business)
        assert {row.day for row in ReferralDailyStats.objects.filter(referred_revenue__gt=0)} == {date(2026, 3, 7)}
        assert Referral.objects.get().status == ReferralStatus.CONFIRMED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_compaction_running_beside_changes_loses_and_doubles_nothing(business):
    from django.db import transaction
    from django_scopes import scope

    from referrals.daily_stats import stats_add

    from ..threads import needs_postgres, run_at_once

    needs_postgres()
    day = date(2026, 5, 1)

    def work(index):
        for _ in range(20):
            if index == 0:
                daily_stats_compact()
            else:
                with transaction.atomic():
                    stats_add(business, day, 0, referrals=1, referred_revenue=250)

    _, errors = run_at_once(work, threads=8)
    assert errors == []
    daily_stats_compact()
    with scope(business=business):
        [row] = ReferralDailyStats.objects.filter(business=business)
    assert (row.referrals, row.referred_revenue) == (7 * 20, 7 * 20 * 250)
