from __future__ import annotations

from django import forms

from .models import Promotion
from .services import MAX_DAYS_BEFORE, MAX_DELAY_MINUTES, MAX_FREQUENCY_DAYS, MIN_DAYS_BEFORE, MIN_FREQUENCY_DAYS


class ThankYouForm(forms.Form):
    enabled = forms.BooleanField(label="Send the Referral Thank You", required=False)
    delay_minutes = forms.IntegerField(
        label="Send it after (minutes)",
        min_value=0,
        max_value=MAX_DELAY_MINUTES,
        help_text="0 sends it as soon as the referral is confirmed.",
    )
    promotion = forms.ModelChoiceField(
        label="Attach a promotion",
        queryset=Promotion.objects.none(),
        required=False,
        empty_label="No promotion",
        help_text="While it runs, its name, offer and link fill {{ promotion_name }}, {{ promotion_offer }} and "
        "{{ promotion_link }}.",
    )
    subject = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 14}))

    def __init__(self, *args, business, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["promotion"].queryset = Promotion.objects.filter(business=business, archived_at__isnull=True)


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


class EncourageForm(forms.Form):
    enabled = forms.BooleanField(label="Send Encourage Referrals", required=False)
    delay_days = forms.IntegerField(
        label="Send it this many days after a completed visit",
        min_value=0,
        max_value=MAX_DELAY_MINUTES // (24 * 60),
        help_text="0 sends it as soon as the visit is marked completed.",
    )
    frequency_days = forms.IntegerField(
        label="At most once per client every (days)",
        min_value=MIN_FREQUENCY_DAYS,
        max_value=MAX_FREQUENCY_DAYS,
    )
    subject = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 18}))

    def clean(self):
        data = super().clean()
        if "delay_days" in data:
            data["delay_minutes"] = data.pop("delay_days") * 24 * 60
        return data


class WelcomeForm(forms.Form):
    enabled = forms.BooleanField(label="Send the Welcome", required=False)
    delay_minutes = forms.IntegerField(
        label="Send it after (minutes)",
        min_value=0,
        max_value=MAX_DELAY_MINUTES,
        help_text="0 sends it as soon as the referred friend books.",
    )
    subject = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}))
