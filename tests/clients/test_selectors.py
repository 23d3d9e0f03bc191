from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict
from django.utils import timezone
from django_scopes import scope

from clients.models import Client, Source, Tag
from clients.privacy import client_erase
from clients.selectors import (
    ClientFilters,
    capped_count,
    client_page,
    client_queryset,
    export_rows,
    tags_with_counts,
)
from clients.services import ClientData, client_create, client_set_referrer


def make_client(business, first_name, last_name="", *, email="", phone="", source=Source.OTHER, tags=(), **figures):
    """A client created through the service, then given visit figures directly (as bookings would move them)."""
    with scope(business=business):
        client = client_create(
            business=business,
            data=ClientData(
                first_name=first_name, last_name=last_name, email=email, phone=phone, source=source, tags=list(tags)
            ),
        )
        if figures:
            Client.objects.filter(business=business, pk=client.pk).update(**figures)
            client.refresh_from_db()
    return client


def names(business, **params) -> set[str]:
    filters = ClientFilters.from_querydict(params)
    assert filters.errors == [], filters.errors
    with scope(business=business):
        return {c.first_name for c in client_queryset(business=business, filters=filters)}


def days_ago(n: int):
    return timezone.now() - timedelta(days=n)


class TestParsing:
    def test_empty_querydict_means_no_filter(self):
        filters = ClientFilters.from_querydict(QueryDict(""))
        assert filters.is_empty
        assert filters.errors == []

    def test_every_field_is_read(self):
        query = QueryDict(
            "q=+anna++smith+&referrer=1&source=client_referral&referred_by=7&tag=3&last_visit_less_than=90"
            "&last_visit_more_than=30&visits_more_than=2&visits_less_than=10&created_from=2026-01-01"
            "&created_to=2026-02-01&page=3&unknown=x"
        )
        filters = ClientFilters.from_querydict(query)
        assert filters.errors == []
        assert filters == ClientFilters(
            q="anna smith",
            referrer=True,
            source="client_referral",
            referred_by=7,
            tag=3,
            last_visit_less_than=90,
            last_visit_more_than=30,
            visits_more_than=2,
            visits_less_than=10,
            created_from=date(2026, 1, 1),
            created_to=date(2026, 2, 1),
        )

    @pytest.mark.parametrize(
        "query,message",
        [
            ("visits_more_than=abc", "“abc” is not a whole number of visits"),
            ("visits_less_than=-1", "between 0 and"),
            ("last_visit_more_than=1.5", "not a whole number of days"),
            ("created_from=2026-13-40", "“2026-13-40” is not a date"),
            ("created_to=yesterday", "is not a date"),
            ("source=friends", "not one of the listed sources"),
            ("tag=vip", "not a valid choice"),
            ("referred_by=-3", "not a valid choice"),
            ("referrer=maybe", "should be on or off"),
            ("last_visit_less_than=30&last_visit_more_than=90", "leave no days in between"),
            ("never_visited=1&last_visit_more_than=90", "choose one"),
            ("visits_more_than=3&visits_less_than=4", "no number of visits"),
            ("visits_less_than=0", "fewer than 0"),
            ("created_from=2026-03-01&created_to=2026-02-01", "start date is after the end date"),
            ("q=" + "x" * 101, "at most 100 characters"),
        ],
    )
    def test_bad_values_become_messages_not_exceptions(self, query, message):
        filters = ClientFilters.from_querydict(QueryDict(query))
        assert any(message in error for error in filters.errors), filters.errors

    def test_a_bad_value_leaves_the_other_filters_applied(self):
        filters = ClientFilters.from_querydict(QueryDict("visits_more_than=abc&referrer=1"))
        assert filters.visits_more_than is None
        assert filters.referrer is True

    def test_round_trip_through_a_segment_and_a_query_string(self):
        filters = ClientFilters.from_querydict(
            QueryDict("q=anna&referrer=1&tag=4&created_from=2026-01-31&never_visited=on")
        )
        stored = filters.to_dict()
        assert stored == {"q": "anna", "referrer": True, "tag": 4, "created_from": "2026-01-31", "never_visited": True}
        assert ClientFilters.from_dict(stored) == filters
        assert ClientFilters.from_querydict(QueryDict(filters.querystring())) == filters
        assert "page=2" in filters.querystring(page=2)

    def test_without_removes_one_filter(self):
        filters = ClientFilters(q="anna", referrer=True, tag=3)
        assert filters.without("referrer").to_dict() == {"q": "anna", "tag": 3}
        assert filters.without("q").to_dict() == {"referrer": True, "tag": 3}


@pytest.mark.django_db
class TestEachFilter:
    def test_search_on_name_email_and_phone(self, business):
        make_client(business, "Anna", "Smith", email="anna@example.com", phone="07911 123456")
        make_client(business, "Bert", "Annandale", email="bert@example.org")
        make_client(business, "Carla", "Jones", email="carla@annex.example")
        make_client(business, "Dev", "Patel", phone="020 7946 0018")
        assert names(business, q="ann") == {"Anna", "Bert", "Carla"}
        assert names(business, q="ANNA SMITH") == {"Anna"}
        assert names(business, q="smith bert") == set()
        assert names(business, q="example.org") == {"Bert"}
        assert names(business, q="07911 123456") == {"Anna"}
        assert names(business, q="+44 20 7946") == {"Dev"}
        assert names(business, q="7946") == {"Dev"}

    def test_one_or_two_letters_match_the_start_of_a_name(self, business):
        make_client(business, "Joanna", "Kim", email="kim@example.com")
        make_client(business, "Ben", "Jones")
        make_client(business, "Bjorn", "Wu")
        make_client(business, "Wulf", "Berg", email="jo@example.com")
        assert names(business, q="jo") == {"Joanna", "Ben"}
        assert names(business, q="wu") == {"Bjorn", "Wulf"}
        assert names(business, q="jo kim") == {"Joanna"}

    def test_referrer_source_and_referred_by(self, business, other_business):
        anna = make_client(business, "Anna")
        bert = make_client(business, "Bert")
        carla = make_client(business, "Carla", source=Source.WALK_IN)
        stranger = make_client(other_business, "Stranger")
        with scope(business=business):
            client_set_referrer(business=business, client=bert, referrer=anna)
            client_set_referrer(business=business, client=carla, referrer=anna)
        assert names(business, referrer="1") == {"Anna"}
        assert names(business, source=Source.CLIENT_REFERRAL) == {"Bert", "Carla"}
        assert names(business, source=Source.OTHER) == {"Anna"}
        assert names(business, referred_by=str(anna.pk)) == {"Bert", "Carla"}
        assert names(business, referred_by=str(bert.pk)) == set()
        # Another business's client id matches nobody here, even if it referred people there.
        assert names(business, referred_by=str(stranger.pk)) == set()

    def test_tag(self, business, other_business):
        make_client(business, "Anna", tags=["VIP", "Sports"])
        make_client(business, "Bert", tags=["vip"])
        make_client(business, "Carla")
        make_client(other_business, "Stranger", tags=["VIP"])
        with scope(business=business):
            vip = Tag.objects.get(business=business, name="VIP")
            sports = Tag.objects.get(business=business, name="Sports")
        with scope(business=other_business):
            foreign = Tag.objects.get(business=other_business, name="VIP")
        assert names(business, tag=str(vip.pk)) == {"Anna", "Bert"}
        assert names(business, tag=str(sports.pk)) == {"Anna"}
        assert names(business, tag=str(foreign.pk)) == set()

    def test_last_visit_and_never_visited(self, business):
        make_client(business, "Recent", last_visit_at=days_ago(5), completed_visits=3)
        make_client(business, "Lapsed", last_visit_at=days_ago(120), completed_visits=1)
        make_client(business, "Middle", last_visit_at=days_ago(45), completed_visits=2)
        make_client(business, "New")
        assert names(business, last_visit_less_than="30") == {"Recent"}
        assert names(business, last_visit_more_than="90") == {"Lapsed"}
        assert names(business, last_visit_more_than="30", last_visit_less_than="90") == {"Middle"}
        assert names(business, never_visited="1") == {"New"}

    def test_days_are_whole_days_in_the_business_time_zone(self, business):
        zone = ZoneInfo("Pacific/Auckland")
        with timezone.override(zone):
            today = timezone.localdate()
            start_of_day_30_ago = timezone.make_aware(
                timezone.datetime.combine(today - timedelta(days=30), timezone.datetime.min.time()), zone
            )
            make_client(business, "Edge", last_visit_at=start_of_day_30_ago)
            make_client(business, "Before", last_visit_at=start_of_day_30_ago - timedelta(seconds=1))
            assert names(business, last_visit_less_than="30") == {"Edge"}
            assert names(business, last_visit_more_than="30") == {"Before"}

    def test_visits(self, business):
        make_client(business, "Zero")
        make_client(business, "One", completed_visits=1)
        make_client(business, "Five", completed_visits=5)
        assert names(business, visits_more_than="0") == {"One", "Five"}
        assert names(business, visits_less_than="2") == {"Zero", "One"}
        assert names(business, visits_more_than="0", visits_less_than="5") == {"One"}

    def test_created_between_dates_includes_both_days(self, business):
        with timezone.override(ZoneInfo("Europe/London")):
            zone = timezone.get_current_timezone()
            make_client(business, "Jan31", created_at=timezone.datetime(2026, 1, 31, 23, 59, tzinfo=zone))
            make_client(business, "Feb1", created_at=timezone.datetime(2026, 2, 1, 0, 0, tzinfo=zone))
            make_client(business, "Feb28", created_at=timezone.datetime(2026, 2, 28, 23, 59, tzinfo=zone))
            make_client(business, "Mar1", created_at=timezone.datetime(2026, 3, 1, 0, 0, tzinfo=zone))
            assert names(business, created_from="2026-02-01", created_to="2026-02-28") == {"Feb1", "Feb28"}
            assert names(business, created_from="2026-02-01") == {"Feb1", "Feb28", "Mar1"}
            assert names(business, created_to="2026-01-31") == {"Jan31"}

    def test_erased_clients_are_never_listed(self, business):
        make_client(business, "Kept")
        make_client(business, "Gone", erased_at=timezone.now())
        assert names(business) == {"Kept"}

    def test_filters_combine_with_and(self, business):
        make_client(business, "Anna", tags=["VIP"], referred_clients_count=2, last_visit_at=days_ago(100))
        make_client(business, "Bert", tags=["VIP"], referred_clients_count=1, last_visit_at=days_ago(10))
        make_client(business, "Carla", referred_clients_count=3, last_visit_at=days_ago(200))
        make_client(business, "Dora", tags=["VIP"], last_visit_at=days_ago(300))
        with scope(business=business):
            vip = Tag.objects.get(business=business, name="VIP")
        assert names(business, referrer="1", tag=str(vip.pk), last_visit_more_than="90") == {"Anna"}
        assert names(business, referrer="1", last_visit_more_than="90") == {"Anna", "Carla"}

    def test_the_business_is_always_the_first_filter(self, business, other_business):
        make_client(business, "Mine")
        make_client(other_business, "Theirs")
        assert names(business) == {"Mine"}


@pytest.mark.django_db
def test_capped_count_stops_counting_past_the_cap(business):
    for n in range(4):
        make_client(business, f"C{n}")
    with scope(business=business):
        qs = client_queryset(business=business, filters=ClientFilters())
        assert str(capped_count(qs, cap=10)) == "4"
        count = capped_count(qs, cap=3)
        assert (count.value, count.capped) == (3, True)


@pytest.mark.django_db
def test_pages_are_in_name_order_and_know_if_more_follow(business):
    for n in range(52):
        make_client(business, f"First{n:02d}", f"Last{51 - n:02d}")
    with scope(business=business):
        first = client_page(business=business, filters=ClientFilters(), page=1)
        second = client_page(business=business, filters=ClientFilters(), page=2)
    assert len(first.clients) == 50 and first.has_next and not first.has_previous
    assert first.clients[0].last_name == "Last00"
    assert [c.last_name for c in second.clients] == ["Last50", "Last51"]
    assert not second.has_next and (second.start_index, second.end_index) == (51, 52)


@pytest.mark.django_db
def test_search_results_are_in_name_order(business):
    for first, last in [("Zed", "anderson"), ("Amy", "Andrews"), ("Bob", "Anders"), ("Cy", "Banner")]:
        make_client(business, first, last)
    with scope(business=business):
        page = client_page(business=business, filters=ClientFilters(q="and"), page=1)
    assert [c.first_name for c in page.clients] == ["Bob", "Zed", "Amy"]


@pytest.mark.django_db
def test_tags_with_counts_leave_out_erased_clients_and_other_businesses(business, other_business):
    make_client(business, "Anna", tags=["VIP", "Sports"])
    make_client(business, "Bert", tags=["VIP"])
    gone = make_client(business, "Gone", tags=["VIP"])
    make_client(business, "Carla", tags=["Unused"])
    make_client(other_business, "Stranger", tags=["VIP"])
    with scope(business=business):
        client_erase(business=business, client=gone, actor=None)
        Client.objects.filter(business=business, first_name="Carla").delete()
        counts = {tag.name: tag.client_count for tag in tags_with_counts(business=business)}
    assert counts == {"Sports": 1, "Unused": 0, "VIP": 2}


@pytest.mark.django_db
def test_export_rows_carry_tags_and_referrer_in_chunks(business, monkeypatch):
    monkeypatch.setattr("clients.selectors.EXPORT_CHUNK", 2)
    anna = make_client(business, "Anna", "Smith", email="anna@example.com", tags=["VIP", "Alpha"])
    bert = make_client(business, "Bert", tags=["Beta"], completed_visits=2, lifetime_spend=12345)
    make_client(business, "Carla")
    with scope(business=business):
        client_set_referrer(business=business, client=bert, referrer=anna)
        rows = list(export_rows(business=business, filters=ClientFilters()))
    assert [row[0] for row in rows] == ["Anna", "Bert", "Carla"]
    assert rows[0][6] == "Alpha, VIP"
    assert rows[1][5] == "anna@example.com"
    assert rows[1][6] == "Beta" and rows[1][7] == 2 and rows[1][10] == 12345
    assert rows[2][5] == "" and rows[2][6] == ""
