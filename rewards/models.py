from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django_scopes import ScopedManager

from bookings.models import Booking
from businesses.models import Business
from clients.models import Client


class CouponKind(models.TextChoices):
    PERCENT = "percent", "Percent off"
    FIXED = "fixed", "Amount off"


class CouponStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REDEEMED = "redeemed", "Redeemed"
    REVOKED = "revoked", "Revoked"


class Coupon(models.Model):
    """A single-use discount code that belongs to one client (the referrer who earned it)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="coupons")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="coupons")
    code = models.CharField(max_length=20)
    kind = models.CharField(max_length=8, choices=CouponKind.choices)
    percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    amount = models.BigIntegerField(default=0, help_text="For an amount-off coupon, in minor units.")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=8, choices=CouponStatus.choices, default=CouponStatus.ACTIVE)
    expires_at = models.DateTimeField(null=True, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_booking = models.ForeignKey(
        Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="redeemed_coupons"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=200, blank=True)
    is_test = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint("business", Upper("code"), name="coupon_unique_code"),
            models.CheckConstraint(
                condition=models.Q(kind="percent", percent__gt=0, percent__lte=100, amount=0)
                | models.Q(kind="fixed", amount__gt=0, percent=0),
                name="coupon_value_matches_kind",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="redeemed") | models.Q(redeemed_at__isnull=False),
                name="coupon_redeemed_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["business", "client", "status"], name="coupon_business_client"),
            # The daily "reward expiring" reminder reads active coupons by expiry.
            models.Index(
                fields=["business", "expires_at"],
                condition=models.Q(status="active", is_test=False, expires_at__isnull=False),
                name="coupon_business_due",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def display_status(self) -> str:
        if self.status == CouponStatus.ACTIVE and self.is_expired():
            return "Expired"
        return self.get_status_display()


class RewardKind(models.TextChoices):
    COUPON = "coupon", "Coupon"
    STORE_CREDIT = "store_credit", "Store credit"
    SERVICE_CREDIT = "service_credit", "Service credit"
    POINTS = "points", "Loyalty points"


class RewardStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    REVOKED = "revoked", "Revoked"


class Reward(models.Model):
    """What a referrer earned for one confirmed referral. One per referral, enforced by a unique constraint."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="rewards")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="rewards")
    # Points upwards to the referral engine by name only (rewards sits below referrals).
    referral = models.ForeignKey(
        "referrals.Referral", on_delete=models.SET_NULL, null=True, blank=True, related_name="rewards"
    )
    kind = models.CharField(max_length=16, choices=RewardKind.choices)
    coupon = models.OneToOneField(Coupon, on_delete=models.PROTECT, null=True, blank=True, related_name="reward")
    store_credit = models.OneToOneField(
        "StoreCreditEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="reward"
    )
    # SET_NULL, not PROTECT: ledger entries are never deleted, except a test drive's, which go before its rewards.
    points_entry = models.OneToOneField(
        "PointsEntry", on_delete=models.SET_NULL, null=True, blank=True, related_name="reward"
    )
    description = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=RewardStatus.choices, default=RewardStatus.ISSUED)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=200, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    is_test = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "referral"],
                condition=models.Q(referral__isnull=False),
                name="reward_one_per_referral",
            ),
        ]
        indexes = [models.Index(fields=["business", "client", "created_at"], name="reward_business_client")]

    def __str__(self) -> str:
        return self.description


# ------------------------------------------------------------------------------------------------ the wallet
#
# Store credit and points are append-only ledgers (pretix's gift card): the balance is the sum of the entries.
# WalletBalance caches both sums per client; it moves in the same transaction as the entry, under its row lock,
# and a check constraint keeps it from going below zero (saleor's balances). Positive entries are "lots" that
# carry what is left of them (`remaining`); every debit records which lots it used (StoreCreditUse, PointsUse), so
# lots leave oldest first by expiry, and a reversal gives back exactly what a debit took.


class StoreCreditKind(models.TextChoices):
    GRANT = "grant", "Granted"
    APPLY = "apply", "Applied"
    EXPIRE = "expire", "Expired"
    ADJUST = "adjust", "Adjusted"
    REVERSE = "reverse", "Reversed"


class StoreCreditEntry(models.Model):
    """One movement of a client's store credit; `amount` is signed, in minor units of `currency`."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="store_credit_entries")
    kind = models.CharField(max_length=8, choices=StoreCreditKind.choices)
    amount = models.BigIntegerField(help_text="Signed, in minor units: positive adds credit, negative takes it.")
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=200, blank=True)
    booking = models.ForeignKey(Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    referral = models.ForeignKey(
        "referrals.Referral", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by")
    expires_at = models.DateTimeField(null=True, blank=True)
    remaining = models.BigIntegerField(default=0, help_text="For a positive entry: what is left of it to use.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="store_credit_amount_not_zero"),
            models.CheckConstraint(
                condition=models.Q(kind="grant", amount__gt=0)
                | models.Q(kind__in=["apply", "expire"], amount__lt=0)
                | models.Q(kind__in=["adjust", "reverse"]),
                name="store_credit_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0, remaining__gte=0, remaining__lte=models.F("amount"))
                | models.Q(amount__lt=0, remaining=0),
                name="store_credit_remaining_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="reverse", reverses__isnull=False) | ~models.Q(kind="reverse"),
                name="store_credit_reverse_has_target",
            ),
        ]
        indexes = [
            models.Index(fields=["business", "client", "created_at"], name="store_credit_business_client"),
            models.Index(
                fields=["business", "expires_at"],
                condition=models.Q(remaining__gt=0, expires_at__isnull=False),
                name="store_credit_business_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class StoreCreditUse(models.Model):
    """How much of a lot (a positive entry) a debit took; what its reversal gives back."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    entry = models.ForeignKey(StoreCreditEntry, on_delete=models.CASCADE, related_name="uses")
    lot = models.ForeignKey(StoreCreditEntry, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="store_credit_use_positive")]
        indexes = [models.Index(fields=["business", "entry"], name="store_credit_use_entry")]

    def __str__(self) -> str:
        return f"{self.amount} of lot {self.lot_id}"


class PointsKind(models.TextChoices):
    EARN = "earn", "Earned"
    REDEEM = "redeem", "Redeemed"
    EXPIRE = "expire", "Expired"
    ADJUST = "adjust", "Adjusted"
    REVERSE = "reverse", "Reversed"


class PointsEntry(models.Model):
    """One movement of a client's loyalty points; `points` is signed."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="points_entries")
    kind = models.CharField(max_length=8, choices=PointsKind.choices)
    points = models.BigIntegerField(help_text="Signed: positive adds points, negative takes them.")
    reason = models.CharField(max_length=200, blank=True)
    booking = models.ForeignKey(Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The paid payment points were earned on: earning twice on one payment is refused by a unique constraint.
    payment = models.ForeignKey("bookings.Payment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    referral = models.ForeignKey(
        "referrals.Referral", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by")
    value = models.BigIntegerField(default=0, help_text="For a redemption: the discount it gave, in minor units.")
    expires_at = models.DateTimeField(null=True, blank=True)
    remaining = models.BigIntegerField(default=0, help_text="For a positive entry: the points left of it.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(points=0), name="points_not_zero"),
            models.CheckConstraint(
                condition=models.Q(kind="earn", points__gt=0)
                | models.Q(kind__in=["redeem", "expire"], points__lt=0)
                | models.Q(kind__in=["adjust", "reverse"]),
                name="points_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(points__gt=0, remaining__gte=0, remaining__lte=models.F("points"))
                | models.Q(points__lt=0, remaining=0),
                name="points_remaining_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="reverse", reverses__isnull=False) | ~models.Q(kind="reverse"),
                name="points_reverse_has_target",
            ),
            models.UniqueConstraint(
                fields=["business", "payment", "client"],
                condition=models.Q(kind="earn", payment__isnull=False),
                name="points_earned_once_per_payment",
            ),
        ]
        indexes = [
            models.Index(fields=["business", "client", "created_at"], name="points_business_client"),
            models.Index(
                fields=["business", "expires_at"],
                condition=models.Q(remaining__gt=0, expires_at__isnull=False),
                name="points_business_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points}"


class PointsUse(models.Model):
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    entry = models.ForeignKey(PointsEntry, on_delete=models.CASCADE, related_name="uses")
    lot = models.ForeignKey(PointsEntry, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="points_use_positive")]
        indexes = [models.Index(fields=["business", "entry"], name="points_use_entry")]

    def __str__(self) -> str:
        return f"{self.amount} of lot {self.lot_id}"


class WalletBalance(models.Model):
    """The cached sums of a client's two ledgers. Moved only under its row lock, with the entry that moves it."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="wallet")
    store_credit = models.BigIntegerField(default=0, help_text="In minor units of the business's currency.")
    points = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(store_credit__gte=0), name="wallet_store_credit_not_negative"),
            models.CheckConstraint(condition=models.Q(points__gte=0), name="wallet_points_not_negative"),
        ]
        indexes = [models.Index(fields=["business", "client"], name="wallet_business_client")]

    def __str__(self) -> str:
        return f"Wallet of client {self.client_id}"


class PointsProgram(models.Model):
    """A business's loyalty points: what a client earns per unit spent, what a point is worth, the referrer's share."""

    business = models.OneToOneField(Business, on_delete=models.CASCADE, related_name="points_program")
    enabled = models.BooleanField(default=False)
    points_per_unit = models.DecimalField(
        max_digits=9, decimal_places=4, default=1, help_text="Points a client earns per whole currency unit paid."
    )
    point_value = models.PositiveBigIntegerField(default=1, help_text="What one point is worth, in minor units.")
    referrer_points_per_unit = models.DecimalField(
        max_digits=9,
        decimal_places=4,
        default=0,
        help_text="Points a referrer earns per whole currency unit paid by a client they referred.",
    )
    referrer_months = models.PositiveIntegerField(
        null=True, blank=True, help_text="Only for this many months after the referral; empty for always."
    )
    expiry_days = models.PositiveIntegerField(null=True, blank=True, help_text="Points expire after; empty: never.")
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(points_per_unit__gte=0), name="points_program_rate_not_negative"),
            models.CheckConstraint(
                condition=models.Q(referrer_points_per_unit__gte=0), name="points_program_referrer_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"Points program of {self.business_id}"


# ------------------------------------------------------------------------------------------------ service credits
#
# A prepaid service on file ("1 × 60-minute massage"). `used` moves with F() under the credit's row lock, in the
# same transaction as the ServiceCreditUse row it counts; the check constraint is the last wall against using a
# credit more often than its quantity.


class ServiceCreditSource(models.TextChoices):
    MANUAL = "manual", "Given by staff"
    RULE = "rule", "Referral reward"
    MILESTONE = "milestone", "Milestone"


class ServiceCredit(models.Model):
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="service_credits")
    service = models.ForeignKey("businesses.Service", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=1)
    used = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=10, choices=ServiceCreditSource.choices)
    reason = models.CharField(max_length=200, blank=True)
    reward = models.OneToOneField(
        Reward, on_delete=models.PROTECT, null=True, blank=True, related_name="service_credit"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    # A revoked credit (its referral reward was taken back) also has `expires_at` set to the revocation, so every
    # reader that skips expired credits skips it too.
    revoked_at = models.DateTimeField(null=True, blank=True)
    is_test = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="service_credit_quantity_positive"),
            models.CheckConstraint(
                condition=models.Q(used__gte=0, used__lte=models.F("quantity")), name="service_credit_used_in_range"
            ),
        ]
        indexes = [models.Index(fields=["business", "client", "created_at"], name="service_credit_client")]

    def __str__(self) -> str:
        return f"{self.quantity} × service {self.service_id}"

    @property
    def remaining(self) -> int:
        return self.quantity - self.used

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def display_status(self) -> str:
        if self.revoked_at is not None:
            return "Revoked"
        if self.remaining <= 0:
            return "Used"
        if self.is_expired():
            return "Expired"
        return "Available"


class ServiceCreditUse(models.Model):
    """One use of a service credit on a booking: the ledger entry. A reversal stamps it instead of deleting it."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    credit = models.ForeignKey(ServiceCredit, on_delete=models.PROTECT, related_name="uses")
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="service_credit_uses")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A booking uses at most one credit; once that use is reversed (a voided payment) it may use one again.
            models.UniqueConstraint(
                fields=["business", "booking"],
                condition=models.Q(reversed_at__isnull=True),
                name="service_credit_use_one_per_booking",
            ),
        ]
        indexes = [models.Index(fields=["business", "credit"], name="service_credit_use_credit")]

    def __str__(self) -> str:
        return f"Credit {self.credit_id} on booking {self.booking_id}"


# ------------------------------------------------------------------------------------------------ milestones


class MilestoneRewardKind(models.TextChoices):
    SERVICE_CREDIT = "service_credit", "Service credit"
    STORE_CREDIT = "store_credit", "Store credit"
    COUPON_PERCENT = "coupon_percent", "Coupon: percent off"
    COUPON_FIXED = "coupon_fixed", "Coupon: amount off"


class Milestone(models.Model):
    """A bonus a referrer earns once, on reaching `threshold` successful referrals."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    threshold = models.PositiveIntegerField("successful referrals")
    reward_kind = models.CharField(max_length=16, choices=MilestoneRewardKind.choices)
    service = models.ForeignKey("businesses.Service", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    amount = models.BigIntegerField(default=0, help_text="Store credit or amount off, in minor units.")
    percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    counts_towards_max = models.BooleanField("counts towards the maximum rewards per referrer", default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["threshold"]
        constraints = [
            models.UniqueConstraint(fields=["business", "threshold"], name="milestone_unique_threshold"),
            models.CheckConstraint(condition=models.Q(threshold__gte=1), name="milestone_threshold_positive"),
            models.CheckConstraint(
                condition=models.Q(reward_kind="service_credit", service__isnull=False, amount=0, percent=0)
                | models.Q(reward_kind__in=["store_credit", "coupon_fixed"], amount__gt=0, percent=0)
                | models.Q(reward_kind="coupon_percent", percent__gt=0, percent__lte=100, amount=0),
                name="milestone_value_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.threshold} successful referrals"


class MilestoneAward(models.Model):
    """A milestone a client reached, and the reward it gave. Once per (milestone, client), by constraint."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    # Kept when the owner deletes the milestone: the threshold is copied, the reward stays the client's.
    milestone = models.ForeignKey(Milestone, on_delete=models.SET_NULL, null=True, blank=True, related_name="awards")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="milestone_awards")
    reward = models.OneToOneField(Reward, on_delete=models.PROTECT, related_name="milestone_award")
    threshold = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "milestone", "client"],
                condition=models.Q(milestone__isnull=False),
                name="milestone_award_once_per_client",
            ),
        ]
        indexes = [models.Index(fields=["business", "client"], name="milestone_award_client")]

    def __str__(self) -> str:
        return f"Milestone {self.threshold} for client {self.client_id}"
