"""Sending outbox messages: one delivery claims its message, sends it through Django's e-mail backend and records
the outcome; the sweep finds what lost tasks left queued.

Delivery is at least once. A message is claimed with a conditional UPDATE that sets a lease (`claimed_until`), so
two tasks for one message (a retry and the sweep, a redelivered task) never send it at the same time, and no
transaction stays open while the mail server is talked to. A worker that dies mid-send leaves the message queued
with a lease that runs out; the sweep sends it again.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr

from anymail.exceptions import AnymailInvalidAddress, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django_scopes import scopes_disabled

from businesses.models import Business, Membership, Role

from .models import MessageStatus, MessagingSettings, OutboxMessage
from .unsubscribe import unsubscribe_url

logger = logging.getLogger(__name__)

# Seconds to wait after the 1st, 2nd, 3rd failed attempt; the attempt after the last one is final. Kept far below
# the broker's visibility timeout (an hour), so a countdown never outlives it.
BACKOFF = (30, 120, 600)
MAX_ATTEMPTS = len(BACKOFF) + 1
LEASE = timedelta(minutes=5)
# A queued message whose task was sent this long ago and has not gone out is handed to a new task.
STALE_AFTER = timedelta(minutes=5)
# A retry may run a little before its send_after (clocks of worker and database differ).
EARLY = timedelta(seconds=5)
SWEEP_BATCH = 500


@dataclass(frozen=True)
class Delivery:
    outcome: str  # sent, retry, failed, skipped
    retry_in: int | None = None


def sender_for(business: Business) -> tuple[str, list[str]]:
    """ "Sender name <platform address>" (only the platform's domain is ours to send from), replying to the address
    the business chose, else its owner. The name defaults to the business's."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    chosen = MessagingSettings.objects.filter(business=business).first()
    name = (chosen.sender_name if chosen else "") or business.name
    if chosen is not None and chosen.reply_to:
        return formataddr((name, address)), [chosen.reply_to]
    owner = (
        Membership.objects.filter(business=business, role=Role.OWNER)
        .select_related("user")
        .order_by("created_at", "id")
        .first()
    )
    reply_to = [owner.user.email] if owner is not None and owner.user.email else []
    return formataddr((name, address)), reply_to


def email_for(business: Business, message: OutboxMessage) -> EmailMultiAlternatives:
    """The e-mail of an outbox message. Marketing carries the client's unsubscribe link in its footer and the
    List-Unsubscribe headers (RFC 2369, and RFC 8058 one-click); transactional messages carry neither."""
    from_email, reply_to = sender_for(business)
    headers = {"X-Outbox-Id": f"{business.pk}-{message.pk}"}
    body, unsubscribe = message.body_text, ""
    if message.marketing and message.client_id:
        unsubscribe = unsubscribe_url(business_id=business.pk, client_id=message.client_id, channel=message.channel)
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        body = render_to_string("emails/unsubscribe_footer.txt", {"body": body, "unsubscribe_url": unsubscribe})
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=body,
        from_email=from_email,
        to=[message.to_address],
        reply_to=reply_to,
        headers=headers,
    )
    if message.body_html:
        html = render_to_string(
            "emails/marketing.html" if unsubscribe else "emails/message.html",
            {
                "body": mark_safe(message.body_html),
                "business_name": business.name,
                "subject": message.subject,
                "unsubscribe_url": unsubscribe,
            },
        )
        email.attach_alternative(html, "text/html")
    return email


def outbox_deliver(*, business: Business, message_id: int, now: datetime | None = None) -> Delivery:
    """Send one queued, due message. Claims it with a conditional UPDATE (a lease): a concurrent delivery of the
    same message skips. A failure is recorded with a backoff; after MAX_ATTEMPTS the message is failed."""
    now = now or timezone.now()
    claimed = (
        OutboxMessage.objects.filter(
            business=business, pk=message_id, status=MessageStatus.QUEUED, send_after__lte=now + EARLY
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + LEASE)
    )
    if not claimed:
        return Delivery("skipped")
    message = OutboxMessage.objects.select_related("client").get(business=business, pk=message_id)
    if message.marketing and (message.client is None or not message.client.email_consent):
        # Consent withdrawn while a delayed marketing message waited: it is not sent.
        OutboxMessage.objects.filter(business=business, pk=message.pk).update(
            status=MessageStatus.SUPPRESSED, suppressed_reason="No consent to marketing e-mail.", claimed_until=None
        )
        return Delivery("skipped")
    try:
        email_for(business, message).send()
    except Exception as exc:  # any backend or network error: recorded on the row and retried
        return _failed(business, message, exc, now)
    OutboxMessage.objects.filter(business=business, pk=message.pk).update(
        status=MessageStatus.SENT,
        sent_at=timezone.now(),
        attempts=F("attempts") + 1,
        last_error="",
        claimed_until=None,
    )
    return Delivery("sent")


# SMTP codes of a refusal that is about our own set-up (authentication), not the message: worth retrying once fixed.
_SMTP_SETUP_CODES = frozenset({530, 534, 535})


def is_permanent(exc: Exception) -> bool:
    """True when the provider refused this message for good (an unknown mailbox, an address it will not take):
    sending it again would fail the same way, so it fails at once instead of after every retry."""
    if isinstance(exc, AnymailRecipientsRefused | AnymailInvalidAddress | smtplib.SMTPRecipientsRefused):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600 and exc.smtp_code not in _SMTP_SETUP_CODES
    return False


def _failed(business: Business, message: OutboxMessage, exc: Exception, now: datetime) -> Delivery:
    attempts = message.attempts + 1
    permanent = is_permanent(exc)
    error = f"{'Refused for good: ' if permanent else ''}{type(exc).__name__}: {exc}"[:500]
    logger.warning("Outbox message %s of business %s failed (attempt %s): %s", message.pk, business.pk, attempts, error)
    rows = OutboxMessage.objects.filter(business=business, pk=message.pk)
    if permanent or attempts >= MAX_ATTEMPTS:
        rows.update(status=MessageStatus.FAILED, attempts=attempts, last_error=error, claimed_until=None)
        return Delivery("failed")
    wait = BACKOFF[attempts - 1]
    # The retry task is this row's dispatch now; should it be lost, the sweep takes over once it is stale.
    rows.update(
        attempts=attempts,
        last_error=error,
        claimed_until=None,
        send_after=now + timedelta(seconds=wait),
        dispatched_at=now + timedelta(seconds=wait),
    )
    return Delivery("retry", retry_in=wait)


def outbox_due_for_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> list[tuple[int, int]]:
    """(business id, message id) of queued messages that are due and whose task is missing: never sent (a delayed
    message) or sent more than STALE_AFTER ago (lost with a broker outage or a crashed worker). Across businesses,
    with FOR UPDATE SKIP LOCKED, and marked as dispatched in the same transaction, so overlapping sweeps hand each
    message out once."""
    now = now or timezone.now()
    with scopes_disabled(), transaction.atomic():
        due = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=MessageStatus.QUEUED, send_after__lte=now)
            .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lte=now - STALE_AFTER))
            .order_by("send_after", "id")
            .values_list("business_id", "id")[:limit]
        )
        if due:
            OutboxMessage.objects.filter(pk__in=[pk for _, pk in due]).update(dispatched_at=now)
    return due
