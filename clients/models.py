from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_scopes import ScopedManager

from businesses.models import Business


class Source(models.TextChoices):
    CLIENT_REFERRAL = "client_referral", "Client referral"
    HEARD_ABOUT = "heard_about", "“How did you hear about us” answer"
    ONLINE_BOOKING = "online_booking", "Online booking"
    WALK_IN = "walk_in", "Walk-in"
    PROMOTION = "promotion", "Promotion"
    IMPORT = "import", "Import"
    OTHER = "other", "Other"


class Tag(models.Model):
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=50)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("business", Lower("name"), name="tag_unique_name")]

    def __str__(self) -> str:
        return self.name


class Client(models.Model):
    """A client of the business: the person who books, refers and is rewarded. Not a dashboard user."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="clients")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True, help_text="As the client typed it.")
    email_canonical = models.CharField(max_length=254, blank=True, editable=False)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +15550101234.")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.OTHER)
    source_detail = models.CharField("how they heard about us", max_length=200, blank=True)
    referred_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="referred_clients"
    )
    tags = models.ManyToManyField(Tag, through="ClientTag", related_name="clients", blank=True)
    notes = models.TextField("private notes", blank=True)
    email_consent = models.BooleanField("agrees to marketing e-mail", default=False)
    email_consent_changed_at = models.DateTimeField(null=True, blank=True)
    sms_consent = models.BooleanField("agrees to marketing SMS", default=False)
    sms_consent_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Figures the filters read, moved in the same transaction as the booking or payment that changes them.
    completed_visits = models.PositiveIntegerField(default=0)
    first_visit_at = models.DateTimeField(null=True, blank=True)
    last_visit_at = models.DateTimeField(null=True, blank=True)
    lifetime_spend = models.BigIntegerField(default=0, help_text="Paid, in minor units.")
    referred_clients_count = models.PositiveIntegerField(default=0)
    erased_at = models.DateTimeField(null=True, blank=True)
    # Made by the referral program's test drive: left out of lists and figures, never e-mailed.
    is_test = models.BooleanField(default=False)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "email_canonical"],
                condition=~models.Q(email_canonical=""),
                name="client_unique_email",
            ),
            models.CheckConstraint(condition=~models.Q(referred_by=models.F("id")), name="client_not_self_referred"),
        ]
        indexes = [
            models.Index(fields=["business", "last_name", "first_name", "id"], name="client_business_name"),
            models.Index(fields=["business", "created_at"], name="client_business_created"),
            models.Index(fields=["business", "last_visit_at"], name="client_business_last_visit"),
            models.Index(fields=["business", "completed_visits"], name="client_business_visits"),
            models.Index(fields=["business", "referred_by"], name="client_business_referrer"),
            models.Index(fields=["business", "source"], name="client_business_source"),
            models.Index(fields=["business", "referred_clients_count"], name="client_business_referrals"),
            models.Index(fields=["business", "phone"], name="client_business_phone"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def first_name_last_initial(self) -> str:
        """All a stranger may see of a client (the widget's "who referred you?" search)."""
        return f"{self.first_name} {self.last_name[:1]}.".strip() if self.last_name else self.first_name

    @property
    def is_referrer(self) -> bool:
        return self.referred_clients_count > 0


class ClientTag(models.Model):
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["business", "client", "tag"], name="client_tag_unique")]
        indexes = [models.Index(fields=["business", "tag", "client"], name="client_tag_by_tag")]

    def __str__(self) -> str:
        return f"{self.tag_id} on {self.client_id}"


class Segment(models.Model):
    """A saved filter of the clients list, e.g. "Referrers who visited in the last 90 days"."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(max_length=100)
    filters = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("business", Lower("name"), name="segment_unique_name")]

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    """A CSV import running in Celery; the dashboard polls its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="import_jobs")
    file_name = models.CharField(max_length=200)
    content = models.TextField(help_text="The uploaded CSV, kept until the import finishes.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    imported_rows = models.PositiveIntegerField(default=0)
    errors = models.JSONField(
        default=list, blank=True, help_text="[{line, reason}] for the first refused rows (see error_count)."
    )
    error_count = models.PositiveIntegerField(default=0, help_text="Refused rows, including those not kept.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, help_text="Last progress; the stale-import sweep reads it.")
    resume_count = models.PositiveSmallIntegerField(default=0, help_text="Times the sweep re-sent it.")
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The stale-import sweep looks across businesses at the few unfinished jobs only.
            models.Index(
                fields=["updated_at"],
                name="import_job_unfinished",
                condition=models.Q(status__in=["queued", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"Import of {self.file_name}"

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else int(100 * self.processed_rows / self.total_rows)


class ClientLoginToken(models.Model):
    """A magic sign-in link to the client's profile page. Only the sha256 of the token is kept (the e-mail carries
    it); single use by a conditional UPDATE of `used_at`, and short-lived."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="login_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(business="business")

    class Meta:
        indexes = [models.Index(fields=["business", "client", "created_at"], name="login_token_business_client")]

    def __str__(self) -> str:
        return f"Sign-in link of client {self.client_id}"
