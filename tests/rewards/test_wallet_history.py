"""A client's full wallet history: each ledger in a tab, newest first, paged by keyset, for staff and owner."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scope

from rewards.credits import service_credit_issue
from rewards.ledger import points_adjust, store_credit_apply, store_credit_grant
from rewards.models import ServiceCreditSource, StoreCreditEntry
from rewards.views_wallet import history_page

from .conftest import make_booking, make_client, make_service

pytestmark = pytest.mark.django_db


def url(business, client_id, query=""):
    return reverse("rewards:wallet_history", args=[business.slug, client_id]) + query


@pytest.fixture
def wallet(business, owner):
    """Ada with 3 credit grants and an apply, 2 points entries and a service credit."""
    with scope(business=business):
        ada = make_client(business, email="ada@example.com")
        booking = make_booking(business, client=ada, service=make_service(business, price=100_00))
        for amount in (10_00, 20_00, 30_00):
            store_credit_grant(business=business, client=ada, amount=amount, reason=f"Grant {amount}", actor=owner)
        store_credit_apply(business=business, client=ada, amount=5_00, booking=booking)
        points_adjust(business=business, client=ada, points=40, reason="Welcome points", actor=owner)
        points_adjust(business=business, client=ada, points=-15, reason="Correction", actor=owner)
        service_credit_issue(
            business=business,
            client=ada,
            service=make_service(business, name="Hot stone massage"),
            source=ServiceCreditSource.MANUAL,
        )
        return ada


def test_staff_and_owner_see_every_ledger_in_tabs(staff_client, business, wallet):
    page = staff_client.get(url(business, wallet.pk)).content.decode()
    assert "Grant 1000" in page and "Grant 3000" in page and "Welcome points" not in page
    assert page.index("Applied") < page.index("Grant 3000") < page.index("Grant 1000")  # newest first
    points = staff_client.get(url(business, wallet.pk, "?ledger=points")).content.decode()
    assert "Welcome points" in points and "Correction" in points and "Grant 1000" not in points
    services = staff_client.get(url(business, wallet.pk, "?ledger=service_credits")).content.decode()
    assert "Hot stone massage" in services and "1 of 1" in services
    nonsense = staff_client.get(url(business, wallet.pk, "?ledger=<script>&before=abc"))
    assert nonsense.status_code == 200 and "Grant 1000" in nonsense.content.decode()


def test_the_owner_gets_the_page_too(owner_client, business, wallet):
    assert owner_client.get(url(business, wallet.pk)).status_code == 200


def test_another_business_client_and_outsiders_get_404(owner_client, outsider_client, business, other_business, wallet):
    assert outsider_client.get(url(business, wallet.pk)).status_code == 404
    with scope(business=other_business):
        theirs = make_client(other_business, email="theirs@example.com")
    assert owner_client.get(url(business, theirs.pk)).status_code == 404
    assert owner_client.get(url(business, 999_999)).status_code == 404


def test_the_history_pages_by_keyset_with_a_bounded_number_of_queries(
    owner_client, business, owner, django_assert_max_num_queries
):
    with scope(business=business):
        ada = make_client(business, email="ada@example.com")
        for i in range(1, 8):
            store_credit_grant(business=business, client=ada, amount=i * 100, reason=f"Grant {i}")
        made = list(StoreCreditEntry.objects.filter(business=business, client=ada).order_by("-created_at", "-id"))
        first = history_page(business=business, client=ada, ledger="store_credit", before=None, size=3)
        second = history_page(business=business, client=ada, ledger="store_credit", before=first.next_before, size=3)
        third = history_page(business=business, client=ada, ledger="store_credit", before=second.next_before, size=3)
        assert [e.pk for e in first.rows + second.rows + third.rows] == [e.pk for e in made]
        assert third.next_before is None
    with django_assert_max_num_queries(14):
        response = owner_client.get(url(business, ada.pk))
    assert response.status_code == 200 and "Older entries" not in response.content.decode()


def test_a_full_page_links_to_older_entries_and_htmx_gets_only_rows(owner_client, business):
    with scope(business=business):
        ada = make_client(business, email="ada@example.com")
        for i in range(1, 53):
            store_credit_grant(business=business, client=ada, amount=i * 100, reason=f"Grant no {i}.")
        oldest = list(StoreCreditEntry.objects.filter(business=business, client=ada).order_by("created_at", "id"))
    page = owner_client.get(url(business, ada.pk)).content.decode()
    assert "Older entries" in page and "Grant no 52." in page and "Grant no 2." not in page
    more = owner_client.get(url(business, ada.pk, f"?before={oldest[2].pk}"), HTTP_HX_REQUEST="true")
    rows = more.content.decode()
    assert "Grant no 2." in rows and "Grant no 1." in rows and "Grant no 3." not in rows and "<nav" not in rows
    foreign = owner_client.get(url(business, ada.pk, "?before=999999")).content.decode()
    assert "Nothing here yet." in foreign


def test_the_client_page_links_to_the_history(owner_client, business, wallet):
    page = owner_client.get(reverse("clients:detail", args=[business.slug, wallet.pk])).content.decode()
    assert url(business, wallet.pk) in page
