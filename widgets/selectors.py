"""Reads for the widget: a business's widget settings (saved or the defaults) and the theme its pages use."""

from __future__ import annotations

from contextlib import suppress

from django.core.exceptions import ValidationError
from django.urls import reverse

from businesses.models import Business

from .look import colour_clean, mix
from .models import DEFAULT_BUTTON_LABEL, WidgetSettings


def widget_settings_for(business: Business) -> WidgetSettings:
    """The business's saved settings, or an unsaved row with the defaults (nothing is written on read).

    The logo's bytes are left in the database until read (pages need only its digest; widgets.views_embed serves it).
    """
    return WidgetSettings.objects.filter(business=business).defer("logo").first() or WidgetSettings(business=business)


# --- Look: the theme the public widget pages are drawn with ---------------------------------------------------

PREVIEW_TEXT_FIELDS = ("headline", "intro", "button_label")


def theme_from(business: Business, settings: WidgetSettings) -> dict:
    """What templates/widgets/_theme.html and the widget pages read: colours with their derived shades, texts, logo.

    Takes the settings as given, so the dashboard's preview can pass unsaved values.
    """
    primary, accent = settings.primary_colour, settings.accent_colour
    logo_url = ""
    if settings.logo_digest:
        logo_url = reverse("widget_public:logo", args=[business.slug, settings.logo_digest])
    return {
        "primary": primary,
        "primary_dark": mix(primary, "#000000", 0.2),
        "primary_soft": mix(primary, "#ffffff", 0.85),
        "accent": accent,
        "accent_soft": mix(accent, "#ffffff", 0.9),
        "headline": settings.headline or business.name,
        "intro": settings.intro,
        "button_label": settings.button_label or DEFAULT_BUTTON_LABEL,
        "logo_url": logo_url,
        "business_name": business.name,
    }


def widget_theme(business: Business) -> dict:
    """The business's saved theme (one query)."""
    return theme_from(business, widget_settings_for(business))


def widget_theme_preview(business: Business, values) -> dict:
    """The theme with the owner's unsaved colours and texts from `values` (a QueryDict): each value that would be
    refused on save is left out, so the preview shows the saved one instead. Nothing is written."""
    settings = widget_settings_for(business)
    for field, label in (("primary_colour", "Main colour"), ("accent_colour", "Accent colour")):
        if field in values:
            with suppress(ValidationError):
                setattr(settings, field, colour_clean(values[field], label=label))
    for field in PREVIEW_TEXT_FIELDS:
        if field in values:
            text = " ".join(values[field].split())
            if len(text) <= WidgetSettings._meta.get_field(field).max_length:
                setattr(settings, field, text)
    return theme_from(business, settings)


def widget_logo(business: Business, digest: str) -> tuple[bytes, str] | None:
    """The logo's bytes and content type if `digest` names the current logo, else None (an old or unknown one)."""
    row = (
        WidgetSettings.objects.filter(business=business, logo_digest=digest)
        .exclude(logo_digest="")
        .values_list("logo", "logo_content_type")
        .first()
    )
    if row is None or row[0] is None:
        return None
    return bytes(row[0]), row[1]
