from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope

from bookings.services import booking_create
from businesses.api_keys import api_key_create
from businesses.models import Service
from clients.services import ClientData, client_create


class API:
    """The Django test client speaking JSON with `Authorization: Bearer <key>` (or no key at all)."""

    def __init__(self, client, key: str | None):
        self.client = client
        self.key = key

    def headers(self, extra=None) -> dict:
        headers = {"authorization": f"Bearer {self.key}"} if self.key else {}
        return {**headers, **(extra or {})}

    def get(self, path, params=None, **extra):
        return self.client.get(path, params or {}, headers=self.headers(extra))

    def _send(self, method, path, body, extra):
        payload = body if isinstance(body, str | bytes) else json.dumps(body if body is not None else {})
        return getattr(self.client, method)(path, payload, content_type="application/json", headers=self.headers(extra))

    def post(self, path, body=None, **extra):
        return self._send("post", path, body, extra)

    def put(self, path, body=None, **extra):
        return self._send("put", path, body, extra)

    def patch(self, path, body=None, **extra):
        return self._send("patch", path, body, extra)

    def delete(self, path, **extra):
        return self.client.delete(path, headers=self.headers(extra))


def new_key(business, scope_="read_write", owner=None) -> str:
    with scope(business=business):
        return api_key_create(business=business, name=f"{scope_} key", scope=scope_, actor=owner)[1]


@pytest.fixture
def api(client, business, owner):
    """The owner's read-write key."""
    return API(client, new_key(business, "read_write", owner))


@pytest.fixture
def read_api(client, business, owner):
    return API(client, new_key(business, "read", owner))


@pytest.fixture
def other_api(client, other_business, outsider):
    """A read-write key of another business."""
    return API(client, new_key(other_business, "read_write", outsider))


@pytest.fixture
def anonymous_api(client):
    return API(client, None)


@pytest.fixture
def world(business):
    """A service, a client and a booking of `business`."""
    with scope(business=business):
        service = Service.objects.create(business=business, name="Massage", price=6000, duration_minutes=60)
        client = client_create(
            business=business, data=ClientData(first_name="Ada", last_name="Lovelace", email="ada@example.com")
        )
        booking = booking_create(
            business=business, client=client, service=service, starts_at=timezone.now() + timedelta(days=2)
        )
    return {"service": service, "client": client, "booking": booking}


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]["code"]
