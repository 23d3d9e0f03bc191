from __future__ import annotations

from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from businesses.models import Business
from clients.models import Client


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SUPPRESSED = "suppressed", "Suppressed"


class OutboxMessage(models.Model):
    """One message to one recipient, written in the transaction of the change that causes it.

    Delivery is at least once: a task sends it after commit, and the periodic sweep sends whatever a lost task left
    queued. The idempotency key (unique per business) makes a trigger that fires twice write one row.
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    client = models.ForeignKey(Client, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages")
    to_address = models.CharField(max_length=254, blank=True)
    template = models.CharField(max_length=50, help_text="What made this message, e.g. referral_thank_you.")
    marketing = models.BooleanField(default=False, help_text="Needs consent; transactional messages do not.")
    subject = models.CharField(max_length=200)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    suppressed_reason = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=120)
    send_after = models.DateTimeField(default=timezone.now)
    # When a delivery task was last sent for it; the sweep re-sends a task only once this is a few minutes old.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # A delivery holds the message until then; a worker that dies mid-send lets it go when the lease runs out.
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["business", "idempotency_key"], name="outbox_unique_key"),
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False), name="outbox_sent_has_time"
            ),
        ]
        indexes = [
            models.Index(fields=["business", "-created_at", "-id"], name="outbox_business_newest"),
            models.Index(fields=["business", "status", "-created_at", "-id"], name="outbox_business_status"),
            models.Index(fields=["business", "client", "-created_at"], name="outbox_business_client"),
            # The sweep reads queued rows across businesses; the partial index stays as small as the queue.
            models.Index(fields=["send_after"], condition=models.Q(status="queued"), name="outbox_queued_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_template_display()} to {self.to_address or 'nobody'}"

    def get_template_display(self) -> str:
        return TEMPLATE_NAMES.get(self.template, self.template.replace("_", " ").capitalize())


class AutopilotKind(models.TextChoices):
    REFERRAL_THANK_YOU = "referral_thank_you", "Referral Thank You"
    REWARD_EXPIRING = "reward_expiring", "Reward expiring"
    ENCOURAGE_REFERRALS = "encourage_referrals", "Encourage Referrals"
    WELCOME = "welcome", "Welcome"
    MILESTONE_REACHED = "milestone_reached", "Milestone reached"


TEMPLATE_NAMES = {
    AutopilotKind.REFERRAL_THANK_YOU: "Referral Thank You",
    AutopilotKind.REWARD_EXPIRING: "Reward expiring",
    AutopilotKind.ENCOURAGE_REFERRALS: "Encourage Referrals",
    AutopilotKind.WELCOME: "Welcome",
    "reward_revoked": "Reward revoked",
    AutopilotKind.MILESTONE_REACHED: "Milestone reached",
}


class Autopilot(models.Model):
    """An automatic message of one kind for a business: on or off, how long after its trigger, and its wording.

    A business without a row runs the kind with its defaults (campaigns.autopilots.DEFAULTS)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30, choices=AutopilotKind.choices)
    enabled = models.BooleanField(default=True)
    delay_minutes = models.PositiveIntegerField(default=0, help_text="Minutes after the trigger; 0 sends at once.")
    # For reminders ahead of a date (Reward expiring): how many days before it the message goes out.
    days_before = models.PositiveSmallIntegerField(default=7)
    # For marketing nudges (Encourage Referrals): at most one per client in this many days.
    frequency_days = models.PositiveSmallIntegerField(default=60)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["business", "kind"], name="autopilot_unique_kind")]

    def __str__(self) -> str:
        return self.get_kind_display()


class Suppression(models.Model):
    """A client asked for no more marketing on a channel (the unsubscribe link, or one-click from the mail app).

    The record of the request; what stops marketing is the client's withdrawn consent, which the same service
    changes. One row per client and channel: a second click keeps the first time."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="suppressions")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    reason = models.CharField(max_length=50)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business", "client", "channel"], name="suppression_unique_channel")
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} suppressed ({self.reason})"
