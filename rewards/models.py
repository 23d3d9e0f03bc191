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
        indexes = [models.Index(fields=["business", "client", "status"], name="coupon_business_client")]

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
