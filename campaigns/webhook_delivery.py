"""Delivering webhooks: one attempt claims its row, signs the payload the Standard Webhooks way, POSTs it to the
checked address of the endpoint and records the outcome; the sweep hands out what is due and has no task.

The same pattern as the e-mail outbox (campaigns/delivery.py, whose lease and sweep constants it shares): a
conditional UPDATE claims a lease, so two tasks never post one delivery at the same time, and no transaction stays
open while the receiver is talked to. Retries wait far longer than e-mail's (up to 12 hours, a day in all), longer
than a broker may hold a countdown, so a failed attempt leaves its next time on the row and the sweep sends it.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_scopes import scopes_disabled
from standardwebhooks import Webhook

from businesses.models import Business

from . import webhook_net
from .delivery import EARLY, LEASE, STALE_AFTER, SWEEP_BATCH, Delivery
from .models import MessageStatus, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

# Seconds to wait after the 1st, 2nd, … failed attempt: about 23 hours in all; the attempt after the last is final.
BACKOFF = (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)
MAX_ATTEMPTS = len(BACKOFF) + 1
HISTORY_SIZE = 20
EXCERPT = 200


def body_of(delivery: WebhookDelivery) -> str:
    """The exact bytes that are signed and sent (compact JSON of the stored payload)."""
    return json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)


def signed_headers(endpoint: WebhookEndpoint, delivery: WebhookDelivery, body: str, now: datetime) -> dict[str, str]:
    """webhook-id, webhook-timestamp and webhook-signature: one v1 signature per valid secret, space-separated,
    so during a rotation a receiver holding either the old or the new secret verifies the message."""
    signatures = [Webhook(secret).sign(delivery.event_id, now, body) for secret in endpoint.secrets(now)]
    return {
        "Content-Type": "application/json",
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def webhook_deliver(*, business: Business, delivery_id: int, now: datetime | None = None) -> Delivery:
    """Make one attempt at a queued, due delivery. 2xx: sent. 410 Gone: the endpoint is disabled and the delivery
    fails. Anything else (another status, a timeout, a refused address): retried with BACKOFF, failed after
    MAX_ATTEMPTS. A concurrent attempt at the same row skips."""
    now = now or timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(
            business=business, pk=delivery_id, status=MessageStatus.QUEUED, next_attempt_at__lte=now + EARLY
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + LEASE)
    )
    if not claimed:
        return Delivery("skipped")
    delivery = WebhookDelivery.objects.select_related("endpoint").get(business=business, pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        _record(delivery, now, status=MessageStatus.FAILED, error="The endpoint is disabled.", attempted=False)
        return Delivery("failed")
    body = body_of(delivery)
    code, excerpt, error = None, "", ""
    try:
        target = webhook_net.check(endpoint.url)
        response = webhook_net.post(target, body.encode(), signed_headers(endpoint, delivery, body, now))
        code, excerpt = response.status, response.body
    except webhook_net.UnsafeTarget as exc:
        error = f"Refused: {exc}"
    except Exception as exc:  # a timeout, a refused connection, a TLS error: recorded and retried
        error = f"{type(exc).__name__}: {exc}"
    if code is not None and 200 <= code < 300:
        _record(delivery, now, status=MessageStatus.SENT, code=code, excerpt=excerpt)
        return Delivery("sent")
    if code == 410:
        reason = f"The endpoint answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC."
        WebhookEndpoint.objects.filter(business=business, pk=endpoint.pk).update(enabled=False, disabled_reason=reason)
        _record(delivery, now, status=MessageStatus.FAILED, code=code, excerpt=excerpt, error="410 Gone")
        return Delivery("failed")
    error = error or f"The endpoint answered {code}."
    logger.info("Webhook %s of business %s failed: %s", delivery.pk, business.pk, error)
    attempts = delivery.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        _record(delivery, now, status=MessageStatus.FAILED, code=code, excerpt=excerpt, error=error)
        return Delivery("failed")
    wait = BACKOFF[attempts - 1]
    _record(delivery, now, status=MessageStatus.QUEUED, code=code, excerpt=excerpt, error=error, retry_in=wait)
    return Delivery("retry", retry_in=wait)


def _record(
    delivery: WebhookDelivery,
    now: datetime,
    *,
    status: str,
    code: int | None = None,
    excerpt: str = "",
    error: str = "",
    retry_in: int | None = None,
    attempted: bool = True,
) -> None:
    """Write the attempt's outcome and release the lease. The lease makes this read-modify-write of the history
    safe: nobody else writes the row meanwhile."""
    fields: dict[str, object] = {"status": status, "claimed_until": None, "last_error": error[:500]}
    if attempted:
        entry = {"at": now.isoformat(), "status_code": code, "error": error[:300], "response": excerpt[:EXCERPT]}
        fields |= {
            "attempts": F("attempts") + 1,
            "last_status_code": code,
            "last_response": excerpt,
            "last_attempt_at": now,
            "history": [*delivery.history, entry][-HISTORY_SIZE:],
        }
    if status == MessageStatus.SENT:
        fields["sent_at"] = timezone.now()
    if retry_in is not None:
        # No task waits for it: the sweep hands it out once it is due.
        fields |= {"next_attempt_at": now + timedelta(seconds=retry_in), "dispatched_at": None}
    WebhookDelivery.objects.filter(business_id=delivery.business_id, pk=delivery.pk).update(**fields)


def webhooks_due_for_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> list[tuple[int, int]]:
    """(business id, delivery id) of queued deliveries that are due and have no live task: a retry whose time
    came, or one whose task was lost (sent more than STALE_AFTER ago). Marked as dispatched in the same
    transaction, with SKIP LOCKED, so overlapping sweeps hand each out once."""
    now = now or timezone.now()
    with scopes_disabled(), transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=MessageStatus.QUEUED, next_attempt_at__lte=now)
            .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lte=now - STALE_AFTER))
            .order_by("next_attempt_at", "id")
            .values_list("business_id", "id")[:limit]
        )
        if due:
            WebhookDelivery.objects.filter(pk__in=[pk for _, pk in due]).update(dispatched_at=now)
    return due
