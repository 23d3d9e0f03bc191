from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import slugify
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField

from .choices import currency_choices, time_zone_choices
from .models import Business, Role, slug_validator


class BusinessFieldsForm(forms.Form):
    """The details of a new business; used at sign-up and when a user adds another business."""

    business_name = forms.CharField(label="Business name", max_length=120)
    business_slug = forms.CharField(
        label="Web address",
        max_length=50,
        validators=[slug_validator],
        help_text="Lower-case letters, digits and hyphens. Your booking page will live at /w/your-address/.",
    )
    country = LazyTypedChoiceField(choices=countries, initial="US")
    currency = forms.ChoiceField(choices=currency_choices, initial="USD")
    time_zone = forms.ChoiceField(choices=time_zone_choices, initial="UTC")

    def clean_business_slug(self) -> str:
        slug = self.cleaned_data["business_slug"].strip().lower()
        if Business.objects.filter(slug=slug).exists():
            suggestion = self._free_slug_like(slug)
            raise forms.ValidationError(
                f"The address “{slug}” is already taken. How about “{suggestion}”?", code="slug_taken"
            )
        return slug

    @staticmethod
    def _free_slug_like(slug: str) -> str:
        for number in range(2, 1000):
            candidate = f"{slug[:45]}-{number}"
            if not Business.objects.filter(slug=candidate).exists():
                return candidate
        return slugify(slug)

    def business_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["business_name"],
            "slug": data["business_slug"],
            "time_zone": data["time_zone"],
            "currency": data["currency"],
            "country": data["country"],
        }


class SignupBusinessForm(BusinessFieldsForm):
    """allauth's ACCOUNT_SIGNUP_FORM_CLASS: the sign-up form gains the business fields.

    The business itself is created by AccountAdapter.save_user, in the same transaction as the user.
    """

    def signup(self, request, user) -> None:
        """Required by allauth; the work happens in the adapter so it shares the user's transaction."""


class BusinessSettingsForm(forms.ModelForm):
    class Meta:
        model = Business
        fields = ["name", "country", "currency", "time_zone", "clients_apply_credit_online"]
        help_texts = {
            "currency": "Prices, discounts and rewards are kept in this currency.",
            "time_zone": "Bookings, opening hours and reports use this time zone.",
        }


class InvitationForm(forms.Form):
    email = forms.EmailField(label="E-mail address")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.STAFF)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class InvitationSignupForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="Password (again)", widget=forms.PasswordInput, strip=False)

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.password_validation import validate_password

        data = super().clean()
        password = data.get("password1")
        if password and password != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        elif password:
            user = get_user_model()(
                email=self.email, first_name=data.get("first_name", ""), last_name=data.get("last_name", "")
            )
            try:
                validate_password(password, user)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


def add_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: each field's messages on that field, the rest on the form.

    The one adapter between services (which speak in field names) and the dashboard's forms, in every app.
    """
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)
