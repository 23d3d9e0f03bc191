from __future__ import annotations

import pytest
from django.core.cache import cache
from django_scopes import scope

from businesses.models import Role

from .factories import BusinessFactory, make_member


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache():
    """Redis outlives a test; each test starts with an empty cache (rate limits, cached lookups)."""
    cache.clear()
    yield


@pytest.fixture
def business(db):
    return BusinessFactory()


@pytest.fixture
def owner(business):
    return make_member(business, Role.OWNER)


@pytest.fixture
def staff(business):
    return make_member(business, Role.STAFF)


@pytest.fixture
def other_business(db):
    return BusinessFactory()


@pytest.fixture
def outsider(other_business):
    """The owner of another business: signed in, but must see 404 for everything of `business`."""
    return make_member(other_business, Role.OWNER)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client


@pytest.fixture
def in_scope(business):
    with scope(business=business):
        yield business
