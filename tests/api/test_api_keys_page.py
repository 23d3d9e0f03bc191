"""The dashboard's API keys page: owner only, the key shown once, revoking refuses the key at once."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django_scopes import scope

from businesses.models import AuditLog, BusinessAPIKey

from .conftest import API

pytestmark = pytest.mark.django_db


def test_creating_a_key_shows_it_once_and_keeps_only_its_hash(owner_client, client, business, world):
    url = reverse("businesses:api_keys", args=[business.slug])
    response = owner_client.post(url, {"name": "Booking system", "scope": "read_write"})
    assert response.status_code == 200
    raw = re.search(r'data-testid="new-api-key">([^<]+)<', response.content.decode()).group(1)
    with scope(business=business):
        key = BusinessAPIKey.objects.get(business=business)
        assert (key.name, key.scope, key.created_by) == ("Booking system", "read_write", response.wsgi_request.user)
        assert raw.split(".")[1] not in key.hashed_key
        assert AuditLog.objects.filter(business=business, action="api_key.created").exists()
    page = owner_client.get(url).content.decode()
    assert raw not in page and key.prefix in page and "never" in page
    assert API(client, raw).get("/api/v1/clients/").status_code == 200


def test_a_nameless_key_is_refused(owner_client, business):
    response = owner_client.post(reverse("businesses:api_keys", args=[business.slug]), {"name": " ", "scope": "read"})
    assert response.status_code == 400
    with scope(business=business):
        assert not BusinessAPIKey.objects.filter(business=business).exists()


def test_revoking_refuses_the_key(owner_client, client, business, owner, api, world):
    prefix = api.key.split(".")[0]
    response = owner_client.post(reverse("businesses:api_key_revoke", args=[business.slug, prefix]))
    assert response.status_code == 302
    assert api.get("/api/v1/clients/").status_code == 401
    page = owner_client.get(reverse("businesses:api_keys", args=[business.slug])).content.decode()
    assert "revoked" in page


def test_staff_cannot_see_or_make_keys(staff_client, business):
    url = reverse("businesses:api_keys", args=[business.slug])
    assert staff_client.get(url).status_code == 403
    assert staff_client.post(url, {"name": "Mine", "scope": "read_write"}).status_code == 403


def test_another_business_cannot_revoke_this_key(client, outsider, other_business, api, world):
    client.force_login(outsider)
    prefix = api.key.split(".")[0]
    response = client.post(reverse("businesses:api_key_revoke", args=[other_business.slug, prefix]))
    assert response.status_code == 404
    client.logout()
    assert api.get("/api/v1/clients/").status_code == 200


def test_the_settings_tabs_link_the_page(owner_client, business):
    page = owner_client.get(reverse("businesses:team", args=[business.slug])).content.decode()
    assert reverse("businesses:api_keys", args=[business.slug]) in page
