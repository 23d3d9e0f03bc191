"""The click's time travels signed with the redirect, so the attribution window can be checked at booking."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone

from referrals.codes import click_time_from, click_token, code_for_client

pytestmark = pytest.mark.django_db


def test_the_link_carries_a_signed_click_time_that_the_booking_can_trust(client, in_scope, anna):
    code = code_for_client(business=in_scope, client=anna).code
    query = parse_qs(urlparse(client.get(f"/r/{code.lower()}")["Location"]).query)
    assert query["ref"] == [code]
    clicked = click_time_from(code, query["ref_t"][0])
    assert abs(clicked - timezone.now()) < timedelta(seconds=5)


def test_a_forged_altered_or_borrowed_token_gives_no_click_time():
    now = timezone.now().timestamp()
    genuine = click_token("ABCD2345", now=now - 86400 * 40)
    assert click_time_from("abcd-2345", genuine) is not None  # typed differently, same code
    assert click_time_from("ZZZZ2345", genuine) is None  # made for another code
    assert click_time_from("ABCD2345", genuine.replace(genuine.split(":")[0].split(".")[1], str(int(now)))) is None
    assert click_time_from("ABCD2345", "") is None
    assert click_time_from("ABCD2345", "ABCD2345.notanumber:sig") is None
