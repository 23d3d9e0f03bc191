"""Demo referral program: two rules, every client's code, two months of clicks, and friends who came through
the links in every state the board shows (pending, flagged, confirmed and rewarded, not eligible, cancelled).

Everything is made through the real services, so the discounts, coupons and tallies are what the product would
have produced. Idempotent: nothing is added once the program has rules.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone
from django_scopes import scope

from bookings.models import PaymentMethod
from bookings.services import booking_cancel, booking_complete, booking_confirm, payment_record
from businesses.models import Service
from clients.models import Client, Source
from clients.services import ClientData, client_create
from rewards.models import Coupon

from .codes import code_for_client, link_for
from .models import ClickCount, Referral, ReferralProgram, ReferralRule, ReferralSource, RewardMoment
from .services import ReferralClaim, booking_create_with_referral, sighting_hashes, sighting_record

# (first name, last name, e-mail, days ago they booked, what happened next)
FRIENDS = [
    ("Lena", "Hoffmann", "lena.hoffmann@gmail.com", 52, "paid"),
    ("Mateo", "Silva", "mateo.silva@outlook.com", 45, "paid"),
    ("Aisha", "Khan", "aisha.khan@icloud.com", 38, "paid"),
    ("Noah", "Peters", "noah.peters@fastmail.com", 31, "paid"),
    ("Sofia", "Romano", "sofia.romano@gmail.com", 24, "completed"),
    ("Ethan", "Walsh", "ethan.walsh@outlook.com", 17, "cancelled"),
    ("Mia", "Lindgren", "mia.lindgren@gmail.com", 12, "confirmed"),
    ("Kai", "Tanaka", "kai.t@mailinator.com", 6, "flagged"),
    ("Olivia", "Grant", "olivia.grant@icloud.com", -3, "requested"),
    ("Lucas", "Meyer", "lucas.meyer@gmail.com", -5, "named"),
]


def seed(context) -> None:
    business = context.business
    rng = random.Random(4242)
    zone = ZoneInfo(business.time_zone)
    with scope(business=business), timezone.override(zone):
        program, _ = ReferralProgram.objects.get_or_create(business=business)
        first_client = Client.objects.filter(business=business, is_test=False).order_by("pk").first()
        if first_client is not None:
            context.extras["referral_link"] = link_for(code_for_client(business=business, client=first_client))
        if ReferralRule.objects.filter(business=business).exists():
            return
        services = {s.name: s for s in Service.objects.filter(business=business)}
        massages = [s for name, s in services.items() if "massage" in name.lower() and s.is_active]
        massages += [s for s in services.values() if s.new_clients_only]
        programmes = [s for s in services.values() if s.is_active and s not in massages]
        _rule(business, program, 0, "Massages", massages, referee_percent=20, reward_amount=25_00)
        _rule(business, program, 1, "Memberships and programmes", programmes, referee_amount=30_00, reward_pct=15)
        program.enabled = True
        program.reward_moment = RewardMoment.CONFIRMED
        program.max_rewards_per_referrer = 10
        program.flag_auto_approve_days = 14
        program.save()

        clients = list(Client.objects.filter(business=business, erased_at__isnull=True).order_by("pk"))
        codes = [code_for_client(business=business, client=client) for client in clients]
        # The studio's regulars share the most, as in real practices.
        referrers = clients[:4]
        _clicks(business, codes, zone, rng)
        for first, last, email, days_ago, outcome in FRIENDS:
            _friend(context, rng, zone, referrers, services, massages, first, last, email, days_ago, outcome)
        # A long-standing client tries a friend's code: not eligible, and the board says why.
        regular = clients[10]
        booking_create_with_referral(
            business=business,
            client=regular,
            service=massages[0],
            starts_at=_at(timezone.localdate() + timedelta(days=2), 14, zone),
            claim=ReferralClaim(code=codes[1].code, source=ReferralSource.CODE),
            actor=context.staff,
        )
        # A regular spends one of their coupons, so the rewards show both states.
        coupon = Coupon.objects.filter(business=business, status="active").order_by("pk").first()
        if coupon is not None:
            booking_create_with_referral(
                business=business,
                client=coupon.client,
                service=massages[0],
                starts_at=_at(timezone.localdate() + timedelta(days=4), 11, zone),
                coupon_code=coupon.code,
                actor=context.staff,
            )
        # Months of history before these, so the overview has a past to compare with (referrals/demo_history.py).
        from .demo_history import seed_history

        seed_history(business=business, staff=context.staff, referrers=referrers, services=massages)


def _rule(business, program, position, name, services, *, referee_percent=0, referee_amount=0, **reward):
    rule = ReferralRule.objects.create(
        business=business,
        program=program,
        position=position,
        name=name,
        referee_kind="percent" if referee_percent else "fixed",
        referee_percent=Decimal(referee_percent),
        referee_amount=referee_amount,
        reward_kind="coupon_fixed" if "reward_amount" in reward else "coupon_percent",
        reward_amount=reward.get("reward_amount", 0),
        reward_percent=Decimal(reward.get("reward_pct", 0)),
    )
    rule.services.set(services)


def _clicks(business, codes, zone, rng) -> None:
    today = timezone.localdate()
    rows = []
    for index, code in enumerate(codes[:12]):
        weight = 6 if index < 4 else 1
        for days_ago in range(60):
            clicks = sum(rng.random() < 0.08 * weight for _ in range(3))
            if clicks:
                rows.append(
                    ClickCount(business=business, code=code, day=today - timedelta(days=days_ago), clicks=clicks)
                )
    rows += [ClickCount(business=business, code=None, day=today - timedelta(days=d), clicks=1) for d in (3, 19, 40)]
    ClickCount.objects.bulk_create(rows)


def _at(day, hour, zone) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=zone)


def _friend(context, rng, zone, referrers, services, massages, first, last, email, days_ago, outcome) -> None:
    business, staff = context.business, context.staff
    referrer = rng.choice(referrers)
    friend = client_create(
        business=business,
        data=ClientData(first_name=first, last_name=last, email=email, source=Source.CLIENT_REFERRAL),
        actor=staff,
    )
    booked_on = timezone.now() - timedelta(days=max(days_ago, 0) + 1)
    if outcome == "named":
        claim = ReferralClaim(referrer=referrer, source=ReferralSource.NAMED)
    else:
        code = code_for_client(business=business, client=referrer).code
        # The booking is made now and back-dated below, so the click is "two days before booking" from now.
        claim = ReferralClaim(code=code, source=ReferralSource.LINK, clicked_at=timezone.now() - timedelta(days=2))
    if outcome == "flagged":
        # Booked from the referrer's own phone: the same device flag, on top of a throwaway address.
        fingerprint = sighting_hashes(business=business, ip_address="203.0.113.24", user_agent="Demo phone")
        sighting_record(business=business, client=referrer, fingerprint=fingerprint)
        claim = ReferralClaim(
            code=claim.code, source=claim.source, clicked_at=claim.clicked_at, fingerprint=fingerprint
        )
    day = timezone.localdate() - timedelta(days=days_ago)
    booking = booking_create_with_referral(
        business=business,
        client=friend,
        service=rng.choice(massages),
        starts_at=_at(day, rng.choice([10, 13, 15]), zone),
        claim=claim,
        actor=staff,
        heard_about="A friend sent me a link",
    )
    Referral.objects.filter(business=business, booking=booking).update(created_at=booked_on)
    if outcome in ("paid", "completed", "confirmed", "cancelled", "flagged"):
        booking_confirm(business=business, booking=booking, actor=staff)
    if outcome in ("paid", "completed"):
        booking_complete(business=business, booking=booking, actor=staff)
    if outcome == "paid":
        for payment in booking.payments.all():
            payment_record(business=business, payment=payment, method=PaymentMethod.CARD, actor=staff)
    if outcome == "cancelled":
        booking_cancel(business=business, booking=booking, actor=staff, note="Moved abroad")
