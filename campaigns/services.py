"""Use cases of campaigns: writing messages to the outbox, resending one, saving an autopilot's settings."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from businesses.events import event_record
from businesses.models import Business
from clients.models import Client

from . import sandbox
from .models import Autopilot, Channel, MessageStatus, MessagingSettings, OutboxMessage, Promotion, Suppression
from .sandbox import Rendered
from .wording import DEFAULTS, sample_variables

logger = logging.getLogger(__name__)


def suppression_reason(*, client: Client | None, address: str, marketing: bool) -> str:
    """Why this message must not go out, or "" if it may. Transactional messages skip only the consent check."""
    if client is not None:
        if client.erased_at:
            return "The client was erased."
        if client.is_test:
            return "Test client: test-drive messages are never sent."
    if not address:
        return "No e-mail address."
    domain = address.rpartition("@")[2].lower()
    if domain == "invalid" or domain.endswith(".invalid"):
        return "Reserved .invalid address."
    try:
        validate_email(address)
    except ValidationError:
        return "Not a valid e-mail address."
    if marketing and (client is None or not client.email_consent):
        return "No consent to marketing e-mail."
    return ""


def task_on_commit(task_name: str, *args) -> None:
    """Send the campaigns task `task_name` once the caller's transaction commits. Not Celery's delay_on_commit:
    that lets a broker error escape after the commit, so a confirmation that did commit would answer 500.
    robust=True logs it instead; the row stays queued and its sweep sends it."""

    def deliver_after_commit() -> None:
        from . import tasks

        getattr(tasks, task_name).delay(*args)

    transaction.on_commit(deliver_after_commit, robust=True)


def _dispatch_on_commit(message: OutboxMessage) -> None:
    task_on_commit("deliver_message", message.business_id, message.pk)


def outbox_enqueue(
    *,
    business: Business,
    key: str,
    template: str,
    content: Rendered,
    client: Client | None = None,
    to_address: str | None = None,
    marketing: bool = False,
    send_after: datetime | None = None,
) -> OutboxMessage:
    """Write a message in the caller's transaction; deliver it after commit. Idempotent on `key` per business (a
    savepoint and the unique constraint): a second call, concurrent or not, returns the first message and sends
    nothing more. A message that must not go out (test or erased client, no or reserved address, no consent for
    marketing) is kept as suppressed, with the reason."""
    address = (to_address if to_address is not None else (client.email if client else "")).strip()
    reason = suppression_reason(client=client, address=address, marketing=marketing)
    now = timezone.now()
    due = max(send_after or now, now)
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(
                business=business,
                channel=Channel.EMAIL,
                client=client,
                to_address=address,
                template=template,
                marketing=marketing,
                subject=content.subject,
                body_text=content.text,
                body_html=content.html,
                status=MessageStatus.SUPPRESSED if reason else MessageStatus.QUEUED,
                suppressed_reason=reason,
                idempotency_key=key,
                send_after=due,
                dispatched_at=now if not reason and due <= now else None,
                created_at=now,
            )
    except IntegrityError:
        return OutboxMessage.objects.get(business=business, idempotency_key=key)
    if message.dispatched_at:
        _dispatch_on_commit(message)
    # A delayed message has no task yet: the sweep sends it once it is due (no countdown outlives the broker).
    return message


@transaction.atomic
def outbox_resend(*, business: Business, message: OutboxMessage) -> OutboxMessage:
    """Queue a failed message again with a fresh round of attempts. Locks the row; only a failed message moves."""
    locked = OutboxMessage.objects.select_for_update().get(business=business, pk=message.pk)
    if locked.status != MessageStatus.FAILED:
        raise ValidationError("Only a message that failed can be sent again.")
    now = timezone.now()
    locked.status, locked.attempts, locked.send_after, locked.dispatched_at = MessageStatus.QUEUED, 0, now, now
    locked.claimed_until = None
    locked.save(update_fields=["status", "attempts", "send_after", "dispatched_at", "claimed_until"])
    _dispatch_on_commit(locked)
    return locked


def autopilot_get(*, business: Business, kind: str) -> Autopilot:
    """The business's settings for `kind`, or an unsaved one with the defaults (nothing is written on read)."""
    found = Autopilot.objects.filter(business=business, kind=kind).first()
    if found is not None:
        return found
    subject, body = DEFAULTS[kind]
    return Autopilot(business=business, kind=kind, subject=subject, body=body, **TIMING_DEFAULTS.get(kind, {}))


@transaction.atomic
def autopilot_save(
    *,
    business: Business,
    kind: str,
    enabled: bool,
    subject: str,
    body: str,
    delay_minutes: int | None = None,
    days_before: int | None = None,
    frequency_days: int | None = None,
    promotion: Promotion | None = None,
) -> Autopilot:
    """Save an autopilot's settings (a timing left as None keeps its current value). Refuses (ValidationError by
    field) a template that does not compile, a timing out of range and another business's promotion."""
    errors: dict[str, list[str]] = {}
    for field, source in (("subject", subject), ("body", body)):
        try:
            sandbox.check(source, sample_variables(business, kind))
        except sandbox.TemplateSyntaxError as exc:
            errors[field] = [str(exc)]
    if delay_minutes is not None and not 0 <= delay_minutes <= MAX_DELAY_MINUTES:
        errors["delay_minutes"] = [f"Choose between 0 and {MAX_DELAY_MINUTES} minutes (30 days)."]
    if days_before is not None and not MIN_DAYS_BEFORE <= days_before <= MAX_DAYS_BEFORE:
        errors["days_before"] = [f"Choose between {MIN_DAYS_BEFORE} and {MAX_DAYS_BEFORE} days."]
    if frequency_days is not None and not MIN_FREQUENCY_DAYS <= frequency_days <= MAX_FREQUENCY_DAYS:
        errors["frequency_days"] = [f"Choose between {MIN_FREQUENCY_DAYS} and {MAX_FREQUENCY_DAYS} days."]
    if promotion is not None and (promotion.business_id != business.pk or kind != "referral_thank_you"):
        errors["promotion"] = ["Choose one of this business's promotions (only the thank-you can carry one)."]
    if errors:
        raise ValidationError(errors)
    defaults: dict[str, object] = {
        "enabled": enabled,
        "subject": subject,
        "body": body,
        "promotion": promotion,
        "updated_at": timezone.now(),
    }
    if delay_minutes is not None:
        defaults["delay_minutes"] = delay_minutes
    if days_before is not None:
        defaults["days_before"] = days_before
    if frequency_days is not None:
        defaults["frequency_days"] = frequency_days
    # A first save keeps the kind's own timing defaults for what it does not set.
    autopilot, _ = Autopilot.objects.update_or_create(
        business=business, kind=kind, defaults=defaults, create_defaults={**TIMING_DEFAULTS.get(kind, {}), **defaults}
    )
    return autopilot


@transaction.atomic
def client_unsubscribe(
    *, business: Business, client: Client, channel: str = Channel.EMAIL, reason: str = "unsubscribe_link"
) -> Suppression:
    """The client withdraws marketing consent on `channel`: consent off with the time it changed (clients has no
    consent-only service, so the same two fields client_update keeps), a Suppression row, a DomainEvent for the
    audit trail, and the marketing still queued for them suppressed. Idempotent: a second call changes nothing."""
    if channel != Channel.EMAIL:
        raise ValidationError("Only e-mail can be unsubscribed.")
    now = timezone.now()
    locked = Client.objects.select_for_update().get(business=business, pk=client.pk)
    changed = Client.objects.filter(business=business, pk=locked.pk, email_consent=True).update(
        email_consent=False, email_consent_changed_at=now
    )
    suppression, created = Suppression.objects.get_or_create(
        business=business, client=locked, channel=channel, defaults={"reason": reason, "created_at": now}
    )
    OutboxMessage.objects.filter(business=business, client=locked, marketing=True, status=MessageStatus.QUEUED).update(
        status=MessageStatus.SUPPRESSED, suppressed_reason="The client unsubscribed."
    )
    if changed or created:
        event_record(business=business, kind="client.unsubscribed", subject=locked, channel=channel, reason=reason)
    return suppression


MAX_DELAY_MINUTES = int(timedelta(days=30).total_seconds() // 60)
MIN_DAYS_BEFORE, MAX_DAYS_BEFORE = 1, 60
MIN_FREQUENCY_DAYS, MAX_FREQUENCY_DAYS = 1, 365
# Settings a kind starts with when they differ from the model's defaults.
TIMING_DEFAULTS: dict[str, dict[str, int | bool]] = {
    "encourage_referrals": {"delay_minutes": 2 * 24 * 60, "frequency_days": 60},
}


@transaction.atomic
def messaging_settings_save(*, business: Business, sender_name: str, reply_to: str) -> MessagingSettings:
    """Save the sender name and reply-to address of the business's e-mail (empty: the defaults). ValidationError
    by field for a name that would break the From header or an address that is not one."""
    sender_name, reply_to = " ".join((sender_name or "").split()), (reply_to or "").strip()
    errors: dict[str, list[str]] = {}
    if len(sender_name) > 100 or any(char in sender_name for char in '<>@"'):
        errors["sender_name"] = ["Use up to 100 characters, without < > @ or quotes."]
    if reply_to:
        try:
            validate_email(reply_to)
        except ValidationError:
            errors["reply_to"] = ["Enter a valid e-mail address, or leave it empty."]
    if errors:
        raise ValidationError(errors)
    saved, _ = MessagingSettings.objects.update_or_create(
        business=business,
        defaults={"sender_name": sender_name, "reply_to": reply_to, "updated_at": timezone.now()},
    )
    return saved
