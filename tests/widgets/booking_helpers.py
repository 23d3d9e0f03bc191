"""Shared by the widget booking flow's tests: a studio open every day, its services, and the steps as requests."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from businesses.hours import Interval, opening_hours_set
from businesses.models import Service

from ..referrals.conftest import make_client, make_program

__all__ = ["make_client", "make_program"]

EVERY_DAY = {day: (Interval(time(9), time(12)), Interval(time(13), time(17))) for day in range(7)}
DETAILS = {
    "first_name": "Bob",
    "last_name": "Stone",
    "email": "bob.stone@outlook.com",
    "phone": "+44 20 7946 0123",
    "notes": "Sore left shoulder",
    "heard_about": "friend",
}


def book_url(business, step: str = "book", **params) -> str:
    url = reverse(f"widget_public:{step}", args=[business.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def tomorrow(business) -> date:
    return timezone.now().astimezone(ZoneInfo(business.time_zone)).date() + timedelta(days=1)


def local(business, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(business.time_zone))


def ts(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def token_in(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def hidden_fields(html: str, form_index: int = 0) -> dict[str, str]:
    """The hidden inputs of the n-th POST form in a page."""
    forms = re.findall(r'<form method="post".*?</form>', html, flags=re.S)
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', forms[form_index]))


def open_details(client, business, service, start: datetime, **carry) -> str:
    """GET the details step for a slot; returns its form token."""
    response = client.get(book_url(business, "book_details"), {"service": service.pk, "start": ts(start), **carry})
    assert response.status_code == 200, response.content.decode()[:500]
    return token_in(response.content.decode())


def summary(client, business, service, start: datetime, token: str, **fields):
    data = {"service": service.pk, "start": ts(start), "token": token, **DETAILS, **fields}
    return client.post(book_url(business, "book_details"), {k: v for k, v in data.items() if v is not None})


def confirm(client, business, service, start: datetime, token: str, **fields):
    data = {"service": service.pk, "start": ts(start), "token": token, **DETAILS, **fields}
    return client.post(book_url(business, "book_confirm"), {k: v for k, v in data.items() if v is not None})


@pytest.fixture
def studio(in_scope):
    """The business, open every day 9–12 and 13–17 (London)."""
    opening_hours_set(business=in_scope, week=EVERY_DAY)
    return in_scope


@pytest.fixture
def massage(studio):
    return Service.objects.create(business=studio, name="Deep tissue massage", price=100_00, duration_minutes=60)


@pytest.fixture
def intro(studio):
    return Service.objects.create(
        business=studio, name="First visit", price=40_00, duration_minutes=30, new_clients_only=True
    )


@pytest.fixture
def anna(studio):
    return make_client(studio, "Anna", "Berg", email="anna.berg@gmail.com", phone="+442079460001")


@pytest.fixture
def program(studio, massage):
    return make_program(studio, [massage])


@pytest.fixture
def slot(studio):
    return local(studio, tomorrow(studio), 10)
