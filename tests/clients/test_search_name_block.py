"""The clients list's one-word search reads the block of last names starting with the word first (migration 0006).

Whatever path answers, pages and counts must be exactly those of the plain search: the same clients in the same
order (upper-cased last name, first name, id), the same capped count.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.functions import Upper
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from clients import selectors
from clients.selectors import ClientFilters, capped_count, client_count, client_page, client_queryset

from .test_selectors import make_client

pytestmark = pytest.mark.django_db
PAGE = 4


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(selectors, "PAGE_SIZE", PAGE)


def plain_order(business, q: str) -> list[int]:
    """The plain search, sorted by the database: what every page must reproduce."""
    qs = client_queryset(business=business, filters=ClientFilters(q=q))
    return list(qs.order_by(Upper("last_name"), Upper("first_name"), "id").values_list("pk", flat=True))


def all_pages(business, q: str) -> list[int]:
    ids, number = [], 1
    while True:
        page = client_page(business=business, filters=ClientFilters(q=q), page=number)
        ids += [c.pk for c in page.clients]
        if not page.has_next:
            return ids
        number += 1


@pytest.fixture
def garcias(business, other_business):
    """A surname block, plus matches sorting before it (first name, e-mail, a double surname) and after it."""
    for n, last in enumerate(["Garcia", "GARCIA", "garcia", "Garcia-Lopez", "Garcias", "Garcia"] * 2):
        make_client(business, f"Ana{n}", last)
    make_client(business, "Garciana", "Adams")
    make_client(business, "Bo", "Baker", email="bo.garcia@example.com")
    make_client(business, "Luz", "Alvarez Garcia")
    make_client(business, "Zed", "Zugarcia")
    make_client(business, "Gary", "Garcon")  # in the same letters' range, no match
    make_client(business, "Ana", "Garcia", erased_at=timezone.now())
    make_client(business, "Ana", "Garcia", is_test=True)
    make_client(other_business, "Ana", "Garcia")


@pytest.mark.parametrize("q", ["garcia", "GARC", "ga", "g", "garcia-lopez", "zugarcia", "adams", "nobody"])
def test_every_page_is_the_plain_search_in_its_order(business, garcias, small_pages, q):
    with scope(business=business):
        expected = plain_order(business, q)
        assert all_pages(business, q) == expected
    if q == "garcia":
        assert len(expected) == 16  # 12 in the block, 3 before it, 1 after it


def test_the_page_after_the_block_and_matches_before_it_come_in_name_order(business, garcias, small_pages):
    with scope(business=business):
        first = client_page(business=business, filters=ClientFilters(q="garcia"), page=1)
    assert [(c.first_name, c.last_name) for c in first.clients[:3]] == [
        ("Garciana", "Adams"),
        ("Luz", "Alvarez Garcia"),
        ("Bo", "Baker"),
    ]
    assert first.has_next


def test_counts_are_the_plain_searchs(business, garcias, monkeypatch):
    with scope(business=business):
        for cap in (3, 12, 15, 16, 100):
            monkeypatch.setattr(selectors, "COUNT_CAP", cap)
            for q in ("garcia", "garcia-lopez", "ana garcia", "zugarcia", "nobody"):
                plain = capped_count(client_queryset(business=business, filters=ClientFilters(q=q)))
                assert client_count(business=business, filters=ClientFilters(q=q)) == plain, (cap, q)


def test_a_page_costs_four_queries_on_either_path(business, garcias, small_pages):
    """Block ids, then the ids before the block (or the plain search when the block is short), rows, tags."""
    with scope(business=business):
        for q in ("garcia", "zugarcia", "adams"):
            with CaptureQueriesContext(connection) as queries:
                client_page(business=business, filters=ClientFilters(q=q), page=1)
            assert len(queries) == 4, q
        with CaptureQueriesContext(connection) as queries:
            client_page(business=business, filters=ClientFilters(q="ana garcia"), page=1)
        assert len(queries) == 3  # several words: the plain search alone


def test_a_count_past_the_cap_within_the_block_is_one_query(business, garcias, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 5)
    with scope(business=business):
        with CaptureQueriesContext(connection) as queries:
            assert str(client_count(business=business, filters=ClientFilters(q="garcia"))) == "5+"
        assert len(queries) == 1
        with CaptureQueriesContext(connection) as queries:
            assert str(client_count(business=business, filters=ClientFilters(q="zugarcia"))) == "1"
        assert len(queries) == 2


def test_the_list_page_shows_the_same_clients_and_count(owner_client, business, garcias):
    response = owner_client.get(f"/b/{business.slug}/clients/", {"q": "garcia"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>16</strong> client" in html
    assert html.index("Garciana") < html.index("Alvarez Garcia") < html.index("Ana0") < html.index("Zugarcia")


def explain(sql_and_params) -> str:
    sql, params = sql_and_params
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_only_the_block_walks_the_name_ordered_index(business, garcias):
    """The index's `UPPER(last_name) >= ''` predicate keeps every other search off it: a plain ordered search
    that walked it from "A" would read a quarter of a big business looking for "garcia"."""
    if connection.vendor != "postgresql":
        pytest.skip("The index exists on PostgreSQL only.")
    with scope(business=business):
        matching = client_queryset(business=business, filters=ClientFilters(q="garcia"))
        ordered = matching.order_by(Upper("last_name"), Upper("first_name"), "id").values_list("pk", flat=True)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            # A sort-free plan is what the walk offers: with sorting discouraged too, a usable index is used.
            cursor.execute("SET LOCAL enable_sort = off")
        block = ordered.alias(u=Upper("last_name")).filter(u__gte="GARCIA", u__lt="GARCIB")[:5]
        assert "client_search_name_order" in explain(block.query.sql_with_params())
        assert "client_search_name_order" not in explain(ordered[:5].query.sql_with_params())
