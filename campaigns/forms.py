from __future__ import annotations

from django import forms

from .services import MAX_DAYS_BEFORE, MAX_DELAY_MINUTES, MIN_DAYS_BEFORE


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


class RewardExpiringForm(forms.Form):
    enabled = forms.BooleanField(label="Send the Reward expiring reminder", required=False)
    days_before = forms.IntegerField(
        label="Remind this many days before it expires",
        min_value=MIN_DAYS_BEFORE,
        max_value=MAX_DAYS_BEFORE,
        help_text="Checked once a day: each coupon, store credit and points is reminded once.",
    )
    subject = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 14}))
