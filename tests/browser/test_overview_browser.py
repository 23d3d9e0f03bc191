"""The overview in a browser: the owner lands on it with months of referral history, changes the period, hovers
a figure for its explanation and follows it to the list behind it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from bookings.services import booking_confirm
from businesses.models import Role, Service
from clients.services import ClientData, client_create
from referrals.codes import code_for_client
from referrals.demo_history import seed_history
from referrals.models import ReferralSource
from referrals.services import ReferralClaim, booking_create_with_referral

from ..factories import BusinessFactory, make_member
from ..referrals.conftest import make_program

SLUG = "serenity-overview"


@pytest.fixture
def studio():
    business = BusinessFactory(name="Serenity Massage", slug=SLUG)
    with scope(business=business):
        yield business


@pytest.fixture
def owner(studio):
    return make_member(studio, Role.OWNER, email="maya@serenity.example", first_name="Maya", last_name="Lind")


@pytest.fixture
def history(studio, owner):
    """Demo-like data: four regulars who refer, six months of referred friends and clicks, and this month's
    friends booked through their links."""
    massages = [
        Service.objects.create(business=studio, name=name, price=price, duration_minutes=60)
        for name, price in [("Deep tissue massage", 90_00), ("Hot stone massage", 110_00), ("Sports massage", 75_00)]
    ]
    make_program(studio, massages)
    regulars = [
        client_create(business=studio, data=ClientData(first_name=first, last_name=last, email=f"{first}@example.com"))
        for first, last in [("Chloe", "Castillo"), ("Amir", "Haddad"), ("Greta", "Olsen"), ("Ravi", "Patel")]
    ]
    for n, name in enumerate(["Lena", "Mateo", "Aisha", "Noah", "Sofia"]):
        friend = client_create(business=studio, data=ClientData(first_name=name, email=f"{name}@example.com"))
        claim = ReferralClaim(
            code=code_for_client(business=studio, client=regulars[n % 4]).code, source=ReferralSource.LINK
        )
        booking = booking_create_with_referral(
            business=studio,
            client=friend,
            service=massages[n % 3],
            starts_at=timezone.now() - timedelta(days=n + 1),
            claim=claim,
        )
        if n < 4:
            booking_confirm(business=studio, booking=booking, actor=owner)
    seed_history(business=studio, staff=owner, referrers=regulars, services=massages)
    return studio


def test_the_owner_reads_the_overview_changes_the_period_and_hovers_a_figure(history, owner, signed_in, console, shot):
    page = signed_in(owner, viewport={"width": 1280, "height": 1700})
    page.goto(f"/b/{SLUG}/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    referred = page.locator("#figure-referrals .figure-value")
    expect(referred).to_have_text("5")
    expect(page.locator("#figure-roi .figure-value")).to_contain_text("×")
    expect(page.locator("#chart-referrals svg > desc")).to_have_count(1)

    page.select_option("#id_period", "year")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(
        f"/b/{SLUG}/?period=year&date_from=&date_to=".replace("/b", page.url.split("/b")[0] + "/b")
    )
    year_count = int(referred.inner_text())
    assert year_count > 5  # the history of earlier months

    revenue = page.locator("#figure-revenue .figure-value")
    revenue.hover()
    assert "every client who came through a referral" in revenue.get_attribute("title")
    expect(page.locator("#help-revenue")).to_contain_text("confirmed and completed bookings")
    page.locator("#chart-funnel summary").click()
    expect(page.locator("#chart-funnel table")).to_contain_text("Link clicks")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "overview", docs="overview.png")

    page.locator("#figure-referrals").get_by_role("link", name="Referrals board").click()
    expect(page).to_have_url(re.compile(r"/referrals/\?date_from="))
    console.assert_clean()
