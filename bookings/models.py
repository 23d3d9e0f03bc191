from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from businesses.models import Business, Service
from clients.models import Client


class BookingStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    CONFIRMED = "confirmed", "Confirmed"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


class Channel(models.TextChoices):
    STAFF = "staff", "Staff"
    ONLINE = "online", "Online booking"
    API = "api", "API"


class Booking(models.Model):
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="bookings")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="bookings")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="bookings")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=BookingStatus.choices, default=BookingStatus.REQUESTED)
    status_changed_at = models.DateTimeField(default=timezone.now)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    currency = models.CharField(max_length=3)
    # Bigints: a membership or a run of sessions is many times the service's price, past int4's 21,474,836.47.
    list_price = models.BigIntegerField(help_text="The service's price when booked, in minor units.")
    total = models.BigIntegerField(help_text="List price less the discounts, in minor units.")
    notes = models.TextField("notes to the provider", blank=True)
    heard_about = models.CharField("how did you hear about us", max_length=200, blank=True)
    is_first_booking = models.BooleanField(default=False)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.STAFF)
    is_test = models.BooleanField(default=False, help_text="Made by the referral program's test drive.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="booking_ends_after_start"
            ),
            models.CheckConstraint(condition=models.Q(total__lte=models.F("list_price")), name="booking_total_le_list"),
            models.CheckConstraint(condition=models.Q(total__gte=0), name="booking_total_not_negative"),
            models.CheckConstraint(condition=models.Q(list_price__gte=0), name="booking_list_price_not_negative"),
        ]
        indexes = [
            models.Index(fields=["business", "starts_at"], name="booking_business_start"),
            models.Index(fields=["business", "client", "starts_at"], name="booking_business_client"),
            models.Index(fields=["business", "status", "starts_at"], name="booking_business_status"),
            # The referrals leaderboard sums each referee's revenue (referrals.selectors._revenue): with `total`
            # included and the statuses as the predicate, those probes never read the heap. No is_test in the
            # condition: the sum does not filter on it, and the planner could not use the index if it did.
            models.Index(
                fields=["business", "client", "starts_at"],
                include=["total"],
                condition=models.Q(status__in=[BookingStatus.CONFIRMED, BookingStatus.COMPLETED]),
                name="booking_revenue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} for {self.client} at {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def discount_total(self) -> int:
        return self.list_price - self.total


class DiscountKind(models.TextChoices):
    REFERRAL = "referral", "Referral discount"
    COUPON = "coupon", "Coupon"
    PROMOTION = "promotion", "Promotion"
    STORE_CREDIT = "store_credit", "Store credit"
    POINTS = "points", "Points"
    SERVICE_CREDIT = "service_credit", "Service credit"
    MANUAL = "manual", "Manual discount"


class BookingDiscount(models.Model):
    """A snapshot of a discount applied to a booking: it survives later edits of the rule or code."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="discounts")
    kind = models.CharField(max_length=16, choices=DiscountKind.choices)
    label = models.CharField(max_length=200)
    amount = models.BigIntegerField(help_text="In minor units.")
    source_type = models.CharField(max_length=64, blank=True, help_text="The rule, code or promotion it came from.")
    source_id = models.BigIntegerField(null=True, blank=True)
    code = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gte=0), name="discount_amount_not_negative")]
        indexes = [models.Index(fields=["business", "booking"], name="discount_business_booking")]

    def __str__(self) -> str:
        return f"{self.label}: −{self.amount}"


class PaymentStatus(models.TextChoices):
    DUE = "due", "Due"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    OTHER = "other", "Other"
    STRIPE = "stripe", "Card online (Stripe)"


class Payment(models.Model):
    """One row of a booking's payment schedule; recording a payment marks it paid."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="payments")
    sequence = models.PositiveSmallIntegerField()
    due_on = models.DateField()
    amount = models.BigIntegerField(help_text="Due, in minor units, after discounts.")
    discount = models.BigIntegerField(default=0, help_text="The part of the discounts on this payment.")
    status = models.CharField(max_length=8, choices=PaymentStatus.choices, default=PaymentStatus.DUE)
    method = models.CharField(max_length=8, choices=PaymentMethod.choices, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A voided payment is due again; these keep who voided it last, when and why (the booking's events keep all).
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    void_reason = models.CharField(max_length=200, blank=True)
    # Paid online: the Stripe Checkout Session that paid it, so a second session paying it again is told apart.
    external_ref = models.CharField(max_length=255, blank=True)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["booking", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["business", "booking", "sequence"], name="payment_unique_sequence"),
            models.CheckConstraint(
                condition=models.Q(status="paid", paid_at__isnull=False) | ~models.Q(status="paid"),
                name="payment_paid_has_time",
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="payment_amount_not_negative"),
            models.CheckConstraint(condition=models.Q(discount__gte=0), name="payment_discount_not_negative"),
        ]
        indexes = [models.Index(fields=["business", "status", "due_on"], name="payment_business_due")]

    def __str__(self) -> str:
        return f"Payment {self.sequence} of booking {self.booking_id}"


class BookingEvent(models.Model):
    """The booking's own history: every status change, who made it and when."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=10, choices=BookingStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=BookingStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} → {self.to_status}"


class StripeEvent(models.Model):
    """A Stripe webhook event taken in. Its unique id, inserted in the transaction that handles the event, makes
    every later delivery of the same event (a retry, or one arriving at the same time) a no-op.

    Not tenant-owned: Stripe events reach the platform's one account before anyone knows whose they are.
    """

    event_id = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=200, blank=True, help_text="What handling it did, for whoever debugs.")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"
