"""The owner's opening hours form: one line of times per weekday, and how online bookings arrive."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from .hours import WeeklyHours, format_day, parse_day
from .models import Weekday


class OpeningHoursForm(forms.Form):
    """`status_choices` come from the widget app (above this one), handed in by the dashboard view."""

    online_booking_status = forms.ChoiceField(label="Online bookings arrive", widget=forms.RadioSelect)

    def __init__(self, *args, week: WeeklyHours, status: str, status_choices, **kwargs):
        super().__init__(*args, **kwargs)
        for day in Weekday:
            self.fields[f"day_{day.value}"] = forms.CharField(
                label=day.label,
                required=False,
                max_length=200,
                initial=format_day(week.get(day.value, ())),
                widget=forms.TextInput(attrs={"placeholder": "Closed", "autocomplete": "off"}),
            )
        self.fields["online_booking_status"].choices = status_choices
        self.fields["online_booking_status"].initial = status

    def day_fields(self) -> list:
        return [self[f"day_{day.value}"] for day in Weekday]

    def clean(self):
        data = super().clean()
        week = {}
        for day in Weekday:
            name = f"day_{day.value}"
            if name not in data:
                continue
            try:
                week[day.value] = parse_day(data[name])
            except ValidationError as error:
                self.add_error(name, error)
        data["week"] = week
        return data
