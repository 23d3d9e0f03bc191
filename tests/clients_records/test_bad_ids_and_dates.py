"""Ids and dates that `str.isdigit()` or datetime arithmetic used to turn into 500s: each is a clear answer now.

"²" passes `str.isdigit()` but not `int()`; 0001-01-01 and 9999-12-31 are valid dates whose next day, or whose
UTC midnight east of Greenwich, is not. The test client re-raises a view's exception, so a 500 fails loudly.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scope

from clients.models import Client, Segment

NOT_IDS = ["²", "١٢", "①", "1_0", "99999999999999999999999"]
EDGE_DAYS = ["0001-01-01", "9999-12-31"]


@pytest.fixture(params=["Europe/London", "Asia/Tokyo", "Pacific/Honolulu"])
def zoned(request, business):
    """East of UTC, 0001-01-01 00:00 local is in year 0 in UTC; west of it, 9999-12-31 24:00 is in year 10000."""
    business.time_zone = request.param
    business.save()
    return business


@pytest.mark.parametrize("raw", NOT_IDS)
def test_set_referrer_with_a_non_ascii_digit_is_a_clear_error(owner_client, url, make_client, in_scope, raw):
    ann = make_client("Ann")
    response = owner_client.post(url("set_referrer", ann.pk), {"referred_by": raw})
    assert response.status_code == 400
    assert "Choose the referrer from the search results" in response.content.decode()
    ann.refresh_from_db()
    assert ann.referred_by_id is None


@pytest.mark.parametrize("raw", NOT_IDS)
def test_merge_with_a_non_ascii_digit_is_a_clear_error(owner_client, url, make_client, in_scope, raw):
    ann = make_client("Ann")
    other = make_client("Ann", "Dup")
    assert owner_client.get(url("merge", ann.pk), {"other": raw}).status_code == 400
    response = owner_client.post(url("merge", ann.pk), {"other": raw})
    assert response.status_code == 400
    assert "Choose the duplicate record from the search results" in response.content.decode()
    assert Client.objects.filter(pk=other.pk).exists()


@pytest.mark.parametrize("raw", NOT_IDS)
def test_pick_ignores_an_exclude_that_is_not_an_id(staff_client, url, make_client, in_scope, raw):
    make_client("Robin", "Hood")
    response = staff_client.get(url("pick"), {"q": "rob", "exclude": raw})
    assert response.status_code == 200 and "Robin" in response.content.decode()


@pytest.mark.parametrize("raw", NOT_IDS)
def test_new_client_with_a_bad_referrer_id_is_a_field_error(owner_client, url, in_scope, raw):
    response = owner_client.post(url("new"), {"first_name": "Bo", "source": "other", "referred_by": raw})
    assert response.status_code == 400
    assert "referred_by" in response.context["form"].errors
    assert not Client.objects.filter(first_name="Bo").exists()


@pytest.mark.parametrize("raw", NOT_IDS)
def test_clients_list_refuses_bad_ids_in_filters_and_ignores_a_bad_page(owner_client, business, raw):
    index = reverse("clients:index", args=[business.slug])
    response = owner_client.get(index, {"referred_by": raw, "tag": raw, "page": raw})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Referred by:" in page and "is not a valid choice" in page


@pytest.mark.parametrize("day", EDGE_DAYS)
def test_clients_list_refuses_dates_at_the_ends_of_the_calendar(owner_client, zoned, day):
    index = reverse("clients:index", args=[zoned.slug])
    for name in ("created_from", "created_to"):
        response = owner_client.get(index, {name: day})
        assert response.status_code == 200
        assert "Choose a date between 1900 and 2999" in response.content.decode()
    export = reverse("clients:export", args=[zoned.slug])
    assert owner_client.get(export, {"created_to": day}).status_code == 400


def test_a_segment_saved_with_an_edge_date_still_opens(owner_client, business):
    with scope(business=business):
        saved = Segment.objects.create(business=business, name="Old", filters={"created_to": "9999-12-31"})
    assert owner_client.get(reverse("clients:segment", args=[business.slug, saved.pk])).status_code == 200
    count = reverse("clients:segment_count", args=[business.slug, saved.pk])
    assert owner_client.get(count).status_code == 200
