"""The client's details in the widget's booking flow, with an optional referral code or named referrer."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from businesses.models import Business
from clients.identity import InvalidPhone, normalize_phone
from clients.models import Source
from clients.services import ClientData
from referrals.codes import normalise

from .booking_flow import referrer_from_token

HEARD_ABOUT_CHOICES = [
    ("", _("Choose an answer (optional)")),
    ("friend", _("A friend or family member")),
    ("search", _("A search engine")),
    ("maps", _("A map app")),
    ("social", _("Social media")),
    ("passing_by", _("Walking or driving past")),
    ("other", _("Somewhere else")),
]


class DetailsForm(forms.Form):
    first_name = forms.CharField(
        label=_("First name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label=_("Last name"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        help_text=_("Where we send your booking details."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        help_text=_("In case your appointment has to move."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    notes = forms.CharField(
        label=_("Notes for your appointment"),
        required=False,
        max_length=1000,
        help_text=_("Anything the practitioner should know: injuries, preferences, access needs. Optional."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    heard_about = forms.ChoiceField(label=_("How did you hear about us?"), choices=HEARD_ABOUT_CHOICES, required=False)
    marketing_consent = forms.BooleanField(
        label=_("Send me news and offers by e-mail. I can unsubscribe at any time."), required=False
    )
    code = forms.CharField(
        label=_("Referral code"),
        required=False,
        max_length=32,
        help_text=_("From the friend who sent you, if you have one."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    referrer_first_name = forms.CharField(
        label=_("Their first name"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    referrer_initial = forms.CharField(
        label=_("First letter of their last name"),
        required=False,
        max_length=1,
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 2}),
    )
    # A signed client id (booking_flow.referrer_token), never the raw id.
    referrer = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    def __init__(self, *args, business: Business, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.business = business
        self.named_referrer = None

    def clean_first_name(self) -> str:
        return " ".join(self.cleaned_data["first_name"].split())

    def clean_last_name(self) -> str:
        return " ".join(self.cleaned_data["last_name"].split())

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["phone"], self.business.country.code)
        except InvalidPhone as error:
            raise forms.ValidationError(str(error)) from None

    def clean_code(self) -> str:
        return normalise(self.cleaned_data["code"])

    def clean_referrer(self) -> str:
        token = self.cleaned_data["referrer"]
        if token:
            self.named_referrer = referrer_from_token(self.business, token)
            if self.named_referrer is None:
                raise forms.ValidationError(_("Search for the person who referred you again."))
        return token

    def heard_about_text(self) -> str:
        """The answer in words, as the booking and the client record keep it."""
        return str(dict(HEARD_ABOUT_CHOICES).get(self.cleaned_data.get("heard_about") or "", ""))

    def client_data(self) -> ClientData:
        data = self.cleaned_data
        return ClientData(
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            phone=data["phone"],
            source=Source.ONLINE_BOOKING,
            source_detail=self.heard_about_text(),
            email_consent=data["marketing_consent"],
        )
