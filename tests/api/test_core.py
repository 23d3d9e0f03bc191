"""Keys, tenant scoping, the error format, pagination, rate limits and the schema."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from businesses.api_keys import api_key_revoke
from businesses.models import BusinessAPIKey
from clients.services import ClientData, client_create

from .conftest import API, error_code, new_key

pytestmark = pytest.mark.django_db


def test_no_key_is_401_with_www_authenticate(anonymous_api, world):
    response = anonymous_api.get("/api/v1/clients/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert error_code(response) == "authentication_failed"


@pytest.mark.parametrize(
    "header",
    ["Bearer nonsense", "Bearer abc.def", "Api-Key whatever", "Bearer", "Basic dXNlcjpwYXNz"],
)
def test_a_wrong_key_is_401(client, world, header):
    response = client.get("/api/v1/clients/", headers={"authorization": header})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert error_code(response) == "authentication_failed"


def test_a_key_with_a_right_prefix_and_a_wrong_secret_is_401(client, business, api, world):
    prefix = api.key.split(".")[0]
    response = client.get("/api/v1/clients/", headers={"authorization": f"Bearer {prefix}.{'x' * 32}"})
    assert response.status_code == 401


def test_a_revoked_key_is_401(client, business, owner, api, world):
    assert api.get("/api/v1/clients/").status_code == 200
    with scope(business=business):
        key = BusinessAPIKey.objects.get(business=business, prefix=api.key.split(".")[0])
        api_key_revoke(business=business, key=key, actor=owner)
    response = api.get("/api/v1/clients/")
    assert response.status_code == 401
    assert error_code(response) == "authentication_failed"


def test_an_expired_key_is_401(business, api, world):
    with scopes_disabled():
        BusinessAPIKey.objects.filter(prefix=api.key.split(".")[0]).update(
            expiry_date=timezone.now() - timedelta(seconds=1)
        )
    assert api.get("/api/v1/clients/").status_code == 401


def test_the_key_is_stored_hashed_and_its_use_recorded_once_a_minute(business, api, world):
    with scopes_disabled():
        key = BusinessAPIKey.objects.get(prefix=api.key.split(".")[0])
    assert api.key.split(".")[1] not in key.hashed_key and key.last_used_at is None
    api.get("/api/v1/clients/")
    with scopes_disabled():
        first = BusinessAPIKey.objects.get(pk=key.pk).last_used_at
    api.get("/api/v1/clients/")
    with scopes_disabled():
        assert BusinessAPIKey.objects.get(pk=key.pk).last_used_at == first
        BusinessAPIKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    api.get("/api/v1/clients/")
    with scopes_disabled():
        assert BusinessAPIKey.objects.get(pk=key.pk).last_used_at > first


def test_a_read_key_cannot_write(read_api, world):
    response = read_api.post("/api/v1/clients/", {"first_name": "Bo"})
    assert response.status_code == 403
    assert error_code(response) == "permission_denied"
    assert read_api.get("/api/v1/clients/").status_code == 200


def test_another_business_sees_only_its_own_and_gets_404_on_ids(other_api, other_business, world):
    with scope(business=other_business):
        client_create(business=other_business, data=ClientData(first_name="Theirs"))
    listed = other_api.get("/api/v1/clients/").json()["results"]
    assert [c["first_name"] for c in listed] == ["Theirs"]
    response = other_api.get(f"/api/v1/clients/{world['client'].pk}/")
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert other_api.patch(f"/api/v1/clients/{world['client'].pk}/", {"first_name": "X"}).status_code == 404
    assert other_api.post(f"/api/v1/bookings/{world['booking'].pk}/confirm/").status_code == 404


@pytest.mark.parametrize("raw_id", ["abc", "-1", "0", "99999999999999999999999999", "1.5", "%C2%B2"])
def test_ids_that_are_not_ids_are_404_in_the_error_format(api, world, raw_id):
    response = api.get(f"/api/v1/clients/{raw_id}/")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_an_unknown_address_is_a_json_404(api):
    response = api.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_validation_errors_name_their_fields(api, world):
    response = api.post("/api/v1/clients/", {"first_name": "", "email": "not-an-email", "source": "nowhere"})
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "validation_error"
    assert {"first_name", "source"} <= set(body["fields"])


def test_a_service_validation_error_becomes_field_errors_without_html(api, world):
    response = api.post("/api/v1/clients/", {"first_name": "Twin", "email": "ADA@example.com"})
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "already has this e-mail address" in fields["email"][0]
    assert "<a" not in fields["email"][0]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "nope"},
        {"client": "x"},
        {"client": "123456789012345678901234567890"},
        {"date_from": "2024-13-45"},
        {"date_from": "0001-01-01"},
        {"date_to": "yesterday"},
        {"cursor": "garbage"},
    ],
)
def test_bad_query_parameters_are_400(api, world, params):
    response = api.get("/api/v1/bookings/", params)
    assert response.status_code == 400, response.content
    assert error_code(response) == "validation_error"


@pytest.mark.parametrize(
    "body",
    [
        {"client_id": "abc", "service_id": 1, "starts_at": "2030-01-01T10:00:00Z"},
        {"client_id": 10**30, "service_id": 1, "starts_at": "2030-01-01T10:00:00Z"},
        {"client_id": 1, "service_id": 1, "starts_at": "not a date"},
        {"client_id": 1, "service_id": 1, "starts_at": "2030-01-01T10:00:00Z", "status": "completed"},
        {"service_id": 1, "starts_at": "2030-01-01T10:00:00Z"},
    ],
)
def test_bad_bodies_are_400(api, world, body):
    response = api.post("/api/v1/bookings/", body)
    assert response.status_code == 400, response.content
    assert error_code(response) == "validation_error"


def test_a_start_past_the_calendar_is_a_field_error(api, world):
    body = {
        "client_id": world["client"].pk,
        "service_id": world["service"].pk,
        "starts_at": "9999-12-31T23:30:00Z",
    }
    response = api.post("/api/v1/bookings/", body)
    assert response.status_code == 400
    assert "starts_at" in response.json()["error"]["fields"]


def test_malformed_json_is_400(api, world):
    response = api.post("/api/v1/clients/", "{not json")
    assert response.status_code == 400
    assert error_code(response) == "parse_error"


def test_lists_use_cursor_pagination(api, business, world):
    with scope(business=business):
        for i in range(5):
            client_create(business=business, data=ClientData(first_name=f"Client{i}"))
    seen, url, params = [], "/api/v1/clients/", {"page_size": 2}
    while url:
        page = api.get(url, params).json()
        assert set(page) == {"next", "previous", "results"}
        seen.extend(c["id"] for c in page["results"])
        url, params = page["next"], None
    assert len(seen) == 6 and seen == sorted(seen, reverse=True)


def test_lists_take_a_fixed_number_of_queries(api, business, world, django_assert_max_num_queries):
    with scope(business=business):
        for i in range(10):
            client_create(business=business, data=ClientData(first_name=f"Client{i}"))
    api.get("/api/v1/clients/")  # makes the referral codes once
    with django_assert_max_num_queries(8):
        assert len(api.get("/api/v1/clients/").json()["results"]) == 11


def test_rate_limit_answers_429_with_retry_after(api, world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_read": "3/minute", "api_write": "2/minute"},
    }
    for _ in range(3):
        assert api.get("/api/v1/services/").status_code == 200
    response = api.get("/api/v1/services/")
    assert response.status_code == 429
    assert error_code(response) == "rate_limited"
    assert 0 < int(response["Retry-After"]) <= 60
    # Writes are counted apart, and per key: another key of the business is not limited by this one.
    assert api.post("/api/v1/clients/", {"first_name": "W"}).status_code == 201


def test_rate_limit_is_per_key(client, business, api, world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_read": "1/minute", "api_write": "1/minute"},
    }
    assert api.get("/api/v1/services/").status_code == 200
    assert api.get("/api/v1/services/").status_code == 429
    assert API(client, new_key(business)).get("/api/v1/services/").status_code == 200


def test_the_schema_and_the_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/v1/schema/", headers={"accept": "application/json"})
    assert schema.status_code == 200
    spec = schema.json()
    assert spec["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["apiKey"]["description"],
    }
    create = spec["paths"]["/api/v1/bookings/"]["post"]
    assert {"201", "400", "401", "403", "404", "409", "422", "429"} <= set(create["responses"])
    assert "examples" in create["requestBody"]["content"]["application/json"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn.jsdelivr" not in html and "unpkg" not in html
    assert "/static/drf_spectacular_sidecar/" in html
