from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from businesses.models import Service
from clients.services import ClientData, client_create


@pytest.fixture
def service(in_scope):
    return Service.objects.create(business=in_scope, name="Massage", price=6000, duration_minutes=60)


@pytest.fixture
def make_client(in_scope):
    def make(first_name="Ann", last_name="Lee", business=None, referred_by=None, **fields):
        target = business or in_scope
        with scope(business=target):
            return client_create(
                business=target,
                data=ClientData(first_name=first_name, last_name=last_name, **fields),
                referred_by=referred_by,
            )

    return make


@pytest.fixture
def make_booking(in_scope, service):
    from bookings.services import booking_create

    def make(client, *, days=1, notes="", heard_about="", business=None, on_service=None):
        target = business or in_scope
        with scope(business=target):
            return booking_create(
                business=target,
                client=client,
                service=on_service or service,
                starts_at=timezone.now() + timedelta(days=days),
                notes=notes,
                heard_about=heard_about,
            )

    return make


@pytest.fixture
def url(business):
    def build(name, *args):
        return reverse(f"clients:{name}", args=[business.slug, *args])

    return build
