from __future__ import annotations

from django import forms

from .services import MAX_DELAY_MINUTES


class ThankYouForm(forms.Form):
    enabled = forms.BooleanField(label="Send the Referral Thank You", required=False)
    delay_minutes = forms.IntegerField(
        label="Send it after (minutes)",
        min_value=0,
        max_value=MAX_DELAY_MINUTES,
        help_text="0 sends it as soon as the referral is confirmed.",
    )
    subject = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 14}))
