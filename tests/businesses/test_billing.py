"""The business's own plan: limits on the free plan, Upgrade and Manage billing through the local Stripe stand-in,
and plan state driven only by signed Stripe events."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
import stripe
from django.core.exceptions import ValidationError
from django_scopes import scope

from bookings.models import StripeEvent
from businesses import billing
from businesses.models import BillingAccount, Plan
from clients.models import Client
from clients.services import ClientData, client_create

from ..factories import BusinessFactory
from ..stripe_standin import (  # noqa: F401
    CHECKOUT_HOST,
    PAID_PLAN_PRICE,
    SECRET_KEY,
    signed_event,
    stripe_api,
    stripe_standin,
    stripe_webhooks,
)
from ..threads import needs_postgres, run_at_once

WEBHOOK = "/stripe/webhook/"
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def small_free_plan(monkeypatch):
    """A free plan of three clients, so the limit is reached quickly."""
    monkeypatch.setitem(billing.LIMITS, Plan.FREE, billing.PlanLimits(clients=3))


def billing_url(business, action: str = "") -> str:
    return f"/b/{business.slug}/settings/billing/{action}"


def add_clients(business, count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        client_create(business=business, data=ClientData(first_name=f"Client{number}", email=f"c{number}@example.com"))


def deliver(http, kind: str, obj: dict, **event):
    payload, signature = signed_event(kind, obj, **event)
    return http.post(WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)


def plan_checkout_completed(business, *, customer="cus_plan", subscription="sub_plan") -> dict:
    return {
        "id": "cs_test_plan",
        "object": "checkout.session",
        "mode": "subscription",
        "payment_status": "paid",
        "customer": customer,
        "subscription": subscription,
        "metadata": {"kind": "business_plan", "business_id": str(business.pk)},
    }


def subscription(business, *, status="active", sid="sub_plan", customer="cus_plan", period_end=1_900_000_000):
    return {
        "id": sid,
        "object": "subscription",
        "status": status,
        "customer": customer,
        "metadata": {"kind": "business_plan", "business_id": str(business.pk)},
        "items": {"object": "list", "data": [{"id": "si_1", "current_period_end": period_end}]},
    }


def account_of(business) -> BillingAccount | None:
    with scope(business=business):
        return BillingAccount.objects.filter(business=business).first()


# --- The page -------------------------------------------------------------------------------------------------


def test_the_billing_page_is_the_owners(client, business, owner, staff, outsider):
    client.force_login(owner)
    assert client.get(billing_url(business)).status_code == 200
    client.force_login(staff)
    assert client.get(billing_url(business)).status_code == 403
    assert client.post(billing_url(business, "upgrade/")).status_code == 403
    assert client.post(billing_url(business, "portal/")).status_code == 403
    client.force_login(outsider)
    assert client.get(billing_url(business)).status_code == 404
    assert client.post(billing_url(business, "upgrade/")).status_code == 404


def test_without_stripe_the_page_says_so_and_no_limit_applies(owner_client, business, settings, small_free_plan):
    settings.STRIPE_SECRET_KEY = ""
    with scope(business=business):
        add_clients(business, 5)
    page = owner_client.get(billing_url(business))
    assert b"Payments are not set up on this site" in page.content
    assert b"data-upgrade" not in page.content
    assert b"5 (no limit)" in page.content
    response = owner_client.post(billing_url(business, "upgrade/"), follow=True)
    assert b"Subscriptions are not set up" in response.content or b"Payments are not set up" in response.content


def test_the_page_shows_usage_against_the_free_limit(owner_client, business, stripe_webhooks, small_free_plan):  # noqa: F811
    with scope(business=business):
        add_clients(business, 3)
    page = owner_client.get(billing_url(business))
    assert b'data-plan="free"' in page.content
    assert b"3 of 3" in page.content and b"reached the free plan" in page.content
    assert b"data-upgrade" in page.content and b"data-manage-billing" not in page.content


# --- Limits -------------------------------------------------------------------------------------------------------


def test_the_free_plan_refuses_a_client_past_its_limit(business, stripe_webhooks, small_free_plan):  # noqa: F811
    with scope(business=business):
        add_clients(business, 3)
        with pytest.raises(ValidationError) as refused:
            add_clients(business, 1, start=3)
        assert "The free plan holds up to 3 clients" in str(refused.value)
        assert f"/b/{business.slug}/settings/billing/" in str(refused.value)
        assert Client.objects.filter(business=business).count() == 3


def test_the_dashboard_form_shows_the_limit_with_an_upgrade_link(
    owner_client,
    business,
    stripe_webhooks,  # noqa: F811
    small_free_plan,
):
    with scope(business=business):
        add_clients(business, 3)
    response = owner_client.post(f"/b/{business.slug}/clients/new/", {"first_name": "Dora", "source": "other"})
    assert response.status_code == 400
    assert b"The free plan holds up to 3 clients" in response.content
    assert f'<a href="/b/{business.slug}/settings/billing/">Upgrade to the paid plan</a>'.encode() in response.content


def test_the_paid_plan_has_no_client_limit(client, business, stripe_webhooks, small_free_plan):  # noqa: F811
    deliver(client, "checkout.session.completed", plan_checkout_completed(business))
    with scope(business=business):
        add_clients(business, 5)
        assert Client.objects.filter(business=business).count() == 5


# --- Upgrade and Manage billing --------------------------------------------------------------------------------


def test_upgrade_opens_checkout_for_the_paid_plan_and_changes_nothing_yet(owner_client, business, owner, stripe_api):  # noqa: F811
    response = owner_client.post(billing_url(business, "upgrade/"))

    assert response.status_code == 303
    assert response["Location"].startswith(f"{CHECKOUT_HOST}/c/pay/cs_test_")
    account = account_of(business)
    assert account.plan == Plan.FREE and account.stripe_customer_id.startswith("cus_")
    customer = stripe.StripeClient(SECRET_KEY, base_addresses={"api": stripe_api.url}).v1.customers.retrieve(
        account.stripe_customer_id
    )
    assert customer.email == owner.email and customer.metadata["business_id"] == str(business.pk)
    [params] = stripe_api.calls("/v1/checkout/sessions")
    assert params["mode"] == "subscription"
    assert params["customer"] == account.stripe_customer_id
    assert params["line_items"] == [{"price": PAID_PLAN_PRICE, "quantity": "1"}]
    assert params["metadata"] == {"kind": "business_plan", "business_id": str(business.pk)}
    assert params["subscription_data"] == {"metadata": params["metadata"]}
    assert params["success_url"].endswith(f"/b/{business.slug}/settings/billing/?checkout=done")

    # The redirect back says "done"; the page still shows the free plan until Stripe's event arrives.
    back = owner_client.get(billing_url(business) + "?checkout=done")
    assert b"data-billing-confirming" in back.content and b'data-plan="free"' in back.content


def test_a_second_upgrade_reuses_the_stripe_customer(owner_client, business, stripe_api):  # noqa: F811
    owner_client.post(billing_url(business, "upgrade/"))
    owner_client.post(billing_url(business, "upgrade/"))
    assert len(stripe_api.calls("/v1/customers")) == 1
    first, second = stripe_api.calls("/v1/checkout/sessions")
    assert first["customer"] == second["customer"]


def test_manage_billing_opens_the_customer_portal(owner_client, business, stripe_api):  # noqa: F811
    refused = owner_client.post(billing_url(business, "portal/"), follow=True)
    assert b"no subscription to manage yet" in refused.content
    owner_client.post(billing_url(business, "upgrade/"))
    response = owner_client.post(billing_url(business, "portal/"))
    assert response.status_code == 303
    assert response["Location"].startswith("https://billing.stripe.test/p/session/bps_")
    [params] = stripe_api.calls("/v1/billing_portal/sessions")
    assert params["customer"] == account_of(business).stripe_customer_id
    assert params["return_url"].endswith(f"/b/{business.slug}/settings/billing/")


def test_an_unknown_price_is_a_message_not_a_500(owner_client, business, stripe_api, settings):  # noqa: F811
    settings.STRIPE_PRICE_PAID_PLAN = "price_nobody_made"
    response = owner_client.post(billing_url(business, "upgrade/"), follow=True)
    assert response.status_code == 200
    assert b"No such price" in response.content
    assert account_of(business).plan == Plan.FREE


# --- Plan state from events -----------------------------------------------------------------------------------


def test_plan_follows_stripes_events(client, business, stripe_webhooks):  # noqa: F811
    now = int(time.time())
    deliver(client, "checkout.session.completed", plan_checkout_completed(business), created=now)
    account = account_of(business)
    assert (account.plan, account.stripe_customer_id, account.stripe_subscription_id) == (
        Plan.PAID,
        "cus_plan",
        "sub_plan",
    )

    deliver(client, "customer.subscription.updated", subscription(business, status="past_due"), created=now + 1)
    account = account_of(business)
    assert (account.plan, account.subscription_status) == (Plan.PAID, "past_due")
    assert int(account.current_period_end.timestamp()) == 1_900_000_000

    deliver(client, "customer.subscription.deleted", subscription(business, status="canceled"), created=now + 2)
    account = account_of(business)
    assert (account.plan, account.subscription_status) == (Plan.FREE, "canceled")


def test_an_event_older_than_the_last_applied_changes_nothing(client, business, stripe_webhooks):  # noqa: F811
    now = int(time.time())
    deliver(client, "customer.subscription.deleted", subscription(business, status="canceled"), created=now)
    response = deliver(client, "customer.subscription.updated", subscription(business), created=now - 60)
    assert response.json()["outcome"].startswith("ignored: older")
    assert account_of(business).plan == Plan.FREE


def test_a_subscription_is_found_by_its_customer_without_metadata(client, business, stripe_webhooks):  # noqa: F811
    with scope(business=business):
        BillingAccount.objects.create(business=business, stripe_customer_id="cus_known")
    bare = subscription(business, customer="cus_known")
    bare["metadata"] = {}
    deliver(client, "customer.subscription.created", bare)
    assert account_of(business).plan == Plan.PAID
    stranger = subscription(business, customer="cus_stranger")
    stranger["metadata"] = {}
    assert deliver(client, "customer.subscription.updated", stranger).json()["outcome"].startswith("ignored")


def test_a_clients_membership_subscription_is_not_a_plan(client, business, stripe_webhooks):  # noqa: F811
    membership = subscription(business)
    membership["metadata"] = {"kind": "booking_payment", "business_id": str(business.pk)}
    assert deliver(client, "customer.subscription.created", membership).json()["outcome"].startswith("ignored")
    assert account_of(business) is None


def test_duplicate_plan_events_are_taken_once(client, business, stripe_webhooks):  # noqa: F811
    payload, signature = signed_event("customer.subscription.updated", subscription(business), event_id="evt_plan")
    for _ in range(3):
        response = client.post(WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
        assert response.status_code == 200
    assert StripeEvent.objects.filter(event_id="evt_plan").count() == 1
    assert account_of(business).plan == Plan.PAID


def test_one_business_s_events_never_touch_another(client, business, stripe_webhooks):  # noqa: F811
    other = BusinessFactory()
    deliver(client, "checkout.session.completed", plan_checkout_completed(business))
    assert account_of(other) is None


# --- Under concurrency (PostgreSQL) -------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_clients_added_at_once_stop_at_the_limit(business, stripe_webhooks, small_free_plan):  # noqa: F811
    needs_postgres()
    with scope(business=business):
        add_clients(business, 2)

    def add(index):
        with scope(business=business):
            return client_create(
                business=business, data=ClientData(first_name=f"Racer{index}", email=f"racer{index}@example.com")
            ).pk

    created, errors = run_at_once(add, threads=8)
    assert len(created) == 1 and len(errors) == 7
    assert all(isinstance(error, ValidationError) for error in errors)
    with scope(business=business):
        assert Client.objects.filter(business=business).count() == 3


# --- No secrets in the repository --------------------------------------------------------------------------------

SECRET_PATTERNS = re.compile(
    r"\b(?:sk|rk)_live_[0-9A-Za-z]{10,}|\b(?:sk|rk)_test_[0-9A-Za-z]{20,}|\bwhsec_[0-9A-Za-z]{20,}"
)


def test_no_stripe_secret_is_in_the_repository():
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    found = []
    for name in listed:
        path = ROOT / name
        if path.suffix in {".png", ".jpg", ".ico", ".woff2", ".sqlite3"} or not path.is_file():
            continue
        if SECRET_PATTERNS.search(path.read_text(errors="ignore")):
            found.append(name)
    assert found == []
