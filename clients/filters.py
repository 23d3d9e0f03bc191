"""Forms of the clients list that are not the filters themselves (those are parsed by `ClientFilters`)."""

from __future__ import annotations

from django import forms

from .models import Segment


class SegmentForm(forms.Form):
    name = forms.CharField(
        label="Segment name",
        max_length=Segment._meta.get_field("name").max_length,
        help_text="For example “Lapsed referrers” or “VIPs not seen for 60 days”.",
        error_messages={"required": "Give the segment a name."},
    )

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())
