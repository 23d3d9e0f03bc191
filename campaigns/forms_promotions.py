from __future__ import annotations

from django import forms

from businesses.models import Business, Service
from clients.params import checked_day
from referrals.forms_program import ServicesField

from .models import Promotion, PromotionAudience, PromotionKind
from .promotions import PromotionData


class PromotionForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Clients see it, e.g. “Spring offer”.")
    code = forms.CharField(
        max_length=30,
        help_text="What clients type or what the link fills in, e.g. SPRING20. Letters, digits, - and _.",
    )
    kind = forms.ChoiceField(label="Discount", choices=PromotionKind.choices, widget=forms.RadioSelect)
    value = forms.CharField(
        label="Value",
        max_length=20,
        help_text="A percent (20) or an amount (15.50).",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    services = ServicesField(
        queryset=Service.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None chosen: every service.",
        error_messages={"invalid_choice": "Some of the chosen services no longer exist. Choose again."},
    )
    starts_on = forms.DateField(label="Valid from", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label="Valid until", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    max_uses = forms.IntegerField(label="Maximum uses", required=False, min_value=1, max_value=1_000_000)
    audience = forms.ChoiceField(label="Who may use it", choices=PromotionAudience.choices, widget=forms.RadioSelect)

    def __init__(self, *args, business: Business, promotion: Promotion | None = None, **kwargs):
        if promotion is not None and "initial" not in kwargs:
            kwargs["initial"] = _initial(promotion)
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = Service.objects.filter(business=business, is_active=True).order_by("name")

    def clean_starts_on(self):
        return checked_day(self.cleaned_data.get("starts_on"))

    def clean_ends_on(self):
        return checked_day(self.cleaned_data.get("ends_on"))

    def promotion_data(self) -> PromotionData:
        data = self.cleaned_data
        return PromotionData(
            name=data["name"],
            code=data["code"],
            kind=data["kind"],
            value=data["value"],
            service_ids=tuple(service.pk for service in data["services"]),
            starts_on=data.get("starts_on"),
            ends_on=data.get("ends_on"),
            max_uses=data.get("max_uses"),
            audience=data["audience"],
        )


def _initial(promotion: Promotion) -> dict:
    from businesses.money import from_minor

    value = promotion.percent.normalize() if promotion.kind == PromotionKind.PERCENT else None
    if value is None:
        value = from_minor(promotion.amount, promotion.business.currency)
    return {
        "name": promotion.name,
        "code": promotion.code,
        "kind": promotion.kind,
        "value": f"{value:f}",
        "services": [] if promotion.all_services else list(promotion.services.values_list("pk", flat=True)),
        "starts_on": promotion.starts_on,
        "ends_on": promotion.ends_on,
        "max_uses": promotion.max_uses,
        "audience": promotion.audience,
    }
