from __future__ import annotations

from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from businesses.models import Business


class OnlineBookingStatus(models.TextChoices):
    REQUESTED = "requested", "Requested: staff confirm each online booking"
    CONFIRMED = "confirmed", "Confirmed at once"


DEFAULT_SHARE_MESSAGE = "I love {business_name}: book with my link and get {offer}: {link}"


class WidgetSettings(models.Model):
    """How a business's booking widget and client profile look and behave. A business without a row uses the
    defaults (widgets.selectors.widget_settings_for returns an unsaved one)."""

    business = models.OneToOneField(Business, on_delete=models.CASCADE, related_name="+")
    online_booking_status = models.CharField(
        max_length=10, choices=OnlineBookingStatus.choices, default=OnlineBookingStatus.REQUESTED
    )
    # What a client's share buttons pre-compose; {business_name}, {offer} and {link} are filled in.
    share_message = models.CharField(max_length=280, default=DEFAULT_SHARE_MESSAGE)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    def __str__(self) -> str:
        return f"Widget settings of {self.business}"
