"""The owner's loyalty points settings page."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from businesses.forms import add_errors
from businesses.money import from_minor, to_minor
from referrals_saas.tenancy import business_view

from .models import PointsProgram
from .points_program import PointsProgramData, points_program_update


class PointsProgramForm(forms.Form):
    enabled = forms.BooleanField(label="Clients earn loyalty points", required=False)
    points_per_unit = forms.DecimalField(
        label="Points per unit spent", min_value=0, max_digits=9, decimal_places=4,
        help_text="e.g. 1: one point for every whole unit of your currency a client pays.",
    )  # fmt: skip
    point_value = forms.DecimalField(
        label="What one point is worth", min_value=0, max_digits=12, decimal_places=3,
        help_text="In your currency, e.g. 0.05.",
    )  # fmt: skip
    referrer_points_per_unit = forms.DecimalField(
        label="Referrer's points per unit their friends spend", min_value=0, max_digits=9, decimal_places=4,
        help_text="e.g. 0.25; 0 gives referrers nothing.",
    )  # fmt: skip
    referrer_months = forms.IntegerField(
        label="Only for this many months after the referral", required=False, min_value=1,
        help_text="Empty: as long as the friend keeps coming.",
    )  # fmt: skip
    expiry_days = forms.IntegerField(
        label="Points expire after (days)", required=False, min_value=1, help_text="Empty: points never expire."
    )

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_point_value(self) -> int:
        try:
            return to_minor(self.cleaned_data["point_value"], self.currency)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def data_for_service(self) -> PointsProgramData:
        data = self.cleaned_data
        return PointsProgramData(
            enabled=data["enabled"],
            points_per_unit=data["points_per_unit"],
            point_value=data["point_value"],
            referrer_points_per_unit=data["referrer_points_per_unit"],
            referrer_months=data["referrer_months"],
            expiry_days=data["expiry_days"],
        )


def _initial(program: PointsProgram | None, currency: str) -> dict:
    if program is None:
        return {"points_per_unit": Decimal(1), "point_value": from_minor(1, currency), "referrer_points_per_unit": 0}
    return {
        "enabled": program.enabled,
        "points_per_unit": program.points_per_unit.normalize(),
        "point_value": from_minor(program.point_value, currency),
        "referrer_points_per_unit": program.referrer_points_per_unit.normalize(),
        "referrer_months": program.referrer_months,
        "expiry_days": program.expiry_days,
    }


@business_view(owner_only=True)
def points_settings(request):
    business = request.business
    program = PointsProgram.objects.filter(business=business).first()
    form = PointsProgramForm(
        request.POST or None, initial=_initial(program, business.currency), currency=business.currency
    )
    if request.method == "POST":
        if form.is_valid():
            try:
                points_program_update(business=business, data=form.data_for_service(), actor=request.user)
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, "The loyalty points settings were saved.")
                return redirect("rewards:points", business.slug)
        status = 400
    else:
        status = 200
    return render(request, "rewards/points.html", {"form": form, "active_section": "rewards"}, status=status)
