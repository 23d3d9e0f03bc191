from __future__ import annotations

from django import forms

from clients.models import Segment

from .bulk import MAX_DAYS, MIN_DAYS, CampaignData
from .models import CampaignAudience, Promotion


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Only you see it, e.g. “Spring offer to referrers”.")
    audience = forms.ChoiceField(
        label="Who gets it", choices=CampaignAudience.choices, widget=forms.RadioSelect, initial="consenting"
    )
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.none(), required=False, empty_label="Choose a segment", label="Segment"
    )
    audience_days = forms.IntegerField(
        label="Visited once in the last … days", min_value=MIN_DAYS, max_value=MAX_DAYS, initial=30
    )
    promotion = forms.ModelChoiceField(
        label="Promotion",
        queryset=Promotion.objects.none(),
        required=False,
        empty_label="No promotion",
        help_text="Its name, offer and link fill {{ promotion_name }}, {{ promotion_offer }} and {{ promotion_link }}.",
    )
    subject = forms.CharField(max_length=200)
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 14}))

    def __init__(self, *args, business, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.filter(business=business).order_by("name")
        self.fields["promotion"].queryset = Promotion.objects.filter(
            business=business, archived_at__isnull=True
        ).order_by("name")

    def to_data(self) -> CampaignData:
        data = self.cleaned_data
        return CampaignData(
            name=data["name"],
            audience=data["audience"],
            segment=data["segment"],
            audience_days=data["audience_days"],
            subject=data["subject"],
            body=data["body"],
            promotion=data["promotion"],
        )


class ScheduleForm(forms.Form):
    scheduled_at = forms.DateTimeField(
        label="Send on",
        help_text="In your business's time zone.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
