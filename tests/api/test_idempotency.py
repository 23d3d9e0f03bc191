"""Idempotency-Key on POST: replay, mismatch, refusal not stored, expiry; and concurrent duplicates on PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from businesses.models import IdempotencyRecord
from businesses.tasks import idempotency_cleanup
from clients.models import Client
from referrals_saas.api.idempotency import fingerprint

from ..threads import needs_postgres, run_at_once
from .conftest import API, error_code, new_key

pytestmark = pytest.mark.django_db


def _clients(business, first_name) -> int:
    with scope(business=business):
        return Client.objects.filter(business=business, first_name=first_name).count()


def test_a_retry_gets_the_first_response(api, business, world):
    first = api.post("/api/v1/clients/", {"first_name": "Once"}, **{"Idempotency-Key": "k-1"})
    again = api.post("/api/v1/clients/", {"first_name": "Once"}, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert _clients(business, "Once") == 1


def test_without_a_key_each_post_acts(api, business, world):
    api.post("/api/v1/clients/", {"first_name": "Twice"})
    api.post("/api/v1/clients/", {"first_name": "Twice"})
    assert _clients(business, "Twice") == 2


def test_the_same_key_with_another_body_is_422(api, business, world):
    api.post("/api/v1/clients/", {"first_name": "A"}, **{"Idempotency-Key": "k-2"})
    response = api.post("/api/v1/clients/", {"first_name": "B"}, **{"Idempotency-Key": "k-2"})
    assert response.status_code == 422
    assert error_code(response) == "idempotency_key_reused"
    assert _clients(business, "B") == 0


def test_keys_belong_to_one_api_key(client, api, business, world):
    api.post("/api/v1/clients/", {"first_name": "Mine"}, **{"Idempotency-Key": "shared"})
    other = API(client, new_key(business))
    assert other.post("/api/v1/clients/", {"first_name": "Mine"}, **{"Idempotency-Key": "shared"}).status_code == 201
    assert _clients(business, "Mine") == 2


def test_a_refused_request_is_not_stored_so_a_corrected_retry_runs(api, business, world):
    refused = api.post("/api/v1/clients/", {"first_name": ""}, **{"Idempotency-Key": "k-3"})
    assert refused.status_code == 400
    with scope(business=business):
        assert not IdempotencyRecord.objects.filter(business=business, key="k-3").exists()
    retried = api.post("/api/v1/clients/", {"first_name": ""}, **{"Idempotency-Key": "k-3"})
    assert retried.status_code == 400 and "Idempotent-Replayed" not in retried


def test_a_request_in_progress_is_409(api, business, world):
    from businesses.models import BusinessAPIKey

    class Same:
        method, body = "POST", json.dumps({"first_name": "C"}).encode()

        def get_full_path(self):
            return "/api/v1/clients/"

    with scope(business=business):
        key = BusinessAPIKey.objects.get(business=business, prefix=api.key.split(".")[0])
        IdempotencyRecord.objects.create(business=business, api_key=key, key="busy", fingerprint=fingerprint(Same()))
    response = api.post("/api/v1/clients/", {"first_name": "C"}, **{"Idempotency-Key": "busy"})
    assert response.status_code == 409
    assert error_code(response) == "conflict"
    assert _clients(business, "C") == 0


def test_a_bad_idempotency_key_is_400(api, world):
    response = api.post("/api/v1/clients/", {"first_name": "D"}, **{"Idempotency-Key": "x" * 300})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]


def test_records_expire_after_a_day(api, business, world):
    api.post("/api/v1/clients/", {"first_name": "Old"}, **{"Idempotency-Key": "k-4"})
    with scopes_disabled():
        IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    # An expired record no longer replays: the request runs again.
    assert "Idempotent-Replayed" not in api.post(
        "/api/v1/clients/", {"first_name": "Old"}, **{"Idempotency-Key": "k-4"}
    )
    assert _clients(business, "Old") == 2
    with scopes_disabled():
        IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_cleanup() == 1
    with scopes_disabled():
        assert not IdempotencyRecord.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_one_object(business, owner, world):
    needs_postgres()
    key = new_key(business, owner=owner)

    def post(_):
        response = API(DjangoClient(), key).post(
            "/api/v1/clients/", {"first_name": "Racer"}, **{"Idempotency-Key": "race"}
        )
        return response.status_code, response.get("Idempotent-Replayed")

    results, errors = run_at_once(post, threads=10)
    assert not errors, errors
    assert _clients(business, "Racer") == 1
    statuses = [status for status, _ in results]
    assert statuses.count(201) >= 1
    assert all(status == 409 or (status == 201) for status in statuses), statuses
    assert sum(1 for status, replayed in results if status == 201 and not replayed) == 1
