from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_countries.fields import CountryField
from django_scopes import ScopedManager
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager

from .choices import currency_choices, time_zone_choices


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in to the dashboard (owner or staff). Clients of a business are not users."""

    username = None
    email = models.EmailField("e-mail address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.get_full_name() or self.email


slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    "Use 1–50 lower-case letters, digits and hyphens, starting and ending with a letter or digit.",
)


class Business(models.Model):
    """The tenant. Every tenant-owned row points here and every query on such a row is scoped to one."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator])
    time_zone = models.CharField(max_length=64, choices=time_zone_choices, default="UTC")
    currency = models.CharField(max_length=3, choices=currency_choices, default="USD")
    country = CountryField(default="US")
    clients_apply_credit_online = models.BooleanField(
        "clients can use their store credit when booking online",
        default=False,
        help_text="Off: only staff apply store credit, at checkout. Clients always see their balance.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "businesses"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    STAFF = "staff", "Staff"


class Membership(models.Model):
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["business", "user"], name="membership_unique_user")]
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.business}"

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER


INVITATION_VALID_FOR = timedelta(days=7)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Invitation(models.Model):
    """An owner's invitation to join the business. The token is e-mailed once and stored only as a hash."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            # One open invitation per address and business; re-inviting refreshes it.
            models.UniqueConstraint(
                "business",
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True),
                name="invitation_unique_open_email",
            )
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.business}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_accepted(self) -> bool:
        return self.accepted_at is not None


class AuditLog(models.Model):
    """Who did what to which record, for the owner and for privacy requests."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="audit_log")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    action = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        indexes = [models.Index(fields=["business", "-created_at"], name="auditlog_business_recent")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor or 'system'}"


class PaymentPlan(models.TextChoices):
    ONE_OFF = "one_off", "One-off payment"
    INSTALMENTS = "instalments", "Instalments"
    MEMBERSHIP = "membership", "Membership"
    PER_SESSION = "per_session", "Pay per session"


class PlanInterval(models.TextChoices):
    WEEK = "week", "Weekly"
    MONTH = "month", "Monthly"


class Service(models.Model):
    """Something a client can book: a treatment, a lesson, a class pass, a programme."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    price = models.PositiveIntegerField(help_text="In minor units of the business's currency (cents).")
    duration_minutes = models.PositiveIntegerField(default=60)
    online_bookable = models.BooleanField("clients can book it online", default=True)
    new_clients_only = models.BooleanField("only for new clients", default=False)
    is_active = models.BooleanField("active", default=True)
    payment_plan = models.CharField(max_length=16, choices=PaymentPlan.choices, default=PaymentPlan.ONE_OFF)
    # Instalments: number of payments; membership: billing periods in the term; per session: sessions.
    plan_count = models.PositiveSmallIntegerField(default=1)
    plan_interval = models.CharField(max_length=8, choices=PlanInterval.choices, default=PlanInterval.MONTH)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("business", Lower("name"), name="service_unique_name"),
            models.CheckConstraint(condition=models.Q(plan_count__gte=1), name="service_plan_count_positive"),
            models.CheckConstraint(
                condition=models.Q(payment_plan="one_off", plan_count=1) | ~models.Q(payment_plan="one_off"),
                name="service_one_off_single_payment",
            ),
        ]
        indexes = [models.Index(fields=["business", "is_active"], name="service_business_active")]

    def __str__(self) -> str:
        return self.name

    @property
    def plan_summary(self) -> str:
        if self.payment_plan == PaymentPlan.ONE_OFF:
            return "One-off payment"
        if self.payment_plan == PaymentPlan.INSTALMENTS:
            return f"{self.plan_count} {self.get_plan_interval_display().lower()} instalments"
        if self.payment_plan == PaymentPlan.MEMBERSHIP:
            return f"Membership, billed {self.get_plan_interval_display().lower()} for {self.plan_count} periods"
        return f"{self.plan_count} sessions, paid per session"


class DomainEvent(models.Model):
    """Something that happened in a business: the hook for other apps' work, the activity feed, the audit trail.

    Recorded by services inside their transaction (businesses/events.py); never by signals.
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=64)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    subject_type = models.CharField(max_length=64)
    subject_id = models.BigIntegerField()
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        indexes = [
            models.Index(fields=["business", "-created_at"], name="event_business_recent"),
            models.Index(fields=["business", "subject_type", "subject_id"], name="event_business_subject"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_type}#{self.subject_id}"


class Weekday(models.IntegerChoices):
    """Numbered as date.weekday() counts them."""

    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class OpeningInterval(models.Model):
    """One stretch of a weekday when clients can book online, in the business's time zone (Mon 9:00–12:00).

    A day has as many rows as it has stretches (a lunch break makes two); a day without rows is closed.
    Written only through businesses.hours.opening_hours_set, which keeps a day's stretches from overlapping.
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="opening_intervals")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["weekday", "opens_at"]
        constraints = [
            models.UniqueConstraint(fields=["business", "weekday", "opens_at"], name="opening_unique_start"),
            models.CheckConstraint(condition=models.Q(closes_at__gt=models.F("opens_at")), name="opening_closes_later"),
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="opening_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"


class APIKeyScope(models.TextChoices):
    READ = "read", "Read only"
    READ_WRITE = "read_write", "Read and write"


class BusinessAPIKey(AbstractAPIKey):
    """A key another system uses to call the REST API on behalf of one business. Only its sha512 is stored
    (djangorestframework-api-key); the whole key is shown once, when it is created. Revoking cannot be undone."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="api_keys")
    scope = models.CharField(max_length=10, choices=APIKeyScope.choices, default=APIKeyScope.READ)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Moved at most once a minute (a conditional UPDATE), so a busy key does not write on every request.
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    # The API authenticates across tenants on purpose (the key names its business), under scopes_disabled().
    objects = ScopedManager(_manager_class=APIKeyManager, business="business")

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        indexes = [models.Index(fields=["business", "-created"], name="api_key_business_recent")]

    @property
    def can_write(self) -> bool:
        return self.scope == APIKeyScope.READ_WRITE


class IdempotencyStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an `Idempotency-Key`, replayed to retries for 24 hours.

    Inserted as in progress in its own transaction before the request runs: the unique constraint decides which of
    two concurrent duplicates runs; the other is refused with 409 while the first is still working."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(BusinessAPIKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of the method, path and body.")
    status = models.CharField(max_length=12, choices=IdempotencyStatus.choices, default=IdempotencyStatus.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_unique_key")]
        # The hourly cleanup deletes by age across businesses.
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"Idempotency-Key {self.key}"


class Plan(models.TextChoices):
    FREE = "free", "Free"
    PAID = "paid", "Paid"


class BillingAccount(models.Model):
    """The business's own subscription to this product. Changed only by Stripe's events (businesses.billing);
    a business without a row is on the free plan."""

    business = models.OneToOneField(Business, on_delete=models.CASCADE, related_name="billing")
    plan = models.CharField(max_length=8, choices=Plan.choices, default=Plan.FREE)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    subscription_status = models.CharField(max_length=32, blank=True, help_text="As Stripe says: active, past_due…")
    current_period_end = models.DateTimeField(null=True, blank=True)
    # Stripe does not promise order: an event created before the last one applied changes nothing.
    last_event_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_customer_id"],
                condition=~models.Q(stripe_customer_id=""),
                name="billing_unique_customer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.business} on the {self.get_plan_display().lower()} plan"
