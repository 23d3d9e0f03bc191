"""The owner's forms for the referral program: they parse what was typed; referrals.program decides what is valid."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from businesses.choices import minor_unit_digits
from businesses.models import Service
from businesses.money import from_minor

from .models import WHOLE_NUMBER_KINDS, ReferralProgram, ReferralRule, RewardKindChoice
from .program import FAST_DAYS_LIMITS, MAX_ID, PROGRAM_LIMITS, ProgramData, RuleData
from .rules import AmountKind, Recipients

# Enough digits for any amount a rule may hold; longer input is refused before it reaches the arithmetic.
VALUE_MAX_DIGITS = 15


def _model_field(name: str):
    return ReferralProgram._meta.get_field(name)


def _label(name: str) -> str:
    return str(_model_field(name).verbose_name).capitalize()


def _days_field(name: str, *, required: bool = True, help_text: str = "") -> forms.IntegerField:
    low, high = PROGRAM_LIMITS[name]
    return forms.IntegerField(
        label=_label(name),
        min_value=low,
        max_value=high,
        required=required,
        help_text=help_text or _model_field(name).help_text,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


class ProgramForm(forms.Form):
    recipients = forms.ChoiceField(
        label=_label("recipients"), choices=_model_field("recipients").choices, widget=forms.RadioSelect
    )
    reward_valid_days = _days_field(
        "reward_valid_days", required=False, help_text="Coupons for the referrer expire after this many days."
    )
    max_rewards_per_referrer = _days_field("max_rewards_per_referrer")
    attribution_window_days = _days_field("attribution_window_days")
    combination_mode = forms.ChoiceField(
        label=_label("combination_mode"),
        choices=_model_field("combination_mode").choices,
        widget=forms.RadioSelect,
        help_text="When a booking has another discount too (a promotion, a coupon).",
    )
    reward_moment = forms.ChoiceField(
        label=_label("reward_moment"), choices=_model_field("reward_moment").choices, widget=forms.RadioSelect
    )
    booking_url = forms.CharField(
        label=_label("booking_url"),
        required=False,
        max_length=_model_field("booking_url").max_length,
        help_text=_model_field("booking_url").help_text,
        widget=forms.URLInput(attrs={"placeholder": "https://", "autocomplete": "url"}),
    )
    flag_auto_approve_days = _days_field("flag_auto_approve_days", required=False)
    burst_limit = _days_field(
        "burst_limit", help_text="More referrals than this from one referrer within 24 hours are held for review."
    )

    FIELDS = (
        "recipients",
        "reward_valid_days",
        "max_rewards_per_referrer",
        "attribution_window_days",
        "combination_mode",
        "reward_moment",
        "booking_url",
        "flag_auto_approve_days",
        "burst_limit",
    )

    def __init__(self, *args, program: ReferralProgram, **kwargs):
        kwargs.setdefault("initial", {name: getattr(program, name) for name in self.FIELDS})
        super().__init__(*args, **kwargs)
        self.program = program

    @property
    def rewards_referrer(self) -> bool:
        """For showing the validity field: the submitted choice when there is one, else the stored one."""
        recipients = self["recipients"].value()
        return recipients != Recipients.NEW_CLIENT_ONLY

    def clean(self):
        data = super().clean()
        if data.get("recipients") == Recipients.NEW_CLIENT_ONLY:
            # The validity is hidden (and not sent) when only the new client is rewarded: whatever came is ignored.
            self.errors.pop("reward_valid_days", None)
            data["reward_valid_days"] = None
        elif data.get("reward_valid_days") is None and "reward_valid_days" not in self.errors:
            self.add_error("reward_valid_days", "How many days may the referrer use their reward?")
        return data

    def program_data(self) -> ProgramData:
        data = self.cleaned_data
        return ProgramData(**{name: data[name] for name in self.FIELDS})


def _typed_value(kind_is_percent: bool, percent: Decimal | None, amount: int | None, currency: str, whole=False):
    if whole:
        return None if amount is None else Decimal(amount)
    if kind_is_percent:
        return None if percent is None else Decimal(percent).normalize()
    return None if amount is None else from_minor(amount, currency)


def _value_field(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        max_digits=VALUE_MAX_DIGITS,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


class ServicesField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Service) -> str:
        return obj.name

    def clean(self, value):
        # Refuse what cannot be an id before it reaches the database: SQLite raises on an integer beyond 64 bits.
        for item in value or ():
            text = str(item).strip()
            if not text.isdigit() or not 0 < int(text) < MAX_ID:
                raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().clean(value)


class RuleForm(forms.Form):
    name = forms.CharField(
        label="Name (optional)",
        required=False,
        max_length=ReferralRule._meta.get_field("name").max_length,
        help_text="For your own reference, e.g. “Massages”.",
    )
    services = ServicesField(
        queryset=Service.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choose at least one service this rule covers.",
            "invalid_choice": "Some of the chosen services no longer exist or are archived. Choose again.",
            "invalid_pk_value": "Choose services from the list.",
        },
    )
    referee_kind = forms.ChoiceField(
        label="The new client gets",
        choices=[
            (AmountKind.PERCENT, "A percentage off"),
            (AmountKind.FIXED, "An amount off"),
            (AmountKind.NONE, "No discount"),
        ],
        widget=forms.RadioSelect,
    )
    referee_value = _value_field("Discount")
    reward_kind = forms.ChoiceField(
        label="The referrer earns",
        choices=[
            (RewardKindChoice.COUPON_PERCENT, "A coupon for a percentage off"),
            (RewardKindChoice.COUPON_FIXED, "A coupon for an amount off"),
            (RewardKindChoice.STORE_CREDIT, "Store credit to spend on any visit"),
            (RewardKindChoice.POINTS, "Loyalty points"),
            (RewardKindChoice.SERVICE_CREDIT, "A service credit: free sessions of a service"),
            (RewardKindChoice.NONE, "No reward"),
        ],
        widget=forms.RadioSelect,
    )
    reward_value = _value_field("Reward value")
    reward_service = forms.ModelChoiceField(
        label="Service credit for",
        queryset=Service.objects.none(),
        required=False,
        empty_label="Choose a service",
        help_text="The referrer can book this service at no charge, once per session.",
        error_messages={"invalid_choice": "This service no longer exists or is archived. Choose again."},
    )
    speed_bonus = forms.BooleanField(
        label="Reward a quick booking",
        label_suffix="",
        required=False,
        help_text="The full reward when the friend books soon after clicking the link, a smaller one after.",
    )
    fast_days = forms.IntegerField(
        label="Full reward if the friend books within (days)",
        required=False,
        min_value=FAST_DAYS_LIMITS[0],
        max_value=FAST_DAYS_LIMITS[1],
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    slow_reward_value = _value_field("Reward after that")

    def __init__(self, *args, business, rule: ReferralRule | None = None, **kwargs):
        currency = business.currency
        if rule is not None and "initial" not in kwargs:
            reward_percent = rule.reward_kind == RewardKindChoice.COUPON_PERCENT
            whole = rule.reward_kind in WHOLE_NUMBER_KINDS
            kwargs["initial"] = {
                "name": rule.name,
                "services": [service.pk for service in rule.services.all()],
                "referee_kind": rule.referee_kind,
                "referee_value": _typed_value(
                    rule.referee_kind == AmountKind.PERCENT, rule.referee_percent, rule.referee_amount, currency
                )
                if rule.referee_kind != AmountKind.NONE
                else None,
                "reward_kind": rule.reward_kind,
                "reward_value": _typed_value(reward_percent, rule.reward_percent, rule.reward_amount, currency, whole)
                if rule.reward_kind != RewardKindChoice.NONE
                else None,
                "reward_service": rule.reward_service_id,
                "speed_bonus": rule.fast_days is not None,
                "fast_days": rule.fast_days,
                "slow_reward_value": _typed_value(
                    reward_percent, rule.slow_reward_percent, rule.slow_reward_amount, currency, whole
                ),
            }
        kwargs.setdefault("initial", {"referee_kind": AmountKind.PERCENT, "reward_kind": RewardKindChoice.COUPON_FIXED})
        super().__init__(*args, **kwargs)
        self.currency = currency
        active = Service.objects.filter(business=business, is_active=True).order_by("name")
        self.fields["services"].queryset = active
        self.fields["reward_service"].queryset = active
        digits = minor_unit_digits(currency)
        placeholder = "20" if digits == 0 else f"20.{'0' * digits}"
        for name in ("referee_value", "reward_value", "slow_reward_value"):
            self.fields[name].help_text = f"A percentage (15 means 15%), or an amount in {currency} ({placeholder})."
        self.fields[
            "reward_value"
        ].help_text += " For points, a whole number of points; for a service credit, sessions."

    def rule_data(self) -> RuleData:
        data = self.cleaned_data
        speed = data.get("speed_bonus") and data.get("reward_kind") != RewardKindChoice.NONE
        service = data.get("reward_service") if data.get("reward_kind") == RewardKindChoice.SERVICE_CREDIT else None
        return RuleData(
            name=data.get("name", ""),
            service_ids=tuple(service.pk for service in data["services"]),
            referee_kind=data["referee_kind"],
            referee_value=data.get("referee_value"),
            reward_kind=data["reward_kind"],
            reward_value=data.get("reward_value"),
            fast_days=data.get("fast_days") if speed else None,
            slow_reward_value=data.get("slow_reward_value") if speed else None,
            reward_service_id=service.pk if service is not None else None,
        )

    def clean(self):
        data = super().clean()
        # Values that do not apply to the chosen kind are hidden by the page and ignored here, even if sent.
        if data.get("referee_kind") == AmountKind.NONE:
            self.errors.pop("referee_value", None)
        if data.get("reward_kind") == RewardKindChoice.NONE or not data.get("speed_bonus"):
            self.errors.pop("fast_days", None)
            self.errors.pop("slow_reward_value", None)
            if data.get("reward_kind") == RewardKindChoice.NONE:
                self.errors.pop("reward_value", None)
        elif data.get("fast_days") is None and "fast_days" not in self.errors:
            self.add_error("fast_days", "Within how many days must the friend book for the full reward?")
        if data.get("reward_kind") != RewardKindChoice.SERVICE_CREDIT:
            self.errors.pop("reward_service", None)
        elif data.get("reward_service") is None and "reward_service" not in self.errors:
            self.add_error("reward_service", "Choose the service the credit gives a session of.")
        # Say every missing value at once; the rest of the checks are the service's.
        for kind_field, value_field, none in (
            ("referee_kind", "referee_value", AmountKind.NONE),
            ("reward_kind", "reward_value", RewardKindChoice.NONE),
        ):
            kind = data.get(kind_field)
            if kind and kind != none and data.get(value_field) is None and value_field not in self.errors:
                percent = kind in (AmountKind.PERCENT, RewardKindChoice.COUPON_PERCENT)
                if kind in WHOLE_NUMBER_KINDS:
                    words = (
                        "Enter the number of points."
                        if kind == RewardKindChoice.POINTS
                        else "Enter the number of sessions."
                    )
                else:
                    words = "Enter the percentage." if percent else f"Enter the amount in {self.currency}."
                self.add_error(value_field, words)
        return data
