from __future__ import annotations

from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from businesses.models import Business


class OnlineBookingStatus(models.TextChoices):
    REQUESTED = "requested", "Requested: staff confirm each online booking"
    CONFIRMED = "confirmed", "Confirmed at once"


DEFAULT_SHARE_MESSAGE = "I love {business_name}: book with my link and get {offer}: {link}"
# The product's own palette (static/css/app.css); both pass WCAG AA with white text.
DEFAULT_PRIMARY_COLOUR = "#0f766e"
DEFAULT_ACCENT_COLOUR = "#b54708"
DEFAULT_BUTTON_LABEL = "Book now"


class WidgetSettings(models.Model):
    """How a business's booking widget and client profile look and behave. A business without a row uses the
    defaults (widgets.selectors.widget_settings_for returns an unsaved one)."""

    business = models.OneToOneField(Business, on_delete=models.CASCADE, related_name="+")
    online_booking_status = models.CharField(
        max_length=10, choices=OnlineBookingStatus.choices, default=OnlineBookingStatus.REQUESTED
    )
    # What a client's share buttons pre-compose; {business_name}, {offer} and {link} are filled in.
    share_message = models.CharField(max_length=280, default=DEFAULT_SHARE_MESSAGE)
    # Look and texts (widgets.look validates them: #rrggbb with AA contrast against white text).
    primary_colour = models.CharField(max_length=7, default=DEFAULT_PRIMARY_COLOUR)
    accent_colour = models.CharField(max_length=7, default=DEFAULT_ACCENT_COLOUR)
    headline = models.CharField(max_length=80, blank=True)
    intro = models.CharField(max_length=300, blank=True)
    button_label = models.CharField(max_length=30, default=DEFAULT_BUTTON_LABEL)
    # The logo lives in the database (at most 200 KB, PNG/JPEG/WebP checked by magic bytes) so that every web
    # process serves it without shared file storage; the digest versions its URL for long caching.
    logo = models.BinaryField(null=True, blank=True)
    logo_content_type = models.CharField(max_length=20, blank=True)
    logo_digest = models.CharField(max_length=16, blank=True)
    # Origins allowed to frame the widget (CSP frame-ancestors), normalised, one per line.
    allowed_origins = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(business="business")

    def __str__(self) -> str:
        return f"Widget settings of {self.business}"

    @property
    def allowed_origin_list(self) -> list[str]:
        return [line for line in self.allowed_origins.splitlines() if line]
