"""Domain events write webhook deliveries through the real services: one per subscribed enabled endpoint, in the
transaction of the change, none for other endpoints or other businesses, none for test-drive rows."""

from __future__ import annotations

import pytest
from django.db import transaction
from django_scopes import scope, scopes_disabled

from bookings.services import booking_confirm
from campaigns.models import MessageStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from campaigns.webhooks import new_secret
from referrals.models import Referral
from referrals.services import booking_create_with_referral
from rewards.ledger import points_adjust, store_credit_grant
from rewards.models import Coupon, Reward
from tests.referrals.conftest import make_client, make_program, make_service, soon

from .conftest import referred_booking


def endpoint(business, events, url="https://hooks.example.com/in", **fields):
    """Made directly: the events test does not deliver, so its URL is never resolved."""
    return WebhookEndpoint.objects.create(
        business=business, url=url, events=list(events), secret=new_secret(), **fields
    )


def deliveries(event_type=None, **filters):
    rows = WebhookDelivery.objects.filter(**filters)
    return list(rows.filter(event_type=event_type) if event_type else rows)


@pytest.fixture
def everything(in_scope):
    return endpoint(in_scope, WebhookEvent.values)


def test_each_event_type_writes_one_delivery_per_subscribed_endpoint(
    in_scope, everything, other_business, django_capture_on_commit_callbacks
):
    clients_only = endpoint(in_scope, ["client.created"], url="https://crm.example.com/in")
    endpoint(in_scope, WebhookEvent.values, url="https://off.example.com/", enabled=False)
    with scope(business=other_business):
        theirs = endpoint(other_business, WebhookEvent.values, url="https://them.example.com/")
    massage = make_service(in_scope)
    make_program(in_scope, [massage])

    with django_capture_on_commit_callbacks() as callbacks:
        anna = make_client(in_scope, "Anna", "Berg", email="anna@example.com")
    [created] = deliveries("client.created", endpoint=everything)
    assert created.payload["type"] == "client.created" and created.payload["timestamp"].endswith("Z")
    data = created.payload["data"]
    assert (data["id"], data["first_name"], data["last_name"], data["email"]) == (anna.pk, "Anna", "Berg", anna.email)
    [for_crm] = deliveries("client.created", endpoint=clients_only)
    assert for_crm.event_id == created.event_id and for_crm.pk != created.pk
    assert [c.__name__ for c in callbacks] == ["deliver_after_commit", "deliver_after_commit"]

    booking = referred_booking(in_scope, anna, massage)  # creates Bob: client.created, and the referral
    referral = Referral.objects.get(booking=booking)
    [made] = deliveries("referral.created", endpoint=everything)
    assert made.payload["data"]["referrer"]["id"] == anna.pk and made.payload["data"]["status"] == referral.status
    assert made.payload["data"]["referee_discount"] == {"amount": 15_00, "currency": in_scope.currency}
    assert not deliveries("booking.confirmed")

    booking_confirm(business=in_scope, booking=booking)
    [confirmed] = deliveries("booking.confirmed", endpoint=everything)
    data = confirmed.payload["data"]
    assert (data["id"], data["status"], data["referral_id"]) == (booking.pk, "confirmed", referral.pk)
    assert data["total"] == {"amount": 85_00, "currency": in_scope.currency}
    assert data["service"]["name"] == massage.name
    reward = Reward.objects.get(referral=referral)
    [ref_confirmed] = deliveries("referral.confirmed", endpoint=everything)
    assert ref_confirmed.payload["data"]["reward_id"] == reward.pk
    [issued] = deliveries("reward.issued", endpoint=everything)
    coupon = Coupon.objects.get(pk=reward.coupon_id)
    assert issued.payload["data"]["coupon"]["code"] == coupon.code
    assert issued.payload["data"]["coupon"]["amount"] == {"amount": 20_00, "currency": in_scope.currency}

    used = booking_create_with_referral(
        business=in_scope, client=anna, service=massage, starts_at=soon(), coupon_code=coupon.code
    )
    [redeemed] = deliveries("coupon.redeemed", endpoint=everything)
    assert (redeemed.payload["data"]["code"], redeemed.payload["data"]["booking_id"]) == (coupon.code, used.pk)

    store_credit_grant(business=in_scope, client=anna, amount=12_50, reason="Goodwill")
    store_credit_grant(business=in_scope, client=anna, amount=5_00, reason="More")
    credit = deliveries("store_credit.changed", endpoint=everything)
    assert len(credit) == 2
    assert {d.payload["data"]["balance"]["amount"] for d in credit} == {12_50, 17_50}
    assert {d.payload["data"]["change"]["amount"] for d in credit} == {12_50, 5_00}

    points_adjust(business=in_scope, client=anna, points=40, reason="Welcome gift")
    [points] = deliveries("points.changed", endpoint=everything)
    assert (points.payload["data"]["change"], points.payload["data"]["balance"]) == (40, 40)

    # Exactly one of each kind for the all-events endpoint (two clients, two grants); the client-only endpoint
    # got only the two clients; the disabled one and the other business's got nothing.
    kinds = sorted(d.event_type for d in deliveries(endpoint=everything))
    expected = ["client.created", "client.created", "referral.created", "booking.confirmed", "referral.confirmed"]
    expected += ["reward.issued", "coupon.redeemed", "store_credit.changed", "store_credit.changed", "points.changed"]
    assert kinds == sorted(expected)
    assert sorted(d.event_type for d in deliveries(endpoint=clients_only)) == ["client.created"] * 2
    with scopes_disabled():
        assert WebhookDelivery.objects.filter(endpoint__enabled=False).count() == 0
        assert WebhookDelivery.objects.filter(endpoint=theirs).count() == 0
    assert all(d.status == MessageStatus.QUEUED and d.attempts == 0 for d in deliveries())


def test_a_booking_confirmed_on_creation_sends_booking_confirmed_once(in_scope, everything):
    from bookings.services import booking_create

    massage = make_service(in_scope)
    client = make_client(in_scope, "Cleo")
    booking = booking_create(business=in_scope, client=client, service=massage, starts_at=soon(), status="confirmed")
    booking_confirm(business=in_scope, booking=booking)  # already confirmed: nothing more
    assert len(deliveries("booking.confirmed")) == 1


def test_a_rolled_back_change_writes_no_delivery(in_scope, everything, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        make_client(in_scope, "Gone", email="gone@example.com")
        assert len(deliveries("client.created")) == 1  # written inside the transaction…
        raise RuntimeError("the change fails after the event")
    assert deliveries() == []  # …and gone with it
    assert callbacks == []  # and no task was handed out


def test_an_endpoint_that_did_not_choose_the_event_gets_nothing(in_scope):
    endpoint(in_scope, ["points.changed"])
    make_client(in_scope, "Dora")
    assert deliveries() == []


def test_test_drive_rows_are_never_sent(in_scope, everything, owner):
    from referrals.testdrive import program_test_drive

    make_program(in_scope, [make_service(in_scope)])
    program_test_drive(business=in_scope, actor=owner)
    assert deliveries() == []


def test_the_webhook_event_names_match_the_domain_events(in_scope):
    """Every WebhookEvent is a DomainEvent kind some service records (a rename would silently stop webhooks)."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    recorded = set()
    for path in root.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        text = path.read_text()
        recorded |= set(re.findall(r'kind="([a-z_]+\.[a-z_]+)"', text))
        recorded |= set(re.findall(r'"([a-z_]+\.changed)"', text))
    assert set(WebhookEvent.values) <= recorded
