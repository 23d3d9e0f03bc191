from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from bookings.models import Booking
from businesses.models import Business, Service
from clients.models import Client

from .rules import AmountKind, CombinationMode, Recipients


class RewardMoment(models.TextChoices):
    CONFIRMED = "confirmed", "When the referred booking is confirmed"
    COMPLETED = "completed", "When the first visit is completed"
    PAID = "paid", "When the referred booking is paid"


class ReferralProgram(models.Model):
    """The business's referral program settings: one per business, created on first use."""

    business = models.OneToOneField(Business, on_delete=models.CASCADE, related_name="referral_program")
    enabled = models.BooleanField(default=False)
    recipients = models.CharField(
        "who receives a reward",
        max_length=12,
        default=Recipients.BOTH,
        choices=[
            (Recipients.BOTH, "Both the new client and the referrer"),
            (Recipients.NEW_CLIENT_ONLY, "The new client only"),
            (Recipients.REFERRER_ONLY, "The referring client only"),
        ],
    )
    reward_valid_days = models.PositiveIntegerField(
        "referrer reward valid for (days)", default=90, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    max_rewards_per_referrer = models.PositiveIntegerField(
        "maximum rewards per referrer", default=0, help_text="0 means unlimited.", validators=[MaxValueValidator(10000)]
    )
    attribution_window_days = models.PositiveIntegerField(
        "attribution window (days)",
        default=30,
        help_text="Days from a click on the link to the booking.",
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    combination_mode = models.CharField(
        "combining with other discounts",
        max_length=8,
        default=CombinationMode.STACK,
        choices=[
            (CombinationMode.STACK, "Stack with other discounts"),
            (CombinationMode.BEST_ONLY, "Only the best discount applies"),
        ],
    )
    reward_moment = models.CharField(
        "the referrer earns", max_length=10, choices=RewardMoment.choices, default=RewardMoment.CONFIRMED
    )
    booking_url = models.URLField(
        "booking page", blank=True, help_text="Where links send friends. Empty: the hosted booking page."
    )
    flag_auto_approve_days = models.PositiveIntegerField(
        "approve flagged referrals automatically after (days)",
        null=True,
        blank=True,
        help_text="Empty: flagged referrals wait for you.",
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    burst_limit = models.PositiveIntegerField(
        "flag a referrer's referrals beyond this many in 24 hours", default=5, validators=[MinValueValidator(1)]
    )
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    def __str__(self) -> str:
        return f"Referral program of {self.business}"

    @property
    def rewards_referrer(self) -> bool:
        return self.recipients != Recipients.NEW_CLIENT_ONLY

    @property
    def rewards_referee(self) -> bool:
        return self.recipients != Recipients.REFERRER_ONLY


class RewardKindChoice(models.TextChoices):
    NONE = "none", "No reward"
    COUPON_PERCENT = "coupon_percent", "Coupon: percent off"
    COUPON_FIXED = "coupon_fixed", "Coupon: amount off"
    STORE_CREDIT = "store_credit", "Store credit"
    POINTS = "points", "Loyalty points"
    SERVICE_CREDIT = "service_credit", "Service credit"


# Kinds whose value is a whole number (points, sessions) stored in `reward_amount`, not money.
WHOLE_NUMBER_KINDS = (RewardKindChoice.POINTS, RewardKindChoice.SERVICE_CREDIT)


class ReferralRule(models.Model):
    """One line of the program: which services it covers, what the new client gets, what the referrer earns."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="referral_rules")
    program = models.ForeignKey(ReferralProgram, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=100, blank=True)
    services = models.ManyToManyField(Service, related_name="referral_rules")
    referee_kind = models.CharField(
        "new client's discount",
        max_length=8,
        default=AmountKind.PERCENT,
        choices=[(AmountKind.NONE, "None"), (AmountKind.PERCENT, "Percent off"), (AmountKind.FIXED, "Amount off")],
    )
    referee_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    referee_amount = models.BigIntegerField(default=0, help_text="Minor units.")
    reward_kind = models.CharField(
        "referrer's reward", max_length=16, choices=RewardKindChoice.choices, default=RewardKindChoice.COUPON_PERCENT
    )
    reward_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    reward_amount = models.BigIntegerField(
        default=0, help_text="Minor units; for points the number of points, for a service credit the sessions."
    )
    # The service a "service credit" reward gives sessions of. SET_NULL: a deleted service gives nothing.
    reward_service = models.ForeignKey(
        Service, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="service credit for"
    )
    # Optional reward for speed: the full reward within `fast_days` of the click, the reduced one after.
    fast_days = models.PositiveIntegerField(null=True, blank=True)
    slow_reward_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    slow_reward_amount = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(referee_percent__gte=0, referee_percent__lte=100, referee_amount__gte=0),
                name="rule_referee_value_range",
            ),
            models.CheckConstraint(
                condition=models.Q(reward_percent__gte=0, reward_percent__lte=100, reward_amount__gte=0),
                name="rule_reward_value_range",
            ),
        ]
        indexes = [models.Index(fields=["business", "position"], name="rule_business_position")]

    def __str__(self) -> str:
        return self.name or f"Rule {self.position + 1}"


class ReferralCode(models.Model):
    """A client's personal code: upper case, unique across all businesses so that /r/<code> finds its business."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="referral_codes")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="referral_codes")
    code = models.CharField(max_length=16)
    is_current = models.BooleanField(default=True, help_text="The code shown to the client and in their link.")
    retired_at = models.DateTimeField(null=True, blank=True, help_text="A retired code no longer attributes.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["-is_current", "-created_at", "-id"]
        constraints = [
            # Unique across businesses too: the public link /r/<code> carries no business.
            models.UniqueConstraint(fields=["code"], name="referral_code_unique"),
            models.UniqueConstraint(
                fields=["business", "client"], condition=models.Q(is_current=True), name="referral_code_one_current"
            ),
        ]
        indexes = [models.Index(fields=["business", "client"], name="referral_code_client")]

    def __str__(self) -> str:
        return self.code

    @property
    def is_active(self) -> bool:
        return self.retired_at is None


class ClickCount(models.Model):
    """Clicks on links per code per day (business time zone); unknown or retired codes count with code NULL."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    code = models.ForeignKey(ReferralCode, on_delete=models.CASCADE, null=True, blank=True, related_name="clicks")
    day = models.DateField()
    clicks = models.PositiveBigIntegerField(default=0)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "code", "day"], condition=models.Q(code__isnull=False), name="click_unique_code_day"
            ),
            models.UniqueConstraint(
                fields=["business", "day"], condition=models.Q(code__isnull=True), name="click_unique_unknown_day"
            ),
        ]
        indexes = [models.Index(fields=["business", "day"], name="click_business_day")]

    def __str__(self) -> str:
        return f"{self.clicks} clicks on {self.day}"


class ReferralSource(models.TextChoices):
    LINK = "link", "Link"
    CODE = "code", "Typed code"
    NAMED = "named", "Named by the new client"
    STAFF = "staff", "Linked by staff"
    API = "api", "API"


class ReferralStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    FLAGGED = "flagged", "Flagged for review"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"
    INELIGIBLE = "ineligible", "Not eligible"
    CANCELLED = "cancelled", "Cancelled"


# A referee can have only one referral that still counts.
LIVE_STATUSES = (ReferralStatus.PENDING, ReferralStatus.FLAGGED, ReferralStatus.CONFIRMED)


class Referral(models.Model):
    """Who referred whom, for which booking, and where it stands."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="referrals")
    referrer = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="referrals_made")
    referee = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="referrals_received")
    booking = models.OneToOneField(Booking, on_delete=models.PROTECT, null=True, blank=True, related_name="referral")
    code = models.ForeignKey(ReferralCode, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    source = models.CharField(max_length=8, choices=ReferralSource.choices)
    status = models.CharField(max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.PENDING)
    reason = models.CharField(max_length=300, blank=True, help_text="Why it is not eligible, rejected or cancelled.")
    clicked_at = models.DateTimeField(null=True, blank=True)
    rule = models.ForeignKey(ReferralRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    referee_discount = models.BigIntegerField(
        default=0, help_text="Given to the new client, in minor units (per period on a membership or per session)."
    )
    # The referrer's reward as the rule stood when the friend booked: later edits of the rule do not change it.
    reward_kind = models.CharField(max_length=16, blank=True)
    reward_value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    reward_fast_days = models.PositiveIntegerField(null=True, blank=True)
    reward_slow_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    reward_service = models.ForeignKey(Service, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Set when the booking reached the reward moment while the referral waited for review.
    reward_due = models.BooleanField(default=False)
    auto_approve_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    is_test = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "referee"],
                condition=models.Q(status__in=LIVE_STATUSES),
                name="referral_one_live_per_referee",
            ),
            models.CheckConstraint(condition=~models.Q(referrer=models.F("referee")), name="referral_not_self"),
        ]
        indexes = [
            models.Index(fields=["business", "status", "created_at"], name="referral_business_status"),
            models.Index(fields=["business", "referrer", "status"], name="referral_business_referrer"),
            models.Index(fields=["business", "created_at"], name="referral_business_created"),
            # The leaderboard: a period's successes per referrer, and a referrer's referees, from the index alone.
            models.Index(
                fields=["business", "created_at", "referrer"],
                condition=models.Q(status="confirmed", is_test=False),
                name="referral_confirmed_created",
            ),
            models.Index(
                fields=["business", "referrer", "created_at"],
                include=["referee"],
                condition=models.Q(status="confirmed", is_test=False),
                name="referral_confirmed_referrer",
            ),
            models.Index(
                fields=["auto_approve_at"],
                condition=models.Q(status="flagged", auto_approve_at__isnull=False),
                name="referral_flagged_deadline",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.referrer} → {self.referee}"


class FlagSignal(models.TextChoices):
    SIMILAR_EMAIL = "similar_email", "E-mail address similar to the referrer's"
    DISPOSABLE_EMAIL = "disposable_email", "Disposable e-mail domain"
    SAME_DEVICE = "same_device", "Same device as the referrer"
    SAME_NETWORK = "same_network", "Same network as the referrer"
    BURST = "burst", "Many referrals from this referrer in a short time"
    NAMED = "named", "Named by the new client; check they really know each other"


class ReferralFlag(models.Model):
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="flags")
    signal = models.CharField(max_length=20, choices=FlagSignal.choices)
    detail = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["referral", "signal"], name="referral_flag_unique_signal")]

    def __str__(self) -> str:
        return self.get_signal_display()


class ClientSighting(models.Model):
    """A hashed fingerprint of a device or network a client used (online booking, profile sign-in).

    Only keyed hashes are stored, never an IP address: enough to notice that a "new" client books from the
    referrer's own phone or home network.
    """

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    network_hash = models.CharField(max_length=64, blank=True)
    device_hash = models.CharField(max_length=64, blank=True)
    seen_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        indexes = [models.Index(fields=["business", "client", "seen_at"], name="sighting_business_client")]

    def __str__(self) -> str:
        return f"Client {self.client_id} seen at {self.seen_at:%Y-%m-%d %H:%M}"


class ReferrerTally(models.Model):
    """A referrer's running figures, moved in the same transaction as the referral or reward that changes them,
    so the leaderboard reads one indexed row per referrer instead of counting referrals."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="referrer_tally")
    successful_referrals = models.PositiveIntegerField(default=0)
    rewards_earned = models.PositiveIntegerField(default=0)
    last_referral_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(business="business")

    class Meta:
        indexes = [
            models.Index(fields=["business", "-successful_referrals", "client"], name="tally_business_successful")
        ]

    def __str__(self) -> str:
        return f"{self.successful_referrals} successful referrals"


class FriendInvitation(models.Model):
    """A client's e-mailed invitation of a friend (not a client yet) to book with their referral link.

    One per friend per referrer (the canonical e-mail is unique per referrer); at most one reminder, stamped in
    `reminded_at`; `booked_at` records that the friend booked, so no reminder goes out after that."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    referrer = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="friend_invitations")
    first_name = models.CharField(max_length=100)
    email = models.EmailField()
    email_canonical = models.CharField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)
    reminded_at = models.DateTimeField(null=True, blank=True)
    booked_at = models.DateTimeField(null=True, blank=True)
    # The friend's referral once they booked through this referrer (SET_NULL: the invitation outlives it).
    referral = models.ForeignKey(Referral, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "referrer", "email_canonical"], name="friend_invitation_unique_email"
            ),
        ]
        indexes = [
            models.Index(fields=["business", "referrer", "created_at"], name="friend_invitation_referrer"),
            # The reminder sweep reads, across businesses, only the invitations still waiting for their reminder.
            models.Index(
                fields=["created_at"],
                condition=models.Q(reminded_at__isnull=True, booked_at__isnull=True),
                name="friend_invitation_reminder_due",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.first_name} by client {self.referrer_id}"


class ReferralDailyStats(models.Model):
    """The overview's figures for one local day of a business, by booked service (0: not about a service).

    The subscribers in referrals/daily_stats.py insert one row of differences per change, in the transaction of the
    change (an insert locks nothing another booking waits for); a periodic task folds a key's rows into one, and
    `rebuild_referral_stats` rewrites them from the source rows (nightly for recent days, on demand for backfill).
    Readers always sum. Money figures belong to the day the booking starts; counts to the day the thing happened."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    service_key = models.BigIntegerField(default=0, help_text="The booked service's id; 0 for clicks.")
    clicks = models.BigIntegerField(default=0)
    referrals = models.BigIntegerField(default=0, help_text="Referred bookings made.")
    confirmed = models.BigIntegerField(default=0, help_text="Referrals confirmed.")
    lost = models.BigIntegerField(default=0, help_text="Referrals not eligible, rejected or cancelled.")
    new_clients = models.BigIntegerField(default=0, help_text="First bookings made.")
    new_referred_clients = models.BigIntegerField(default=0, help_text="First bookings made with a referral.")
    referred_revenue = models.BigIntegerField(default=0)
    cost_referral = models.BigIntegerField(default=0)
    cost_coupon = models.BigIntegerField(default=0)
    cost_store_credit = models.BigIntegerField(default=0)
    cost_points = models.BigIntegerField(default=0)
    cost_service_credit = models.BigIntegerField(default=0)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["day", "service_key"]
        indexes = [models.Index(fields=["business", "day", "service_key"], name="daily_stats_business_day")]

    def __str__(self) -> str:
        return f"Referral figures of {self.day}"
