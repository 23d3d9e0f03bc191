"""A sign-in link pressed in ten browsers at the same moment signs in exactly one of them (PostgreSQL)."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient
from django_scopes import scope

from clients.models import ClientLoginToken

from ..threads import needs_postgres, run_at_once
from .profile_helpers import ask_for_link, last_sign_in_link, profile_url, referrer_setup

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    needs_postgres()


def test_simultaneous_presses_of_one_link_give_one_session(business):
    referrer_setup(business)
    ask_for_link(HttpClient(), business, "anna.berg@gmail.com")
    path, _ = last_sign_in_link(business)
    browsers = [HttpClient() for _ in range(10)]
    for browser in browsers:
        assert browser.get(path).status_code == 200  # each holds the page with the button (and its CSRF cookie)

    def press(index: int) -> int:
        return browsers[index].post(path).status_code

    statuses, errors = run_at_once(press, threads=len(browsers))
    assert errors == []
    assert sorted(statuses) == [302] + [400] * (len(browsers) - 1)
    signed_in = [b for b in browsers if "Hi Anna" in b.get(profile_url(business)).content.decode()]
    assert len(signed_in) == 1
    with scope(business=business):
        assert ClientLoginToken.objects.get(business=business).used_at is not None
