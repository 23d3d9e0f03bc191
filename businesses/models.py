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
