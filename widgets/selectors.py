"""Reads for the widget: a business's widget settings (saved or the defaults)."""

from __future__ import annotations

from businesses.models import Business

from .models import WidgetSettings


def widget_settings_for(business: Business) -> WidgetSettings:
    """The business's saved settings, or an unsaved row with the defaults (nothing is written on read)."""
    return WidgetSettings.objects.filter(business=business).first() or WidgetSettings(business=business)
