"""Use cases of the widget app. Each section belongs to one part of the widget; keep to your own section."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from businesses.models import Business
from businesses.services import audit_record

from . import framing
from .look import colour_clean, logo_content_type, logo_digest, share_message_clean
from .models import OnlineBookingStatus, WidgetSettings
from .origins import origins_parse

# --- Online booking status (the dashboard's opening hours page; the booking flow reads it) -----------------


@transaction.atomic
def widget_online_booking_status_set(*, business: Business, status: str, actor) -> WidgetSettings:
    """Whether online bookings arrive requested (staff confirm each) or confirmed. Locks the settings row (created
    if missing); saving the status it already has writes nothing."""
    if status not in OnlineBookingStatus.values:
        raise ValidationError({"online_booking_status": "Choose requested or confirmed."})
    WidgetSettings.objects.get_or_create(business=business)
    settings = WidgetSettings.objects.select_for_update().defer("logo").get(business=business)
    if settings.online_booking_status != status:
        settings.online_booking_status = status
        settings.updated_at = timezone.now()
        settings.save(update_fields=["online_booking_status", "updated_at"])
        audit_record(
            business=business, actor=actor, action="widget.online_booking_status", subject=settings, status=status
        )
    return settings


# --- Look, texts, logo and allowed origins (the dashboard's Widget page) ------------------------------------


@dataclass(frozen=True)
class WidgetLookData:
    """What the owner sets on the Widget page, as typed. `logo` is a new upload (None keeps the current one)."""

    primary_colour: str
    accent_colour: str
    headline: str = ""
    intro: str = ""
    button_label: str = ""
    share_message: str = ""
    allowed_origins: str = ""
    logo: bytes | None = None
    remove_logo: bool = False


LOOK_TEXT_FIELDS = ("headline", "intro", "button_label")


def widget_look_clean(data: WidgetLookData) -> dict:
    """The normalised values to store, or one ValidationError with a message per field. No database."""
    values: dict = {}
    errors: dict[str, list] = {}

    def check(field: str, clean, *args, **kwargs) -> None:
        try:
            values[field] = clean(*args, **kwargs)
        except ValidationError as error:
            errors[field] = error.messages

    check("primary_colour", colour_clean, data.primary_colour, label="The main colour")
    check("accent_colour", colour_clean, data.accent_colour, label="The accent colour")
    for field in LOOK_TEXT_FIELDS:
        text = " ".join((getattr(data, field) or "").split())
        limit = WidgetSettings._meta.get_field(field).max_length
        if len(text) > limit:
            errors[field] = [f"Keep it to {limit} characters (it has {len(text)})."]
        values[field] = text
    if not values["button_label"]:
        errors["button_label"] = ["Write the text of the booking button, such as “Book now”."]
    check("share_message", share_message_clean, data.share_message)
    share_limit = WidgetSettings._meta.get_field("share_message").max_length
    if len(values.get("share_message", "")) > share_limit:
        errors["share_message"] = [f"Keep the message to {share_limit} characters."]
    check("allowed_origins", origins_parse, data.allowed_origins)
    if data.logo is not None and not data.remove_logo:
        try:
            values["logo_content_type"] = logo_content_type(data.logo)
        except ValidationError as error:
            errors["logo"] = error.messages
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def widget_look_update(*, business: Business, data: WidgetLookData, actor) -> WidgetSettings:
    """Save the look, texts, share message, logo and allowed origins. Locks the settings row (created if missing);
    the online booking status is left as it is. The allowed origins' cache is forgotten, so framing follows at once."""
    values = widget_look_clean(data)
    WidgetSettings.objects.get_or_create(business=business)
    settings = WidgetSettings.objects.select_for_update().defer("logo").get(business=business)
    origins = values.pop("allowed_origins")
    changed = [name for name, value in values.items() if getattr(settings, name) != value]
    for name, value in values.items():
        setattr(settings, name, value)
    if (text := "\n".join(origins)) != settings.allowed_origins:
        settings.allowed_origins = text
        changed.append("allowed_origins")
    update_fields = ["primary_colour", "accent_colour", *LOOK_TEXT_FIELDS, "share_message", "allowed_origins"]
    if data.remove_logo:
        if settings.logo_digest:
            changed.append("logo")
        settings.logo, settings.logo_content_type, settings.logo_digest = None, "", ""
        update_fields += ["logo", "logo_content_type", "logo_digest"]
    elif data.logo is not None:
        digest = logo_digest(data.logo)
        if digest != settings.logo_digest:
            changed.append("logo")
        settings.logo, settings.logo_digest = data.logo, digest
        update_fields += ["logo", "logo_content_type", "logo_digest"]
    settings.updated_at = timezone.now()
    settings.save(update_fields=[*dict.fromkeys(update_fields), "updated_at"])
    audit_record(
        business=business, actor=actor, action="widget.look_updated", subject=settings, changed=sorted(set(changed))
    )
    # Forget now and again after commit: a request that read the old origins meanwhile cannot keep them cached.
    framing.forget(business.slug)
    transaction.on_commit(lambda: framing.forget(business.slug))
    return settings
