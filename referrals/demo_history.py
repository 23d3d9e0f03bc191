"""Six months of referral history for the demo, so the overview has a past to compare with.

Friends are booked through the real services (discounts, rewards and daily figures as the product makes them),
then their rows are dated back to when they "happened"; the daily figures are rebuilt from the rows at the end,
which is also what puts the demo's clicks into them.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from bookings.models import Booking, PaymentMethod
from bookings.services import booking_complete, booking_confirm, payment_record
from clients.models import Client, Source
from clients.services import ClientData, client_create

from .codes import code_for_client
from .daily_stats import daily_stats_rebuild
from .models import ClickCount, Referral, ReferralSource
from .services import ReferralClaim, booking_create_with_referral

FIRST = ["Hannah", "Jonas", "Priya", "Tom", "Elif", "Marek", "Chloe", "Omar", "Ines", "Felix", "Yara", "Ben"]
LAST = ["Novak", "Berg", "Costa", "Reid", "Aydin", "Kral", "Dubois", "Haddad", "Lopes", "Brandt", "Saleh", "Ford"]


def seed_history(*, business, staff, referrers: list[Client], services, months: int = 6) -> None:
    rng = random.Random(2026)
    zone = ZoneInfo(business.time_zone)
    today = timezone.localdate()
    codes = [code_for_client(business=business, client=referrer) for referrer in referrers]
    n = 0
    for month in range(2, months + 1):
        for _ in range(rng.randint(2, 4)):
            first, last = FIRST[n % len(FIRST)], LAST[(n * 5) % len(LAST)]
            n += 1
            day = today - timedelta(days=30 * month + rng.randint(0, 25))
            when = datetime.combine(day, time(rng.choice([10, 13, 16])), tzinfo=zone)
            friend = client_create(
                business=business,
                data=ClientData(
                    first_name=first,
                    last_name=last,
                    email=f"{first}.{last}.{n}@example.com".lower(),
                    source=Source.CLIENT_REFERRAL,
                ),
                actor=staff,
            )
            claim = ReferralClaim(code=rng.choice(codes).code, source=ReferralSource.LINK, clicked_at=timezone.now())
            booking = booking_create_with_referral(
                business=business, client=friend, service=rng.choice(services), starts_at=when, claim=claim, actor=staff
            )
            booked = when - timedelta(days=rng.randint(2, 6))
            done = rng.random() < 0.8
            if done:
                booking_confirm(business=business, booking=booking, actor=staff)
                booking_complete(business=business, booking=booking, actor=staff)
                for payment in booking.payments.all():
                    payment_record(business=business, payment=payment, method=PaymentMethod.CARD, actor=staff)
            Booking.objects.filter(business=business, pk=booking.pk).update(created_at=booked)
            Client.objects.filter(business=business, pk=friend.pk).update(created_at=booked)
            Referral.objects.filter(business=business, booking=booking).update(
                created_at=booked, confirmed_at=when if done else None
            )
    # Clicks before the two months referrals/demo.py already counts.
    rows = []
    for back in range(60, 30 * months):
        for code in codes:
            if rng.random() < 0.35:
                rows.append(
                    ClickCount(business=business, code=code, day=today - timedelta(days=back), clicks=rng.randint(1, 4))
                )
    ClickCount.objects.bulk_create(rows, ignore_conflicts=True)
    # The demo's other referrals were booked "days ago" but their bookings were made today: date those too.
    for referral in Referral.objects.filter(business=business, booking__isnull=False).select_related("booking"):
        if referral.created_at < referral.booking.created_at:
            Booking.objects.filter(business=business, pk=referral.booking_id).update(created_at=referral.created_at)
            if referral.confirmed_at and referral.booking.starts_at < referral.confirmed_at:
                Referral.objects.filter(business=business, pk=referral.pk).update(
                    confirmed_at=referral.booking.starts_at
                )
    daily_stats_rebuild(business=business)
