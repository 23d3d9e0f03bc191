"""Stripe in a browser: a referred client pays online and the page confirms only once Stripe's event arrived; the
owner upgrades the business's plan. Stripe's hosted pages are replaced by a stub page (Playwright routing), its
API by the local stand-in, and its events are signed in the test."""

from __future__ import annotations

import re

import pytest
from django.test import Client as HttpClient
from django_scopes import scope
from playwright.sync_api import expect

from bookings.stripe_payments import pay_token
from businesses.models import Role

from ..factories import BusinessFactory, make_member
from ..referrals.conftest import make_client, make_program, make_service, soon
from ..stripe_standin import CHECKOUT_HOST, signed_event, stripe_api, stripe_standin  # noqa: F401

STRIPE_STUB = "<!doctype html><title>Stripe Checkout</title><h1>Stripe Checkout (stand-in)</h1>"


@pytest.fixture
def studio():
    return BusinessFactory(name="Calm Studio", slug="calm-studio", currency="USD")


def stub_stripe_pages(context) -> None:
    for host in (CHECKOUT_HOST, "https://billing.stripe.test"):
        context.route(f"{host}/**", lambda route: route.fulfill(body=STRIPE_STUB, content_type="text/html"))


def deliver(kind: str, obj: dict) -> None:
    payload, signature = signed_event(kind, obj)
    response = HttpClient().post(
        "/stripe/webhook/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    assert response.status_code == 200


def test_a_referred_client_pays_online_and_sees_it_confirmed_after_stripes_event(
    new_context,
    studio,
    site_url,
    stripe_api,  # noqa: F811
    shot,
):
    from referrals.codes import code_for_client
    from referrals.services import ReferralClaim, booking_create_with_referral

    with scope(business=studio):
        massage = make_service(studio, "Deep tissue massage", 100_00)
        make_program(studio, [massage])
        anna = make_client(studio, "Anna", "Berg", email="anna.berg@gmail.com")
        bob = make_client(studio, "Bob", "Stone", email="bob@outlook.com")
        booking = booking_create_with_referral(
            business=studio,
            client=bob,
            service=massage,
            starts_at=soon(),
            claim=ReferralClaim(code=code_for_client(business=studio, client=anna).code),
        )
    status_url = f"/w/{studio.slug}/pay/{pay_token(booking)}/status/"
    context = new_context()
    stub_stripe_pages(context)
    page = context.new_page()

    page.goto(status_url)
    pay = page.get_by_role("button", name="Pay $85.00 now")
    expect(pay).to_be_visible()
    shot(page, "pay-now")
    pay.click()
    expect(page).to_have_url(f"{CHECKOUT_HOST}/c/pay/{next(iter(stripe_api.sessions))}")

    # Stripe sends the client back before (or without) its event: the page waits for the event.
    session = next(iter(stripe_api.sessions.values()))
    page.goto(session["success_url"])
    expect(page.get_by_role("heading", name="We're confirming your payment")).to_be_visible()
    shot(page, "confirming")

    deliver("checkout.session.completed", {**session, "status": "complete", "payment_status": "paid"})
    # The page refreshes itself every five seconds while it waits.
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible(timeout=12_000)
    expect(page.get_by_text("Your booking is confirmed.")).to_be_visible()
    shot(page, "paid")


def test_the_owner_upgrades_and_the_plan_changes_when_stripe_says_so(
    new_context,
    log_in_as,
    studio,
    site_url,
    stripe_api,  # noqa: F811
    shot,
):
    owner = make_member(studio, Role.OWNER, email="olivia@calmstudio.example")
    context = new_context()
    stub_stripe_pages(context)
    log_in_as(context, owner)
    page = context.new_page()

    page.goto(f"/b/{studio.slug}/settings/")
    page.get_by_role("link", name="Billing").click()
    expect(page.get_by_role("heading", name="Your plan: Free")).to_be_visible()
    shot(page, "free-plan")
    page.get_by_role("button", name="Upgrade to the paid plan").click()
    expect(page.get_by_role("heading", name="Stripe Checkout (stand-in)")).to_be_visible()

    session = next(iter(stripe_api.sessions.values()))
    page.goto(session["success_url"])
    expect(page.get_by_text("We're confirming your subscription")).to_be_visible()
    expect(page.get_by_role("heading", name="Your plan: Free")).to_be_visible()

    deliver(
        "checkout.session.completed",
        {**session, "status": "complete", "payment_status": "paid", "subscription": "sub_browser"},
    )
    page.reload()
    expect(page.get_by_role("heading", name="Your plan: Paid")).to_be_visible()
    shot(page, "paid-plan")
    page.get_by_role("button", name="Manage billing").click()
    expect(page).to_have_url(re.compile(r"^https://billing\.stripe\.test/p/session/bps_"))
