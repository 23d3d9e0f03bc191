"""Forms of the client profile: asking for a sign-in link and inviting a friend."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from referrals.models import FriendInvitation


class SignInForm(forms.Form):
    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        error_messages={
            "required": _("Enter the e-mail address you gave when you booked."),
            "invalid": _("Enter a valid e-mail address, e.g. name@example.com."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )


class InviteForm(forms.Form):
    first_name = forms.CharField(
        label=_("Your friend's first name"),
        max_length=FriendInvitation._meta.get_field("first_name").max_length,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    email = forms.EmailField(
        label=_("Your friend's e-mail address"),
        max_length=254,
        error_messages={"invalid": _("Enter your friend's e-mail address, e.g. name@example.com.")},
        widget=forms.EmailInput(attrs={"autocomplete": "off", "inputmode": "email"}),
    )
