"""The webhooks pages: owner only, another business's endpoints answer 404, refused URLs say why, and the
owner creates an endpoint, sees its secret, rotates it, sends a test event and resends a delivery."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from campaigns.models import MessageStatus, WebhookDelivery, WebhookEndpoint

from .webhook_receiver import receiving


def url(business, name, *args):
    return reverse(f"campaigns:{name}", args=[business.slug, *args])


@pytest.fixture
def loopback(settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = True


@pytest.fixture
def unscoped():
    """The test reads rows between requests (each request has its own scope)."""
    with scopes_disabled():
        yield


def test_staff_cannot_see_or_change_webhooks(business, staff_client):
    assert staff_client.get(url(business, "webhooks")).status_code == 403
    assert staff_client.post(url(business, "webhook_new"), {"url": "https://x.example.com"}).status_code == 403
    assert "Webhooks" not in staff_client.get(url(business, "index")).content.decode()


def test_another_business_endpoint_answers_404(business, owner_client, other_business):
    with scope(business=other_business):
        theirs = WebhookEndpoint.objects.create(
            business=other_business, url="https://them.example.com/", events=["client.created"], secret="whsec_AAAA"
        )
        delivery = WebhookDelivery.objects.create(
            business=other_business, endpoint=theirs, event_type="x", event_id="msg_x", payload={}, status="failed"
        )
    for name, args in [
        ("webhook", [theirs.pk]),
        ("webhook_edit", [theirs.pk]),
        ("webhook_delivery", [theirs.pk, delivery.pk]),
    ]:
        assert owner_client.get(url(business, name, *args)).status_code == 404
    for name, args in [
        ("webhook_rotate", [theirs.pk]),
        ("webhook_toggle", [theirs.pk]),
        ("webhook_test", [theirs.pk]),
        ("webhook_delete", [theirs.pk]),
        ("webhook_resend", [theirs.pk, delivery.pk]),
    ]:
        assert owner_client.post(url(business, name, *args)).status_code == 404
    with scopes_disabled():
        theirs.refresh_from_db()
        assert theirs.secret == "whsec_AAAA" and theirs.enabled
        assert WebhookDelivery.objects.get(pk=delivery.pk).status == "failed"


def test_a_refused_url_says_why_and_saves_nothing(business, owner_client):
    response = owner_client.post(
        url(business, "webhook_new"), {"url": "http://169.254.169.254/latest/", "events": ["client.created"]}
    )
    assert response.status_code == 400
    assert "link-local address" in response.content.decode()
    response = owner_client.post(url(business, "webhook_new"), {"url": "https://1.1.1.1/", "events": ["nope"]})
    assert response.status_code == 400 and "Choose among the listed events" in response.content.decode()
    with scopes_disabled():
        assert not WebhookEndpoint.objects.exists()


def test_the_owner_creates_tests_rotates_and_resends(
    business, owner_client, loopback, unscoped, django_capture_on_commit_callbacks
):
    assert "See the webhooks" in owner_client.get(url(business, "index")).content.decode()
    with receiving(statuses=[500, 200]) as receiver:
        response = owner_client.post(
            url(business, "webhook_new"),
            {"url": receiver.url(), "description": "CRM", "events": ["client.created", "points.changed"]},
        )
        with scopes_disabled():
            endpoint = WebhookEndpoint.objects.get()
        assert response.status_code == 302 and response["Location"] == url(business, "webhook", endpoint.pk)
        assert endpoint.events == ["client.created", "points.changed"] and endpoint.description == "CRM"
        receiver.secrets = [endpoint.secret]
        page = owner_client.get(url(business, "webhook", endpoint.pk)).content.decode()
        assert endpoint.secret in page and "Nothing sent yet" in page

        with django_capture_on_commit_callbacks(execute=True):
            owner_client.post(url(business, "webhook_test", endpoint.pk))
        with scopes_disabled():
            delivery = WebhookDelivery.objects.get()
        assert delivery.event_type == "webhook.test" and delivery.status == MessageStatus.QUEUED
        assert delivery.last_status_code == 500  # the first answer; retried later by the sweep
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=MessageStatus.FAILED)
        page = owner_client.get(url(business, "webhook_delivery", endpoint.pk, delivery.pk)).content.decode()
        assert "answer 500" in page and "Send again" in page and "webhook.test" in page

        with django_capture_on_commit_callbacks(execute=True):
            response = owner_client.post(url(business, "webhook_resend", endpoint.pk, delivery.pk))
        assert response.status_code == 302
        delivery.refresh_from_db()
        assert delivery.status == MessageStatus.SENT and delivery.last_status_code == 200
    assert [r.verified_with for r in receiver.requests] == [[endpoint.secret]] * 2
    assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery.event_id}

    old = endpoint.secret
    owner_client.post(url(business, "webhook_rotate", endpoint.pk))
    endpoint.refresh_from_db()
    page = owner_client.get(url(business, "webhook", endpoint.pk)).content.decode()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert endpoint.secret in page and "The previous secret also signs until" in page

    owner_client.post(url(business, "webhook_toggle", endpoint.pk), {"enabled": "0"})
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    response = owner_client.post(url(business, "webhook_test", endpoint.pk), follow=True)
    assert "Enable the endpoint" in response.content.decode()

    response = owner_client.post(
        url(business, "webhook_edit", endpoint.pk), {"url": receiver.url(), "events": ["client.created"]}
    )
    endpoint.refresh_from_db()
    assert response.status_code == 302 and endpoint.events == ["client.created"]
    owner_client.post(url(business, "webhook_delete", endpoint.pk))
    with scopes_disabled():
        assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()


def test_the_list_shows_each_endpoint_and_its_failures(business, owner_client):
    with scope(business=business):
        endpoint = WebhookEndpoint.objects.create(
            business=business, url="https://hooks.example.com/in", events=["reward.issued"], secret="whsec_AAAA"
        )
        WebhookDelivery.objects.create(
            business=business, endpoint=endpoint, event_type="x", event_id="msg_1", payload={}, status="failed"
        )
    page = owner_client.get(url(business, "webhooks")).content.decode()
    assert "https://hooks.example.com/in" in page and "1 failed" in page and "reward.issued" in page
