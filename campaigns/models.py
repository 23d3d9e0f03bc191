from __future__ import annotations

from django.conf import settings
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
    "client_sign_in": "Sign-in link",
    "friend_invitation": "Friend invitation",
    "friend_reminder": "Friend invitation reminder",
    "booking_received": "Booking received",
    "booking_confirmed": "Booking confirmed",
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
    # An offer to attach (Referral Thank You): its name, value and link become template variables.
    promotion = models.ForeignKey("Promotion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
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


class PromotionKind(models.TextChoices):
    PERCENT = "percent", "Percent off"
    FIXED = "fixed", "Amount off"


class PromotionAudience(models.TextChoices):
    ANYONE = "anyone", "Anyone"
    NEW_CLIENTS = "new_clients", "New clients only"
    REFERRERS = "referrers", "Clients who referred someone"


class Promotion(models.Model):
    """A public discount: a code anyone in the audience can use on the chosen services between two dates, up to a
    number of uses. Shared by a link that opens the booking page with the code applied."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    code = models.CharField(max_length=30, help_text="Unique per business, compared without case.")
    kind = models.CharField(max_length=8, choices=PromotionKind.choices, default=PromotionKind.PERCENT)
    percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    amount = models.BigIntegerField(default=0, help_text="For an amount off, in minor units.")
    services = models.ManyToManyField("businesses.Service", blank=True, related_name="+")
    all_services = models.BooleanField(default=True, help_text="Off: only the chosen services.")
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    # Bookings that use it and still stand; kept under the promotion's row lock, given back when one is cancelled.
    uses = models.PositiveIntegerField(default=0)
    audience = models.CharField(max_length=12, choices=PromotionAudience.choices, default=PromotionAudience.ANYONE)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint("business", models.functions.Upper("code"), name="promotion_unique_code"),
            models.CheckConstraint(
                condition=models.Q(kind="percent", percent__gt=0, percent__lte=100, amount=0)
                | models.Q(kind="fixed", amount__gt=0, percent=0),
                name="promotion_value_matches_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(max_uses__isnull=True) | models.Q(uses__lte=models.F("max_uses")),
                name="promotion_uses_within_max",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class MessagingSettings(models.Model):
    """How a business's e-mail presents itself: the sender name clients see and where their replies go. The
    address itself stays the platform's (only its domain is authenticated to send)."""

    business = models.OneToOneField(Business, on_delete=models.CASCADE, related_name="+")
    sender_name = models.CharField(max_length=100, blank=True, help_text="Empty: the business's name.")
    reply_to = models.EmailField(blank=True, help_text="Empty: the owner's e-mail address.")
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    def __str__(self) -> str:
        return f"Messaging settings of {self.business}"


class CampaignAudience(models.TextChoices):
    CONSENTING = "consenting", "Every client who agreed to marketing e-mail"
    SEGMENT = "segment", "A saved segment of the clients list"
    REFERRERS = "referrers", "Clients who referred others"
    RECENT_REFERRED = "recent_referred", "Recently referred clients who visited once"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"


class Campaign(models.Model):
    """A targeted marketing e-mail to an audience of clients, sent once, now or at a scheduled time.

    Sending writes recipients in batches ordered by client id; `cursor` is the last client id written, moved in
    the transaction that writes the batch, so a batch retried after a crash starts where the last commit ended."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    audience = models.CharField(max_length=20, choices=CampaignAudience.choices, default=CampaignAudience.CONSENTING)
    segment = models.ForeignKey("clients.Segment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # For "recently referred clients who visited once": how recent, in days.
    audience_days = models.PositiveSmallIntegerField(default=30)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    promotion = models.ForeignKey("Promotion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Matching clients when sending started; once sent, the recipients actually written.
    total_recipients = models.PositiveIntegerField(default=0)
    written_recipients = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(default=0, help_text="The last client id written.")
    # When the last batch was handed out; a sending campaign whose batch task was lost is resumed by the beat.
    batch_at = models.DateTimeField(null=True, blank=True)
    # Why a scheduled campaign could not start (its segment was deleted, nobody matched), for the owner to read.
    problem = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="scheduled") | models.Q(scheduled_at__isnull=False),
                name="campaign_scheduled_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["business", "-created_at", "-id"], name="campaign_business_newest"),
            # The beat reads due and stalled campaigns across businesses; both indexes stay as small as the queue.
            models.Index(fields=["scheduled_at"], condition=models.Q(status="scheduled"), name="campaign_due"),
            models.Index(fields=["batch_at"], condition=models.Q(status="sending"), name="campaign_sending"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_editable(self) -> bool:
        return self.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)


class CampaignRecipient(models.Model):
    """One client a campaign was written to, with their message and their first click on a tracked link.

    `token` (random, unguessable) names the recipient in the tracked links of their message: /c/<token><target>/."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(OutboxMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    token = models.CharField(max_length=32, unique=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "client"], name="campaign_recipient_unique")]
        indexes = [models.Index(fields=["business", "campaign", "id"], name="campaign_recipient_page")]

    def __str__(self) -> str:
        return f"{self.campaign_id} to {self.client_id}"


class WebhookEvent(models.TextChoices):
    """What a business's endpoints can subscribe to; each is the DomainEvent of the same name."""

    CLIENT_CREATED = "client.created", "A client is created"
    BOOKING_CONFIRMED = "booking.confirmed", "A booking is confirmed"
    REFERRAL_CREATED = "referral.created", "A referral is recorded"
    REFERRAL_CONFIRMED = "referral.confirmed", "A referral is confirmed"
    REWARD_ISSUED = "reward.issued", "A reward is issued"
    COUPON_REDEEMED = "coupon.redeemed", "A coupon is redeemed"
    STORE_CREDIT_CHANGED = "store_credit.changed", "A client's store credit changes"
    POINTS_CHANGED = "points.changed", "A client's points change"


# Sent by the "Send a test event" button only; not something an endpoint subscribes to.
WEBHOOK_TEST_EVENT = "webhook.test"


class WebhookEndpoint(models.Model):
    """A URL of the business's own systems that receives the events it chose, signed the Standard Webhooks way
    with `secret`. After a rotation the previous secret also signs until `previous_secret_expires_at`, so a
    receiver can switch without losing a message."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # The chosen WebhookEvent values (a JSON list keeps SQLite and PostgreSQL alike).
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=100, help_text="whsec_ and base64 of 24 random bytes.")
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["business", "enabled"], name="webhook_endpoint_enabled")]

    def __str__(self) -> str:
        return self.url

    def secrets(self, now=None) -> list[str]:
        """The secrets that sign a delivery now: the current one, and the previous one while it is still valid."""
        now = now or timezone.now()
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and expires > now:
            return [self.secret, self.previous_secret]
        return [self.secret]


class WebhookDelivery(models.Model):
    """One event for one endpoint, written in the transaction of the change; delivered like an outbox message
    (a task after commit, a lease, backoff, the sweep for lost tasks). `event_id` is the webhook-id header: the
    same on every attempt, so a receiver can drop a duplicate."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=40)
    event_id = models.CharField(max_length=40, help_text="msg_ and a UUID.")
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response = models.TextField(blank=True, help_text="The first 2 KB of the last response's body.")
    last_error = models.CharField(max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # Every attempt, oldest first: {"at", "status_code", "error", "response"} (response cut to 200 characters).
    history = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_unique_event"),
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False), name="webhook_sent_has_time"
            ),
        ]
        indexes = [
            models.Index(fields=["business", "endpoint", "-created_at", "-id"], name="webhook_delivery_log"),
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="queued"), name="webhook_queued_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
