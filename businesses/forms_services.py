from __future__ import annotations

from decimal import Decimal

from django import forms

from .catalog import MAX_DURATION_MINUTES, MAX_PRICE_MINOR, PLAN_COUNT_LIMITS, ServiceData, plan_count_error
from .choices import minor_unit_digits
from .models import PaymentPlan, PlanInterval, Service
from .money import format_money, from_minor, to_minor

# A Service.price is a PositiveIntegerField: its largest value on every database we run on.


class ServiceForm(forms.Form):
    """The owner's service form. The price is typed in the business's currency and kept in minor units."""

    name = forms.CharField(max_length=120)
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown to clients in the booking widget.",
    )
    price = forms.DecimalField(
        min_value=Decimal(0),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)", min_value=1, max_value=MAX_DURATION_MINUTES, initial=60
    )
    online_bookable = forms.BooleanField(
        label="Clients can book it online",
        label_suffix="",
        required=False,
        initial=True,
        help_text="Offered in the booking widget.",
    )
    new_clients_only = forms.BooleanField(
        label="Only for new clients",
        label_suffix="",
        required=False,
        help_text="A first-visit offer: clients who have booked before cannot book it.",
    )
    payment_plan = forms.ChoiceField(choices=PaymentPlan.choices, initial=PaymentPlan.ONE_OFF, widget=forms.RadioSelect)
    plan_count = forms.IntegerField(
        label="Number of instalments, billing periods or sessions",
        required=False,
        min_value=1,
        help_text=(
            "Instalments: 2–36 payments that add up to the price. Membership: 1–36 billing periods, each at the "
            "price. Pay per session: 2–100 sessions, each at the price."
        ),
    )
    plan_interval = forms.ChoiceField(
        label="How often",
        choices=PlanInterval.choices,
        required=False,
        initial=PlanInterval.MONTH,
        help_text="Payments, renewals or sessions fall due this often from the first booking.",
    )

    def __init__(self, *args, currency: str, service: Service | None = None, **kwargs):
        if service is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": service.name,
                "description": service.description,
                "price": from_minor(service.price, currency),
                "duration_minutes": service.duration_minutes,
                "online_bookable": service.online_bookable,
                "new_clients_only": service.new_clients_only,
                "payment_plan": service.payment_plan,
                "plan_count": service.plan_count,
                "plan_interval": service.plan_interval,
            }
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.fields["price"].label = f"Price ({currency})"
        self.fields["price"].help_text = (
            "The whole price for a one-off payment or instalments; the price of one billing period for a "
            "membership, of one session for pay per session."
        )
        digits = minor_unit_digits(currency)
        self.fields["price"].widget.attrs["placeholder"] = "49" if digits == 0 else f"49.{'9' * (digits - 1)}0"

    def clean_price(self) -> int:
        value = self.cleaned_data["price"]
        try:
            minor = to_minor(value, self.currency)
        except ValueError as exc:
            digits = minor_unit_digits(self.currency)
            places = "no decimal places" if digits == 0 else f"at most {digits} decimal places"
            raise forms.ValidationError(f"Prices in {self.currency} have {places}.") from exc
        if minor > MAX_PRICE_MINOR:
            raise forms.ValidationError(f"A price can be at most {format_money(MAX_PRICE_MINOR, self.currency)}.")
        return minor

    def clean(self):
        data = super().clean()
        plan = data.get("payment_plan")
        # Hidden and not sent with a one-off payment, where it means nothing.
        data["plan_interval"] = data.get("plan_interval") or PlanInterval.MONTH
        count = data.get("plan_count")
        if plan == PaymentPlan.ONE_OFF and count is None:
            # The count is hidden (and not sent) for a one-off payment.
            data["plan_count"] = 1
        elif plan in PLAN_COUNT_LIMITS and "plan_count" not in self.errors:
            if count is None:
                low, high = PLAN_COUNT_LIMITS[plan]
                self.add_error("plan_count", f"How many? Choose between {low} and {high}.")
            elif problem := plan_count_error(plan, count):
                self.add_error("plan_count", problem)
        return data

    def service_data(self) -> ServiceData:
        data = self.cleaned_data
        return ServiceData(
            name=data["name"],
            description=data["description"],
            price=data["price"],
            duration_minutes=data["duration_minutes"],
            online_bookable=data["online_bookable"],
            new_clients_only=data["new_clients_only"],
            payment_plan=data["payment_plan"],
            plan_count=data["plan_count"],
            plan_interval=data["plan_interval"],
        )
