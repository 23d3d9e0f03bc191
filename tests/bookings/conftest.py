from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bookings.services import booking_create
from businesses.models import PaymentPlan, PlanInterval, Service
from clients.services import ClientData, client_create


def make_service(business, name="Deep tissue massage", price=6000, **fields) -> Service:
    return Service.objects.create(business=business, name=name, price=price, duration_minutes=60, **fields)


def make_client(business, first_name="Ada", last_name="Lovelace", email="", **fields):
    return client_create(
        business=business, data=ClientData(first_name=first_name, last_name=last_name, email=email, **fields)
    )


def local(business, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(business.time_zone))


def default_service(business) -> Service:
    return Service.objects.filter(business=business, name="Deep tissue massage").first() or make_service(business)


def make_booking(business, client=None, service=None, starts_at=None, **fields):
    return booking_create(
        business=business,
        client=client or make_client(business),
        service=service or default_service(business),
        starts_at=starts_at or local(business, 2030, 5, 6, 10, 0),
        **fields,
    )


@pytest.fixture
def service(in_scope):
    return make_service(in_scope)


@pytest.fixture
def instalment_service(in_scope):
    return make_service(
        in_scope,
        name="Ten-week programme",
        price=100_00,
        payment_plan=PaymentPlan.INSTALMENTS,
        plan_count=3,
        plan_interval=PlanInterval.MONTH,
    )


@pytest.fixture
def ada(in_scope):
    return make_client(in_scope, email="ada@example.com")


@pytest.fixture
def booking(in_scope, ada, service):
    return make_booking(in_scope, client=ada, service=service)


@pytest.fixture
def tomorrow_10(in_scope):
    from django.utils import timezone

    day = timezone.now().astimezone(ZoneInfo(in_scope.time_zone)).date() + timedelta(days=1)
    return local(in_scope, day.year, day.month, day.day, 10, 0)
