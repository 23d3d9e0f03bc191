"""Milestones (owner only), under /b/<slug>/rewards/milestones/: list, add, edit, delete."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from businesses.forms import add_errors
from businesses.models import Service
from businesses.money import AmountTooLarge, from_minor, to_minor
from referrals_saas.tenancy import business_view

from .milestones import MilestoneData, milestone_create, milestone_delete, milestone_reward_label, milestone_update
from .models import Milestone, MilestoneAward, MilestoneRewardKind

SECTION = "rewards"


class MilestoneForm(forms.Form):
    threshold = forms.IntegerField(label="Successful referrals", min_value=1, max_value=10000)
    reward_kind = forms.ChoiceField(
        label="The referrer gets", choices=MilestoneRewardKind.choices, widget=forms.RadioSelect
    )
    service = forms.ModelChoiceField(
        label="Service (for a service credit)", queryset=Service.objects.none(), required=False
    )
    value = forms.DecimalField(
        label="Value",
        required=False,
        min_value=Decimal("0.01"),
        max_digits=15,
        decimal_places=2,
        help_text="For store credit or an amount-off coupon, an amount; for a percent-off coupon, a percentage.",
    )
    counts_towards_max = forms.BooleanField(
        label="Counts towards the maximum rewards per referrer", required=False, label_suffix=""
    )
    active = forms.BooleanField(label="Active", required=False, initial=True, label_suffix="")

    def __init__(self, *args, business, milestone: Milestone | None = None, **kwargs):
        self.currency = business.currency
        if milestone is not None and not args:
            kwargs.setdefault("initial", _initial(milestone, business.currency))
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(business=business, is_active=True).order_by("name")

    def clean(self):
        data = super().clean()
        kind = data.get("reward_kind")
        if kind == MilestoneRewardKind.SERVICE_CREDIT:
            if data.get("service") is None and "service" not in self.errors:
                self.add_error("service", "Choose the service the credit is for.")
        elif kind and data.get("value") is None and "value" not in self.errors:
            self.add_error("value", "Enter the value of the reward.")
        elif kind == MilestoneRewardKind.COUPON_PERCENT and data.get("value") and data["value"] > 100:
            self.add_error("value", "A percentage cannot be more than 100.")
        elif kind in (MilestoneRewardKind.STORE_CREDIT, MilestoneRewardKind.COUPON_FIXED) and data.get("value"):
            try:
                data["amount"] = to_minor(data["value"], self.currency)
            except (AmountTooLarge, ValueError, ArithmeticError):
                self.add_error("value", "Enter a valid amount.")
        return data

    def milestone_data(self) -> MilestoneData:
        data = self.cleaned_data
        kind = data["reward_kind"]
        return MilestoneData(
            threshold=data["threshold"],
            reward_kind=kind,
            service=data.get("service") if kind == MilestoneRewardKind.SERVICE_CREDIT else None,
            amount=data.get("amount", 0),
            percent=data.get("value") if kind == MilestoneRewardKind.COUPON_PERCENT else Decimal(0),
            counts_towards_max=data.get("counts_towards_max", False),
            active=data.get("active", False),
        )


def _initial(milestone: Milestone, currency: str) -> dict:
    value = None
    if milestone.reward_kind == MilestoneRewardKind.COUPON_PERCENT:
        value = milestone.percent
    elif milestone.amount:
        value = from_minor(milestone.amount, currency)
    return {
        "threshold": milestone.threshold,
        "reward_kind": milestone.reward_kind,
        "service": milestone.service_id,
        "value": value,
        "counts_towards_max": milestone.counts_towards_max,
        "active": milestone.active,
    }


def _list_url(business) -> str:
    return reverse("rewards:milestones", args=[business.slug])


def _milestone_or_404(request, milestone_id: int) -> Milestone:
    return get_object_or_404(Milestone.objects.select_related("service"), business=request.business, pk=milestone_id)


@business_view(owner_only=True)
def milestone_list(request):
    business = request.business
    milestones = list(Milestone.objects.filter(business=business).select_related("service").order_by("threshold"))
    reached = dict.fromkeys((m.pk for m in milestones), 0)
    for milestone_id in MilestoneAward.objects.filter(business=business, milestone__in=milestones).values_list(
        "milestone_id", flat=True
    ):
        reached[milestone_id] += 1
    rows = [(m, milestone_reward_label(m, business.currency), reached[m.pk]) for m in milestones]
    return render(request, "rewards/milestones.html", {"rows": rows, "active_section": SECTION})


def _form_page(request, form: MilestoneForm, milestone: Milestone | None, status: int = 200):
    context = {"form": form, "milestone": milestone, "currency": request.business.currency, "active_section": SECTION}
    return render(request, "rewards/milestones_form.html", context, status=status)


def _submit(request, form: MilestoneForm, milestone: Milestone | None):
    business = request.business
    if form.is_valid():
        try:
            if milestone is None:
                saved = milestone_create(business=business, data=form.milestone_data(), actor=request.user)
            else:
                saved = milestone_update(
                    business=business, milestone=milestone, data=form.milestone_data(), actor=request.user
                )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, f"The milestone at {saved.threshold} successful referrals was saved.")
            return redirect(_list_url(business))
    return _form_page(request, form, milestone, status=400)


@business_view(owner_only=True)
def milestone_new(request):
    form = MilestoneForm(request.POST or None, business=request.business)
    if request.method == "POST":
        return _submit(request, form, None)
    return _form_page(request, form, None)


@business_view(owner_only=True)
def milestone_edit(request, milestone_id: int):
    milestone = _milestone_or_404(request, milestone_id)
    form = MilestoneForm(request.POST or None, business=request.business, milestone=milestone)
    if request.method == "POST":
        return _submit(request, form, milestone)
    return _form_page(request, form, milestone)


@business_view(owner_only=True)
def milestone_remove(request, milestone_id: int):
    """Ask first (GET), delete on POST. Clients who reached it keep what they were given."""
    business = request.business
    milestone = _milestone_or_404(request, milestone_id)
    if request.method == "POST":
        milestone_delete(business=business, milestone=milestone, actor=request.user)
        messages.success(request, "The milestone was deleted. Clients who reached it keep their reward.")
        return redirect(_list_url(business))
    context = {
        "milestone": milestone,
        "label": milestone_reward_label(milestone, business.currency),
        "active_section": SECTION,
    }
    return render(request, "rewards/milestones_delete.html", context)
