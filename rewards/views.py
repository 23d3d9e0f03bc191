"""The Rewards section: every coupon issued to referrers, by state, with what is still outstanding."""

from __future__ import annotations

from django import forms
from django.shortcuts import render

from clients.params import checked_day
from referrals_saas.tenancy import business_view

from .selectors import STATES, RewardFilters, rewards_overview


class RewardFilterForm(forms.Form):
    state = forms.ChoiceField(label="State", choices=list(STATES.items()), required=False)
    q = forms.CharField(label="Client", required=False, max_length=100)
    issued_from = forms.DateField(label="Issued from", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    issued_to = forms.DateField(label="to", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean_issued_from(self):
        return checked_day(self.cleaned_data.get("issued_from"))

    def clean_issued_to(self):
        return checked_day(self.cleaned_data.get("issued_to"))

    def filters(self) -> RewardFilters:
        data = self.cleaned_data
        return RewardFilters(
            state=data.get("state") or "",
            q=data.get("q") or "",
            issued_from=data.get("issued_from"),
            issued_to=data.get("issued_to"),
        )


@business_view
def index(request):
    form = RewardFilterForm(request.GET or None)
    valid = form.is_valid() if request.GET else True
    filters = form.filters() if request.GET and valid else RewardFilters()
    context = {
        "form": form,
        "states": STATES,
        "filters": filters,
        "overview": rewards_overview(business=request.business, filters=filters),
        "active_section": "rewards",
    }
    return render(request, "rewards/index.html", context, status=200 if valid else 400)
