"""Outbound webhooks: a business's endpoints, and the deliveries its domain events write for them.

Each WebhookEvent is the DomainEvent of the same name. Its subscriber (registered in CampaignsConfig.ready) writes
one WebhookDelivery per enabled endpoint that chose it, in the transaction of the change (a rolled-back change
sends nothing), and hands each to a task after commit. Test-drive rows are never sent: they are not the business's
real clients. The payload is `{"type", "timestamp", "data"}`; amounts are integers in minor units with a
`currency`, times are ISO 8601 in UTC.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from businesses.models import Business, DomainEvent

from . import webhook_net
from .models import WEBHOOK_TEST_EVENT, MessageStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .services import task_on_commit

MAX_ENDPOINTS = 10
ROTATION_GRACE = timedelta(hours=24)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


# ------------------------------------------------------------------------------------------------ endpoints


@dataclass
class EndpointData:
    url: str
    events: list[str]
    description: str = ""


def _clean(business: Business, data: EndpointData) -> dict:
    """The endpoint's fields, checked: a public http(s) URL (resolved now, and again before every delivery), at
    least one known event. ValidationError by field otherwise."""
    errors: dict[str, list[str]] = {}
    url = (data.url or "").strip()
    if len(url) > 500:
        errors["url"] = ["Use a URL of up to 500 characters."]
    else:
        try:
            webhook_net.check(url)
        except webhook_net.UnsafeTarget as exc:
            errors["url"] = [str(exc)]
    events = [value for value in WebhookEvent.values if value in set(data.events or [])]
    if not events or len(events) != len(set(data.events or [])):
        errors["events"] = ["Choose at least one of the listed events."]
    description = " ".join((data.description or "").split())
    if len(description) > 200:
        errors["description"] = ["Use up to 200 characters."]
    if errors:
        raise ValidationError(errors)
    return {"url": url, "events": events, "description": description}


@transaction.atomic
def endpoint_create(*, business: Business, data: EndpointData) -> WebhookEndpoint:
    """A new enabled endpoint with its own signing secret. At most MAX_ENDPOINTS per business (counted under the
    business's row lock, so two at once cannot pass it)."""
    values = _clean(business, data)
    Business.objects.select_for_update().filter(pk=business.pk).first()
    if WebhookEndpoint.objects.filter(business=business).count() >= MAX_ENDPOINTS:
        raise ValidationError(f"A business can have up to {MAX_ENDPOINTS} endpoints; delete one first.")
    return WebhookEndpoint.objects.create(business=business, secret=new_secret(), **values)


@transaction.atomic
def endpoint_update(*, business: Business, endpoint: WebhookEndpoint, data: EndpointData) -> WebhookEndpoint:
    values = _clean(business, data)
    locked = WebhookEndpoint.objects.select_for_update().get(business=business, pk=endpoint.pk)
    for field, value in values.items():
        setattr(locked, field, value)
    locked.save(update_fields=list(values))
    return locked


@transaction.atomic
def endpoint_rotate_secret(*, business: Business, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret signs from now on; the current one keeps signing too for ROTATION_GRACE, so the receiver can
    switch. A second rotation within the grace drops the oldest secret at once."""
    locked = WebhookEndpoint.objects.select_for_update().get(business=business, pk=endpoint.pk)
    locked.previous_secret, locked.secret = locked.secret, new_secret()
    locked.previous_secret_expires_at = timezone.now() + ROTATION_GRACE
    locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return locked


@transaction.atomic
def endpoint_set_enabled(*, business: Business, endpoint: WebhookEndpoint, enabled: bool) -> WebhookEndpoint:
    """Enable (clearing why it was disabled) or disable. Deliveries still queued for a disabled endpoint fail
    when their turn comes; the owner can resend them once it is enabled again."""
    locked = WebhookEndpoint.objects.select_for_update().get(business=business, pk=endpoint.pk)
    locked.enabled = enabled
    locked.disabled_reason = "" if enabled else "Disabled by the owner."
    locked.save(update_fields=["enabled", "disabled_reason"])
    return locked


@transaction.atomic
def endpoint_delete(*, business: Business, endpoint: WebhookEndpoint) -> None:
    WebhookEndpoint.objects.filter(business=business, pk=endpoint.pk).delete()


# ------------------------------------------------------------------------------------------------ deliveries


def _enqueue(endpoints: list[WebhookEndpoint], event_type: str, payload: dict) -> list[WebhookDelivery]:
    """One delivery per endpoint in the caller's transaction, each handed to a task after commit. The endpoints
    share the event id (it names the event; the row is unique per endpoint and event)."""
    event_id, now = new_event_id(), timezone.now()
    rows = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            business_id=endpoint.business_id,
            endpoint=endpoint,
            event_type=event_type,
            event_id=event_id,
            payload=payload,
            next_attempt_at=now,
            dispatched_at=now,
            created_at=now,
        )
        for endpoint in endpoints
    )
    for row in rows:
        task_on_commit("deliver_webhook", row.business_id, row.pk)
    return rows


@transaction.atomic
def endpoint_send_test(*, business: Business, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a `webhook.test` event to one endpoint, whatever it subscribed to (refused while it is disabled)."""
    locked = WebhookEndpoint.objects.select_for_update().get(business=business, pk=endpoint.pk)
    if not locked.enabled:
        raise ValidationError("Enable the endpoint before sending it a test event.")
    payload = {
        "type": WEBHOOK_TEST_EVENT,
        "timestamp": iso(timezone.now()),
        "data": {"endpoint_id": locked.pk, "business": {"id": business.pk, "name": business.name}},
    }
    return _enqueue([locked], WEBHOOK_TEST_EVENT, payload)[0]


@transaction.atomic
def delivery_resend(*, business: Business, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a sent or failed delivery again, with the same id (a receiver that already has it can drop it) and a
    fresh round of attempts. Refused while it is still queued or its endpoint is disabled."""
    locked = (
        WebhookDelivery.objects.select_for_update().select_related("endpoint").get(business=business, pk=delivery.pk)
    )
    if locked.status == MessageStatus.QUEUED:
        raise ValidationError("This delivery is still queued; it goes out on its own.")
    if not locked.endpoint.enabled:
        raise ValidationError("Enable the endpoint before sending it anything.")
    now = timezone.now()
    WebhookDelivery.objects.filter(business=business, pk=locked.pk).update(
        status=MessageStatus.QUEUED, attempts=0, next_attempt_at=now, dispatched_at=now, claimed_until=None
    )
    task_on_commit("deliver_webhook", business.pk, locked.pk)
    locked.refresh_from_db()
    return locked


# ------------------------------------------------------------------------------------------------ events → payloads


def _money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


def _client(client) -> dict:
    return {"id": client.pk, "first_name": client.first_name, "last_name": client.last_name, "email": client.email}


def _client_data(event: DomainEvent) -> dict | None:
    from clients.models import Client
    from referrals.testdrive import TEST_DOMAIN

    client = Client.objects.filter(business=event.business, pk=event.subject_id, is_test=False).first()
    # The test drive flags its clients just after creating them; their reserved address already tells.
    if client is None or client.email.lower().endswith(f"@{TEST_DOMAIN}"):
        return None
    return {
        **_client(client),
        "phone": client.phone,
        "source": client.source,
        "referred_by_id": client.referred_by_id,
        "email_consent": client.email_consent,
        "created_at": iso(client.created_at),
    }


def _booking_data(event: DomainEvent) -> dict | None:
    from bookings.models import Booking

    booking = (
        Booking.objects.select_related("client", "service")
        .filter(business=event.business, pk=event.subject_id, is_test=False)
        .first()
    )
    if booking is None:
        return None
    referral = getattr(booking, "referral", None)
    return {
        "id": booking.pk,
        "status": booking.status,
        "client": _client(booking.client),
        "service": {"id": booking.service_id, "name": booking.service.name},
        "starts_at": iso(booking.starts_at),
        "ends_at": iso(booking.ends_at),
        "list_price": _money(booking.list_price, booking.currency),
        "total": _money(booking.total, booking.currency),
        "referral_id": referral.pk if referral is not None else None,
    }


def _referral_data(event: DomainEvent) -> dict | None:
    from referrals.models import Referral

    referral = (
        Referral.objects.select_related("referrer", "referee", "code")
        .filter(business=event.business, pk=event.subject_id, is_test=False)
        .first()
    )
    if referral is None:
        return None
    data = {
        "id": referral.pk,
        "status": referral.status,
        "source": referral.source,
        "code": referral.code.code if referral.code else None,
        "referrer": _client(referral.referrer),
        "referee": _client(referral.referee),
        "booking_id": referral.booking_id,
        "referee_discount": _money(referral.referee_discount, event.business.currency),
        "created_at": iso(referral.created_at),
        "confirmed_at": iso(referral.confirmed_at),
    }
    if event.kind == WebhookEvent.REFERRAL_CONFIRMED:
        data["reward_id"] = event.payload.get("reward_id")
    return data


def _coupon(coupon) -> dict:
    return {
        "id": coupon.pk,
        "code": coupon.code,
        "kind": coupon.kind,
        "amount": _money(coupon.amount, coupon.currency),
        "percent": str(coupon.percent),
        "status": coupon.status,
        "expires_at": iso(coupon.expires_at),
    }


def _reward_data(event: DomainEvent) -> dict | None:
    from rewards.models import Reward

    reward = (
        Reward.objects.select_related("client", "coupon", "store_credit", "points_entry")
        .filter(business=event.business, pk=event.subject_id, is_test=False)
        .first()
    )
    if reward is None:
        return None
    credit, points = reward.store_credit, reward.points_entry
    return {
        "id": reward.pk,
        "kind": reward.kind,
        "status": reward.status,
        "description": reward.description,
        "client": _client(reward.client),
        "referral_id": reward.referral_id,
        "milestone_id": event.payload.get("milestone_id"),
        "coupon": _coupon(reward.coupon) if reward.coupon else None,
        "store_credit": _money(credit.amount, credit.currency) if credit else None,
        "points": points.points if points else None,
        "created_at": iso(reward.created_at),
    }


def _coupon_redeemed_data(event: DomainEvent) -> dict | None:
    from rewards.models import Coupon

    coupon = (
        Coupon.objects.select_related("client").filter(business=event.business, pk=event.subject_id, is_test=False)
    ).first()
    if coupon is None:
        return None
    return {
        **_coupon(coupon),
        "client": _client(coupon.client),
        "booking_id": coupon.redeemed_booking_id,
        "redeemed_at": iso(coupon.redeemed_at),
    }


def _ledger_data(event: DomainEvent) -> dict | None:
    """store_credit.changed and points.changed: the entry, the signed change and the balance after it."""
    from rewards.models import PointsEntry, StoreCreditEntry

    model = StoreCreditEntry if event.kind == WebhookEvent.STORE_CREDIT_CHANGED else PointsEntry
    entry = model.objects.select_related("client").filter(business=event.business, pk=event.subject_id).first()
    if entry is None or entry.client.is_test:
        return None
    data = {
        "entry_id": entry.pk,
        "kind": entry.kind,
        "client": _client(entry.client),
        "booking_id": entry.booking_id,
        "reason": entry.reason,
        "expires_at": iso(entry.expires_at),
        "created_at": iso(entry.created_at),
    }
    if model is StoreCreditEntry:
        return data | {
            "change": _money(event.payload["change"], entry.currency),
            "balance": _money(event.payload["balance"], entry.currency),
        }
    return data | {"change": event.payload["change"], "balance": event.payload["balance"]}


BUILDERS = {
    WebhookEvent.CLIENT_CREATED: _client_data,
    WebhookEvent.BOOKING_CONFIRMED: _booking_data,
    WebhookEvent.REFERRAL_CREATED: _referral_data,
    WebhookEvent.REFERRAL_CONFIRMED: _referral_data,
    WebhookEvent.REWARD_ISSUED: _reward_data,
    WebhookEvent.COUPON_REDEEMED: _coupon_redeemed_data,
    WebhookEvent.STORE_CREDIT_CHANGED: _ledger_data,
    WebhookEvent.POINTS_CHANGED: _ledger_data,
}


def on_domain_event(event: DomainEvent) -> None:
    """The subscriber of every WebhookEvent kind: one indexed query when nobody listens; otherwise the payload,
    built once, and a delivery per subscribed enabled endpoint."""
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(business=event.business, enabled=True)
        if event.kind in endpoint.events
    ]
    if not endpoints:
        return
    data = BUILDERS[event.kind](event)
    if data is None:
        return
    _enqueue(endpoints, event.kind, {"type": event.kind, "timestamp": iso(event.created_at), "data": data})


def subscribe_webhooks() -> None:
    from businesses.events import subscribe

    for kind in WebhookEvent.values:
        subscribe(kind, on_domain_event)
