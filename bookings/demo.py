"""Demo services and a year of bookings: completed and paid visits, upcoming ones, a cancellation, a no-show."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django_scopes import scope

from businesses.models import PaymentPlan, PlanInterval, Service
from clients.models import Client

from .models import Booking, Channel, PaymentMethod
from .services import (
    booking_cancel,
    booking_complete,
    booking_confirm,
    booking_create,
    booking_mark_no_show,
    payment_record,
)

SERVICES = [
    dict(name="Swedish massage, 60 minutes", price=9500, duration_minutes=60,
         description="A calming full-body massage with long, flowing strokes."),
    dict(name="Deep tissue massage, 90 minutes", price=13500, duration_minutes=90,
         description="Slow, firm work on chronic tension in the back, neck and shoulders."),
    dict(name="First visit: 30-minute introduction", price=4500, duration_minutes=30, new_clients_only=True,
         description="Meet your therapist, talk through your goals and try a short treatment."),
    dict(name="Prenatal massage, 4-session package", price=9000, duration_minutes=60,
         payment_plan=PaymentPlan.PER_SESSION, plan_count=4, plan_interval=PlanInterval.WEEK,
         description="Side-lying massage for the second and third trimester, paid session by session."),
    dict(name="Wellness membership", price=7900, duration_minutes=60, payment_plan=PaymentPlan.MEMBERSHIP,
         plan_count=12, plan_interval=PlanInterval.MONTH,
         description="One 60-minute massage a month, billed monthly for a year."),
    dict(name="Sports recovery programme", price=36000, duration_minutes=45, payment_plan=PaymentPlan.INSTALMENTS,
         plan_count=3, plan_interval=PlanInterval.MONTH,
         description="Eight treatments over three months for athletes in training, paid in three instalments."),
    dict(name="Hot stone massage (retired)", price=11000, duration_minutes=75, is_active=False, online_bookable=False,
         description="No longer offered; kept for the history of past bookings."),
]  # fmt: skip
OPENING_HOURS = [9, 10, 11, 13, 14, 15, 16, 17]


def seed(context) -> None:
    business = context.business
    rng = random.Random(1123)
    zone = ZoneInfo(business.time_zone)
    with scope(business=business), timezone.override(zone):
        services = [
            Service.objects.get_or_create(business=business, name=spec["name"], defaults=spec)[0] for spec in SERVICES
        ]
        if Booking.objects.filter(business=business).exists():
            return
        bookable = [s for s in services if s.is_active and not s.new_clients_only]
        intro = next(s for s in services if s.new_clients_only)
        clients = list(Client.objects.filter(business=business).order_by("created_at"))
        today = timezone.localdate()
        for client in clients:
            first_day = max(client.created_at.astimezone(zone).date(), today - timedelta(days=330))
            visits = rng.choice([1, 1, 2, 3, 4, 6])
            for number in range(visits):
                day = first_day + timedelta(days=number * rng.randint(20, 45) + rng.randint(0, 6))
                if day >= today or day.weekday() == 6:
                    continue
                service = intro if number == 0 and rng.random() < 0.35 else rng.choice(bookable)
                booking = _book(business, client, service, day, zone, rng, context)
                if rng.random() < 0.06:
                    booking_cancel(business=business, booking=booking, actor=context.staff, note="Client was unwell")
                    continue
                booking_confirm(business=business, booking=booking, actor=context.staff)
                if rng.random() < 0.04:
                    booking_mark_no_show(business=business, booking=booking, actor=context.staff)
                    continue
                booking_complete(business=business, booking=booking, actor=context.staff)
                for payment in booking.payments.filter(due_on__lte=today):
                    payment_record(
                        business=business,
                        payment=payment,
                        method=rng.choice([PaymentMethod.CARD, PaymentMethod.CARD, PaymentMethod.CASH]),
                        actor=context.staff,
                    )
        # The coming two weeks: a realistic mix of confirmed and requested bookings.
        for offset in range(1, 15):
            day = today + timedelta(days=offset)
            if day.weekday() == 6:
                continue
            for _ in range(rng.randint(2, 5)):
                client = rng.choice(clients)
                service = rng.choice(bookable)
                booking = _book(business, client, service, day, zone, rng, context)
                if rng.random() < 0.7:
                    booking_confirm(business=business, booking=booking, actor=context.staff)


def _book(business, client, service, day, zone, rng, context) -> Booking:
    starts_at = datetime.combine(day, time(rng.choice(OPENING_HOURS), rng.choice([0, 30])), tzinfo=zone)
    return booking_create(
        business=business,
        client=client,
        service=service,
        starts_at=starts_at,
        actor=context.staff,
        channel=rng.choice([Channel.STAFF, Channel.ONLINE]),
        notes=rng.choice(["", "", "Running 5 minutes late", "Please focus on shoulders"]),
    )
