"""`client_search`: the one client search behind the booking form, the client pickers and the bookings list."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from bookings.services import booking_create
from businesses.models import Service
from clients import selectors
from clients.models import Client
from clients.selectors import MAX_SEARCH_RESULTS, client_search

from .test_selectors import make_client

pytestmark = pytest.mark.django_db


def found(business, q, **kwargs) -> list[str]:
    with scope(business=business):
        return [c.full_name for c in client_search(business=business, q=q, **kwargs)]


def test_it_matches_names_emails_and_phones_like_the_clients_list(business):
    make_client(business, "Ada", "Lovelace", email="ada@analytical.example", phone="+447911123456")
    make_client(business, "Grace", "Hopper", email="grace@navy.example")
    assert found(business, "lovel") == ["Ada Lovelace"]
    assert found(business, "ada lovelace") == ["Ada Lovelace"]
    assert found(business, "analytical") == ["Ada Lovelace"]
    assert found(business, "07911 123456") == ["Ada Lovelace"]
    assert found(business, "Gr") == ["Grace Hopper"]
    assert found(business, "") == [] and found(business, "   ") == []


def test_an_address_finds_its_canonical_twin(business):
    make_client(business, "Rob", "Smith", email="robsmith@gmail.com")
    assert found(business, "Rob.Smith+bookings@Gmail.com") == ["Rob Smith"]


def test_only_this_business_and_never_erased_clients(business, other_business):
    make_client(business, "Sam", "Here")
    make_client(other_business, "Sam", "Elsewhere")
    make_client(business, "Sam", "Gone", erased_at=timezone.now())
    assert found(business, "sam") == ["Sam Here"]


def test_results_are_in_name_order_capped_and_can_leave_one_out(business):
    clients = [make_client(business, f"Sam{n:02}", "Smith") for n in range(60)]
    assert found(business, "smith", limit=3) == ["Sam00 Smith", "Sam01 Smith", "Sam02 Smith"]
    assert len(found(business, "smith", limit=10_000)) == MAX_SEARCH_RESULTS
    assert "Sam00 Smith" not in found(business, "smith", limit=3, exclude_pk=clients[0].pk)


def test_it_is_one_query_whatever_the_number_of_matches(business):
    for n in range(30):
        make_client(business, f"Sam{n}", "Smith", email=f"sam{n}@example.com")
    with scope(business=business), CaptureQueriesContext(connection) as queries:
        client_search(business=business, q="smith", limit=MAX_SEARCH_RESULTS)
    assert len(queries) == 1


def test_it_uses_the_clients_list_search(business):
    """Same matching as the list (the trigram-indexed expressions), so one index serves every search."""
    filters = selectors.ClientFilters.from_querydict({"q": "ann lee"})
    with scope(business=business):
        listed = str(selectors.client_queryset(business=business, filters=filters).query)
        searched = str(selectors.client_matches(business=business, q="ann lee").query)
    assert listed == searched


@pytest.fixture
def spy(monkeypatch):
    """Wrap client_search where each caller imported it and record who called."""
    calls: list[str] = []

    def wrap(module, name, label):
        real = getattr(module, name)

        def recorded(**kwargs):
            calls.append(label)
            return real(**kwargs)

        monkeypatch.setattr(module, name, recorded)

    import bookings.forms
    import bookings.views
    import clients.views_records

    wrap(bookings.views, "clients_matching", "booking client search")
    wrap(bookings.forms, "client_search", "booking form")
    wrap(clients.views_records, "client_search", "picker")
    return calls


def test_every_client_search_screen_goes_through_it(owner_client, business, spy):
    make_client(business, "Ada", "Lovelace")
    with scope(business=business):
        service = Service.objects.create(business=business, name="Massage", price=6000, duration_minutes=60)
    bookings = f"/b/{business.slug}/bookings/"
    assert "Ada Lovelace" in owner_client.get(f"{bookings}client-search/", {"q": "lovel"}).content.decode()
    assert (
        "Ada Lovelace" in owner_client.get(reverse("clients:pick", args=[business.slug]), {"q": "ada"}).content.decode()
    )
    form = {"client_mode": "existing", "client_query": "ada", "service": service.pk, "date": "2030-05-06"}
    owner_client.post(f"{bookings}new/", {**form, "time": "10:00", "status": "confirmed"})
    assert spy == ["booking client search", "picker", "booking form"]


def test_the_bookings_list_filters_by_the_same_search(owner_client, business):
    ada = make_client(business, "Ada", "Lovelace", email="ada@example.com")
    grace = make_client(business, "Grace", "Hopper")
    with scope(business=business):
        service = Service.objects.create(business=business, name="Massage", price=6000, duration_minutes=60)
        for client in (ada, grace):
            booking_create(business=business, client=client, service=service, starts_at=timezone.now())
    html = owner_client.get(f"/b/{business.slug}/bookings/list/", {"q": "lovel"}).content.decode()
    assert html.count('<tr id="booking-row-') == 1 and "Ada Lovelace" in html
    html = owner_client.get(f"/b/{business.slug}/bookings/list/", {"q": "ada@example.com"}).content.decode()
    assert html.count('<tr id="booking-row-') == 1
    with scope(business=business):
        assert Client.objects.filter(business=business).count() == 2
