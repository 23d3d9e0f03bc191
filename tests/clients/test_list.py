from __future__ import annotations

import csv
import io
from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from businesses.models import AuditLog
from clients.models import Client, Segment, Source, Tag
from clients.services import client_set_referrer

from .test_selectors import make_client

pytestmark = pytest.mark.django_db


def url(business, name="index", *args):
    return reverse(f"clients:{name}", args=[business.slug, *args])


def tag_id(business, name):
    with scope(business=business):
        return Tag.objects.get(business=business, name=name).pk


def export_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


class TestListPage:
    def test_owner_and_staff_see_clients_with_their_figures(self, business, owner_client, staff, client):
        anna = make_client(business, "Anna", "Smith", email="anna@example.com", phone="07911 123456", tags=["VIP"])
        bert = make_client(
            business, "Bert", "Jones", completed_visits=4, lifetime_spend=123456, last_visit_at=timezone.now()
        )
        with scope(business=business):
            client_set_referrer(business=business, client=bert, referrer=anna)
        response = owner_client.get(url(business))
        assert response.status_code == 200
        assert response.context["active_section"] == "clients"
        html = response.content.decode()
        assert "Anna Smith" in html and "anna@example.com" in html and "+44 7911 123456" in html
        assert "£1,234.56" in html
        assert reverse("clients:detail", args=[business.slug, anna.pk]) in html
        assert f"?referred_by={anna.pk}" in html
        assert f"?tag={tag_id(business, 'VIP')}" in html
        assert "Export CSV" in html
        client.force_login(staff)
        staff_page = client.get(url(business)).content.decode()
        assert "Anna Smith" in staff_page and "Export CSV" not in staff_page

    def test_outsider_gets_404(self, business, outsider_client):
        assert outsider_client.get(url(business)).status_code == 404

    def test_empty_business_says_what_to_do_next(self, business, owner_client):
        html = owner_client.get(url(business)).content.decode()
        assert "No clients yet" in html
        assert url(business, "new") in html and url(business, "import") in html

    def test_filters_that_match_nobody_say_so(self, business, owner_client):
        make_client(business, "Anna")
        html = owner_client.get(url(business), {"q": "zzz"}).content.decode()
        assert "No clients match these filters" in html

    def test_htmx_gets_only_the_results_partial(self, business, owner_client):
        make_client(business, "Anna", tags=["VIP"])
        make_client(business, "Bert")
        full = owner_client.get(url(business), {"q": "anna"})
        partial = owner_client.get(url(business), {"q": "anna"}, headers={"HX-Request": "true"})
        assert "<html" in full.content.decode() and 'hx-get="' in full.content.decode()
        body = partial.content.decode()
        assert "<html" not in body and '<form method="get"' not in body
        assert "Anna" in body and "Bert" not in body
        # The count and the export link follow the filter out of band.
        assert 'hx-swap-oob="innerHTML:#result-count"' in body
        assert 'id="export-link"' in body and "export.csv?q=anna" in body
        assert "HX-Request" in partial["Vary"]

    def test_filter_form_and_results_reflect_the_query(self, business, owner_client):
        make_client(business, "Anna", referred_clients_count=2)
        make_client(business, "Bert")
        response = owner_client.get(url(business), {"referrer": "1", "visits_less_than": "3"})
        html = response.content.decode()
        assert "Anna" in html and "Bert" not in html
        assert "Referrers only" in html and "Fewer than 3 visits" in html
        assert response.context["count"].value == 1

    @pytest.mark.parametrize(
        "params,message",
        [
            ({"visits_more_than": "abc"}, "is not a whole number of visits"),
            ({"created_from": "2026-13-40"}, "is not a date"),
            ({"tag": "<script>"}, "is not a valid choice"),
            ({"page": "x"}, None),
            ({"page": "99999999999999"}, None),
        ],
    )
    def test_bad_input_answers_200_with_a_clear_message(self, business, owner_client, params, message):
        make_client(business, "Anna")
        response = owner_client.get(url(business), params)
        assert response.status_code == 200
        html = response.content.decode()
        if message:
            assert "These filters were not applied" in html and message in html
        assert "<script>" not in html

    def test_the_typed_bad_value_stays_in_the_field(self, business, owner_client):
        html = owner_client.get(url(business), {"visits_more_than": "abc"}).content.decode()
        assert 'name="visits_more_than" min="0" inputmode="numeric" value="abc"' in html

    def test_a_page_past_the_end_offers_the_first_page(self, business, owner_client):
        make_client(business, "Anna")
        html = owner_client.get(url(business), {"page": "5"}).content.decode()
        assert "past the end of the list" in html

    def test_pagination_links_keep_the_filters(self, business, owner_client):
        for n in range(55):
            make_client(business, f"Client{n:02d}", tags=["VIP"])
        response = owner_client.get(url(business), {"tag": tag_id(business, "VIP")})
        assert response.context["next_url"].endswith(f"?tag={tag_id(business, 'VIP')}&page=2")
        second = owner_client.get(response.context["next_url"])
        assert len(second.context["page"].clients) == 5
        assert "Showing 51–55 of 55" in second.content.decode()

    def test_referred_by_another_business_client_matches_nothing(self, business, other_business, owner_client):
        stranger = make_client(other_business, "Stranger")
        make_client(business, "Anna")
        response = owner_client.get(url(business), {"referred_by": stranger.pk})
        assert response.status_code == 200
        assert response.context["count"].value == 0
        assert "Stranger" not in response.content.decode()
        assert "unknown client" in response.content.decode()

    def test_query_count_does_not_grow_with_the_page(self, business, owner_client, django_assert_num_queries):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def populate(n):
            with scope(business=business):
                start = Client.objects.filter(business=business).count() // 2
            for i in range(start, n):
                referrer = make_client(business, f"R{i}", tags=["VIP", f"T{i % 3}"], referred_clients_count=1)
                child = make_client(business, f"C{i}", tags=["New"], last_visit_at=timezone.now())
                with scope(business=business):
                    client_set_referrer(business=business, client=child, referrer=referrer)

        populate(3)  # 6 clients
        vip = tag_id(business, "VIP")
        pages = [{}, {"tag": vip}, {"tag": vip, "referrer": "1", "q": "r"}, {"q": "c", "page": "1"}]
        owner_client.get(url(business))  # the session is warm from here on
        small = []
        for params in pages:
            with CaptureQueriesContext(connection) as queries:
                owner_client.get(url(business), params)
            small.append(len(queries))
        populate(30)  # 60 clients: more than a page
        for params, expected in zip(pages, small, strict=True):
            with django_assert_num_queries(expected):
                response = owner_client.get(url(business), params)
            assert len(response.context["page"].clients) == min(50, response.context["count"].value)
        assert len(owner_client.get(url(business)).context["page"].clients) == 50


class TestSegments:
    def test_save_open_and_count_a_segment(self, business, owner, owner_client):
        make_client(business, "Anna", referred_clients_count=1, last_visit_at=timezone.now() - timedelta(days=100))
        make_client(business, "Bert", referred_clients_count=1, last_visit_at=timezone.now())
        make_client(business, "Carla")
        response = owner_client.post(
            url(business, "segment_save"),
            {"name": "  Lapsed   referrers ", "referrer": "1", "last_visit_more_than": "90", "page": "2"},
        )
        with scope(business=business):
            saved = Segment.objects.get(business=business)
        assert saved.name == "Lapsed referrers"
        assert saved.filters == {"referrer": True, "last_visit_more_than": 90}
        assert saved.created_by == owner
        assert response.status_code == 302 and response["Location"] == url(business, "segment", saved.pk)
        page = owner_client.get(response["Location"])
        html = page.content.decode()
        assert page.status_code == 200 and page.context["active_segment"] == saved
        assert "Anna" in html and "Bert" not in html and "Carla" not in html
        assert 'aria-current="page">Lapsed referrers' in html
        assert url(business, "segment_count", saved.pk) in html
        count = owner_client.get(url(business, "segment_count", saved.pk), headers={"HX-Request": "true"})
        assert count.status_code == 200 and count.content.decode().startswith("1<span")
        with scopes_disabled():
            assert AuditLog.objects.filter(business=business, action="segment.created").exists()

    def test_segment_counts_are_capped(self, business, owner_client, monkeypatch):
        monkeypatch.setattr("clients.selectors.COUNT_CAP", 2)
        for n in range(3):
            make_client(business, f"C{n}", source=Source.WALK_IN)
        with scope(business=business):
            saved = Segment.objects.create(business=business, name="Walk-ins", filters={"source": "walk_in"})
        body = owner_client.get(url(business, "segment_count", saved.pk)).content.decode()
        assert body.startswith("2+")

    def test_duplicate_name_is_refused_clearly(self, business, owner_client):
        with scope(business=business):
            Segment.objects.create(business=business, name="VIPs", filters={"referrer": True})
        response = owner_client.post(url(business, "segment_save"), {"name": "vips", "q": "anna"}, follow=True)
        assert "A segment called “vips” already exists" in response.content.decode()
        assert response.request["QUERY_STRING"] == "q=anna"
        with scope(business=business):
            assert Segment.objects.filter(business=business).count() == 1

    @pytest.mark.parametrize(
        "data,message",
        [
            ({"name": "Everyone"}, "Choose at least one filter"),
            ({"name": "", "referrer": "1"}, "Give the segment a name"),
            ({"name": "Odd", "visits_more_than": "abc"}, "Fix the filters"),
        ],
    )
    def test_refused_segments_say_why(self, business, owner_client, data, message):
        response = owner_client.post(url(business, "segment_save"), data, follow=True)
        assert response.status_code == 200 and message in response.content.decode()
        with scope(business=business):
            assert not Segment.objects.filter(business=business).exists()

    def test_staff_can_delete_a_segment(self, business, staff_client):
        with scope(business=business):
            saved = Segment.objects.create(business=business, name="VIPs", filters={"referrer": True})
        assert staff_client.get(url(business, "segment_delete", saved.pk)).status_code == 405
        response = staff_client.post(url(business, "segment_delete", saved.pk), follow=True)
        assert "Segment “VIPs” deleted" in response.content.decode()
        with scope(business=business):
            assert not Segment.objects.filter(pk=saved.pk).exists()

    def test_segments_of_another_business_are_404(self, business, other_business, owner_client):
        with scope(business=other_business):
            theirs = Segment.objects.create(business=other_business, name="Theirs", filters={})
        for name in ("segment", "segment_count"):
            assert owner_client.get(url(business, name, theirs.pk)).status_code == 404
        assert owner_client.post(url(business, "segment_delete", theirs.pk)).status_code == 404
        with scope(business=other_business):
            assert Segment.objects.filter(pk=theirs.pk).exists()

    def test_list_shows_segments_or_explains_them(self, business, owner_client):
        assert "No segments yet" in owner_client.get(url(business)).content.decode()
        with scope(business=business):
            Segment.objects.create(business=business, name="VIPs", filters={"referrer": True})
        assert "VIPs" in owner_client.get(url(business)).content.decode()


def test_tags_page_counts_clients_per_tag(business, other_business, owner_client, django_assert_max_num_queries):
    make_client(business, "Anna", tags=["VIP", "Sports"])
    make_client(business, "Bert", tags=["VIP"])
    make_client(other_business, "Stranger", tags=["VIP"])
    owner_client.get(url(business, "tags"))
    with django_assert_max_num_queries(6):
        response = owner_client.get(url(business, "tags"))
    counts = {tag.name: tag.client_count for tag in response.context["tags"]}
    assert counts == {"Sports": 1, "VIP": 2}
    assert f"{url(business)}?tag={tag_id(business, 'VIP')}" in response.content.decode()


def test_tags_page_empty_state(business, owner_client):
    assert "No tags yet" in owner_client.get(url(business, "tags")).content.decode()


class TestExport:
    def test_columns_and_values(self, business, owner_client):
        anna = make_client(business, "Anna", "Smith", email="anna@example.com", tags=["VIP", "Alpha"])
        bert = make_client(
            business,
            "Bert",
            phone="07911 123456",
            completed_visits=3,
            lifetime_spend=4990,
            first_visit_at=timezone.datetime(2026, 1, 1, 23, 30, tzinfo=UTC),
            last_visit_at=timezone.datetime(2026, 6, 30, 23, 30, tzinfo=UTC),
            created_at=timezone.datetime(2025, 12, 31, 12, 0, tzinfo=UTC),
        )
        with scope(business=business):
            client_set_referrer(business=business, client=bert, referrer=anna)
        response = owner_client.get(url(business, "export"))
        assert response["Content-Type"].startswith("text/csv")
        assert f"clients-{business.slug}-" in response["Content-Disposition"]
        rows = export_csv(response)
        assert rows[0] == [
            "first_name",
            "last_name",
            "email",
            "phone",
            "source",
            "referred_by_email",
            "tags",
            "completed_visits",
            "first_visit",
            "last_visit",
            "lifetime_spend",
            "created_at",
        ]
        by_name = {row[0]: row for row in rows[1:]}
        assert by_name["Anna"][6] == "Alpha, VIP"
        # Dates are in the business's zone (Europe/London is UTC+1 in summer); phones keep their "+".
        assert by_name["Bert"][3:] == [
            "'+447911123456",
            "client_referral",
            "anna@example.com",
            "",
            "3",
            "2026-01-01",
            "2026-07-01",
            "49.90",
            "2025-12-31 12:00:00",
        ]
        with scopes_disabled():
            assert AuditLog.objects.filter(business=business, action="clients.exported").exists()

    def test_only_the_current_filter_is_exported(self, business, owner_client):
        make_client(business, "Anna", tags=["VIP"])
        make_client(business, "Bert")
        make_client(business, "Gone", tags=["VIP"], erased_at=timezone.now())
        rows = export_csv(owner_client.get(url(business, "export"), {"tag": tag_id(business, "VIP")}))
        assert [row[0] for row in rows[1:]] == ["Anna"]

    def test_formulas_are_neutralised(self, business, owner_client):
        make_client(business, '=HYPERLINK("http://evil")', "+1", email="-x@example.com", tags=["-2+3"])
        row = export_csv(owner_client.get(url(business, "export")))[1]
        assert row[0] == '\'=HYPERLINK("http://evil")'
        assert row[1] == "'+1"
        assert row[2] == "'-x@example.com"
        assert row[6] == "'-2+3"

    def test_staff_may_not_export(self, business, staff_client):
        assert staff_client.get(url(business, "export")).status_code == 403

    def test_bad_filter_is_refused_not_exported(self, business, owner_client):
        response = owner_client.get(url(business, "export"), {"created_from": "2026-13-40"})
        assert response.status_code == 400 and b"is not a date" in response.content

    def test_export_queries_do_not_grow_per_client(self, business, owner_client, django_assert_max_num_queries):
        for n in range(30):
            make_client(business, f"C{n}", tags=["VIP", "Other"])
        with django_assert_max_num_queries(12):
            export_csv(owner_client.get(url(business, "export")))
