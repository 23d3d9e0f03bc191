"""The owner's Widget page form: it parses what was typed; widgets.services decides what is valid."""

from __future__ import annotations

from django import forms

from .look import LOGO_MAX_BYTES
from .models import WidgetSettings
from .origins import MAX_ORIGINS
from .services import WidgetLookData


def _max_length(name: str) -> int:
    return WidgetSettings._meta.get_field(name).max_length


class WidgetLookForm(forms.Form):
    primary_colour = forms.CharField(
        label="Main colour",
        max_length=7,
        help_text="Buttons and links. White text must stay readable on it (contrast at least 4.5:1).",
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    accent_colour = forms.CharField(
        label="Accent colour",
        max_length=7,
        help_text="The referral banner and highlights; white text must stay readable on it too.",
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    headline = forms.CharField(
        label="Headline",
        required=False,
        max_length=_max_length("headline"),
        help_text="Shown at the top of the widget. Empty: your business's name.",
    )
    intro = forms.CharField(
        label="Introduction",
        required=False,
        max_length=_max_length("intro"),
        help_text="A sentence or two under the headline.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    button_label = forms.CharField(label="Booking button", max_length=_max_length("button_label"))
    share_message = forms.CharField(
        label="Share message",
        max_length=_max_length("share_message"),
        help_text="What your clients' share buttons pre-compose. Placeholders: {business_name}, {offer} and {link} "
        "(required).",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    allowed_origins = forms.CharField(
        label="Websites allowed to embed the widget",
        required=False,
        help_text=f"One per line, such as https://www.example.com (at most {MAX_ORIGINS}). "
        "Any other website is refused by the browser.",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "https://www.example.com", "spellcheck": "false"}),
    )
    logo = forms.FileField(
        label="Logo",
        required=False,
        help_text=f"PNG, JPEG or WebP, at most {LOGO_MAX_BYTES // 1024} KB.",
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    remove_logo = forms.BooleanField(label="Remove the logo", required=False)

    FIELDS = ("primary_colour", "accent_colour", "headline", "intro", "button_label", "share_message")

    @classmethod
    def for_settings(cls, settings: WidgetSettings, data=None, files=None) -> WidgetLookForm:
        initial = {name: getattr(settings, name) for name in cls.FIELDS}
        initial["allowed_origins"] = settings.allowed_origins
        return cls(data, files, initial=initial)

    def look_data(self) -> WidgetLookData:
        upload = self.cleaned_data.get("logo")
        logo = None
        if upload:
            # One byte past the limit is enough to tell the owner the file is too big.
            logo = upload.read(LOGO_MAX_BYTES + 1)
        return WidgetLookData(
            **{name: self.cleaned_data[name] for name in self.FIELDS},
            allowed_origins=self.cleaned_data["allowed_origins"],
            logo=logo,
            remove_logo=self.cleaned_data["remove_logo"],
        )
