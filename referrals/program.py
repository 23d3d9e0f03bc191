"""Use cases for the referral program's settings and its ordered rules (owner only). Each runs in one transaction
and is audited.

Lock order, everywhere: the program row first, then its rules in id order. Every write to the rules takes the
program row lock, so positions stay 0..n-1 without gaps and "switch on needs a rule" cannot race a deletion.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import transaction
from django.utils import timezone

from businesses.choices import minor_unit_digits
from businesses.models import Business, Service
from businesses.money import format_money, from_minor, to_minor
from businesses.services import audit_record

from . import clicks
from .models import WHOLE_NUMBER_KINDS, ReferralProgram, ReferralRule, RewardKindChoice, RewardMoment
from .rules import AmountKind, CombinationMode, Recipients

# The largest fixed amount a rule may give, in minor units: the same ceiling as a service's price.
MAX_AMOUNT_MINOR = 2_147_483_647
MAX_BURST_LIMIT = 1000
MAX_ID = 2**63
FAST_DAYS_LIMITS = (1, 365)
SUMMARY_SERVICE_NAMES = 4
# The most a rule may give of a whole-number reward: points, and sessions of a service credit.
MAX_POINTS = 1_000_000
MAX_SESSIONS = 100

RECIPIENT_VALUES = {choice for choice, _ in ReferralProgram._meta.get_field("recipients").choices}
COMBINATION_VALUES = {choice for choice, _ in ReferralProgram._meta.get_field("combination_mode").choices}
REFEREE_KIND_VALUES = {choice for choice, _ in ReferralRule._meta.get_field("referee_kind").choices}


def field_limits(field_name: str) -> tuple[int, int]:
    """(smallest, largest) value the program model allows for a whole-number setting."""
    low, high = 0, 2_147_483_647
    for validator in ReferralProgram._meta.get_field(field_name).validators:
        if isinstance(validator, MinValueValidator):
            low = max(low, validator.limit_value)
        elif isinstance(validator, MaxValueValidator):
            high = min(high, validator.limit_value)
    return low, high


PROGRAM_LIMITS: dict[str, tuple[int, int]] = {
    "reward_valid_days": field_limits("reward_valid_days"),
    "max_rewards_per_referrer": field_limits("max_rewards_per_referrer"),
    "attribution_window_days": field_limits("attribution_window_days"),
    "flag_auto_approve_days": field_limits("flag_auto_approve_days"),
    "burst_limit": (field_limits("burst_limit")[0], MAX_BURST_LIMIT),
}


@dataclass(frozen=True)
class ProgramData:
    """What the owner sets for the program. `reward_valid_days` may be None when the referrer is not rewarded:
    the stored value is kept for when they are again."""

    recipients: str = Recipients.BOTH
    reward_valid_days: int | None = 90
    max_rewards_per_referrer: int = 0
    attribution_window_days: int = 30
    combination_mode: str = CombinationMode.STACK
    reward_moment: str = RewardMoment.CONFIRMED
    booking_url: str = ""
    flag_auto_approve_days: int | None = None
    burst_limit: int = 5


@dataclass(frozen=True)
class RuleData:
    """A rule as the owner types it. Values are as typed: a percentage for a percent kind, an amount in the
    business's currency (e.g. Decimal("20.00")) for a fixed kind; they are converted to minor units here. For
    loyalty points the value is a whole number of points, for a service credit a whole number of sessions of
    `reward_service_id`."""

    service_ids: tuple[int, ...]
    referee_kind: str = AmountKind.PERCENT
    referee_value: Decimal | None = None
    reward_kind: str = RewardKindChoice.COUPON_PERCENT
    reward_value: Decimal | None = None
    # Optional speed bonus: the full reward when the friend books within `fast_days` of the click, the smaller
    # `slow_reward_value` (same unit as the reward) after.
    fast_days: int | None = None
    slow_reward_value: Decimal | None = None
    name: str = ""
    reward_service_id: int | None = None


# --- The program ---------------------------------------------------------------------------------------------------


@transaction.atomic
def program_get(*, business: Business) -> ReferralProgram:
    """The business's program, created with the defaults on first use. Safe when two requests create it at once:
    the one-per-business constraint makes the second insert fail inside a savepoint and it reads the first's row."""
    program, _ = ReferralProgram.objects.get_or_create(business=business)
    return program


def _lock_program(business: Business) -> ReferralProgram:
    program_get(business=business)
    return ReferralProgram.objects.select_for_update().get(business=business)


def _out_of_range(value: int | None, field: str) -> bool:
    low, high = PROGRAM_LIMITS[field]
    return value is None or not low <= value <= high


def _between(field: str, unit: str = "") -> str:
    low, high = PROGRAM_LIMITS[field]
    return f"Choose a number between {low} and {high}{unit}"


def _clean_program(data: ProgramData, stored: ReferralProgram) -> dict:
    errors: dict[str, str] = {}
    if data.recipients not in RECIPIENT_VALUES:
        errors["recipients"] = "Choose who receives a reward."
    valid_days = data.reward_valid_days
    if data.recipients == Recipients.NEW_CLIENT_ONLY and valid_days is None:
        # Not asked while only the new client is rewarded: keep what was set for when the referrer is again.
        valid_days = stored.reward_valid_days
    elif _out_of_range(valid_days, "reward_valid_days"):
        errors["reward_valid_days"] = _between("reward_valid_days", " days") + " for the referrer's reward."
    if _out_of_range(data.max_rewards_per_referrer, "max_rewards_per_referrer"):
        errors["max_rewards_per_referrer"] = _between("max_rewards_per_referrer") + "; 0 means unlimited."
    if _out_of_range(data.attribution_window_days, "attribution_window_days"):
        errors["attribution_window_days"] = _between("attribution_window_days", " days") + "."
    if data.combination_mode not in COMBINATION_VALUES:
        errors["combination_mode"] = "Choose how the referral discount combines with other discounts."
    if data.reward_moment not in RewardMoment.values:
        errors["reward_moment"] = "Choose when the referrer earns their reward."
    booking_url = (data.booking_url or "").strip()
    max_length = ReferralProgram._meta.get_field("booking_url").max_length
    if len(booking_url) > max_length:
        errors["booking_url"] = f"Keep the address under {max_length} characters."
    elif booking_url:
        try:
            URLValidator(schemes=["http", "https"])(booking_url)
        except ValidationError:
            errors["booking_url"] = "Enter the full address of your booking page, starting with https://."
    auto_days = data.flag_auto_approve_days
    if auto_days is not None and _out_of_range(auto_days, "flag_auto_approve_days"):
        errors["flag_auto_approve_days"] = (
            _between("flag_auto_approve_days", " days") + ", or leave it empty to review each one yourself."
        )
    if _out_of_range(data.burst_limit, "burst_limit"):
        errors["burst_limit"] = _between("burst_limit") + "."
    if errors:
        raise ValidationError(errors)
    return {
        "recipients": data.recipients,
        "reward_valid_days": valid_days,
        "max_rewards_per_referrer": data.max_rewards_per_referrer,
        "attribution_window_days": data.attribution_window_days,
        "combination_mode": data.combination_mode,
        "reward_moment": data.reward_moment,
        "booking_url": booking_url,
        "flag_auto_approve_days": auto_days,
        "burst_limit": data.burst_limit,
    }


@transaction.atomic
def program_update(*, business: Business, data: ProgramData, actor=None) -> ReferralProgram:
    """Change the program's settings. Locks the program row; invalid data changes nothing (ValidationError by
    field). Rules are not touched: who receives a reward is read when a referral is evaluated."""
    program = _lock_program(business)
    values = _clean_program(data, program)
    changed = sorted(name for name, value in values.items() if getattr(program, name) != value)
    if not changed:
        return program
    for name, value in values.items():
        setattr(program, name, value)
    program.updated_at = timezone.now()
    program.save(update_fields=[*changed, "updated_at"])
    audit_record(business=business, actor=actor, action="referral_program.updated", subject=program, fields=changed)
    if "booking_url" in changed:
        # Links redirect from a cached target: the new booking page applies from the next click.
        clicks.forget_business(business)
    return program


@transaction.atomic
def program_set_enabled(*, business: Business, enabled: bool, actor=None) -> ReferralProgram:
    """Switch the program on or off. Locks the program row (rule writes take it too, so the rule count cannot
    change underneath); switching on needs at least one rule; switching off keeps the rules. Idempotent."""
    program = _lock_program(business)
    if program.enabled == enabled:
        return program
    if enabled and not ReferralRule.objects.filter(business=business, program=program).exists():
        raise ValidationError(
            {
                "enabled": "Add at least one rule before switching the program on: a rule says which services "
                "earn a referral discount and what the referrer gets."
            }
        )
    program.enabled = enabled
    program.save(update_fields=["enabled"])
    action = "referral_program.enabled" if enabled else "referral_program.disabled"
    audit_record(business=business, actor=actor, action=action, subject=program)
    return program


# --- Rules ---------------------------------------------------------------------------------------------------------


def _decimal(value) -> Decimal | None:
    """What was typed, as a Decimal: None for nothing, NaN for text that is not a number."""
    if value is None or value == "":
        return None
    try:
        decimal = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal("NaN")
    return decimal


def _percent(value: Decimal | None, *, allow_zero: bool = False) -> tuple[Decimal | None, str | None]:
    value = _decimal(value)
    if value is None:
        return None, "Enter the percentage."
    if not value.is_finite():
        return None, "Enter a number, such as 15."
    if value < 0 or (value == 0 and not allow_zero) or value > 100:
        return None, "Enter a percentage from 0 to 100." if allow_zero else "Enter a percentage above 0, up to 100."
    if value != value.quantize(Decimal("0.01")):
        return None, "Use at most two decimal places, such as 12.5."
    return value.quantize(Decimal("0.01")), None


def _amount(value: Decimal | None, currency: str, *, allow_zero: bool = False) -> tuple[int | None, str | None]:
    value = _decimal(value)
    if value is None:
        return None, f"Enter the amount in {currency}."
    if not value.is_finite():
        return None, "Enter an amount, such as 20."
    if value < 0 or (value == 0 and not allow_zero):
        return None, "Enter an amount of 0 or more." if allow_zero else "Enter an amount more than 0."
    if value > from_minor(MAX_AMOUNT_MINOR, currency):
        return None, "This amount is too high."
    try:
        minor = to_minor(value, currency)
    except ValidationError:  # past the money module's own ceiling; ours is lower, so only if that changes
        return None, "This amount is too high."
    except (ValueError, InvalidOperation):
        digits = minor_unit_digits(currency)
        places = "no decimal places" if digits == 0 else f"at most {digits} decimal places"
        return None, f"Amounts in {currency} have {places}."
    return minor, None


def _whole(value, kind: str, *, allow_zero: bool = False) -> tuple[int | None, str | None]:
    """A typed whole number of points or sessions, with the owner-facing problem if any."""
    noun, most = ("points", MAX_POINTS) if kind == RewardKindChoice.POINTS else ("sessions", MAX_SESSIONS)
    value = _decimal(value)
    if value is None:
        return None, f"Enter the number of {noun}."
    if not value.is_finite() or value != value.to_integral_value():
        return None, f"Enter a whole number of {noun}, such as {100 if noun == 'points' else 1}."
    if value < 0 or (value == 0 and not allow_zero):
        return None, f"Enter 0 {noun} or more." if allow_zero else f"Enter at least 1 of the {noun}."
    if value > most:
        return None, f"Give at most {most:,} {noun}."
    return int(value), None


def _clean_reward_service(business: Business, service_id) -> tuple[Service | None, str | None]:
    if service_id in (None, ""):
        return None, "Choose the service the credit gives a session of."
    try:
        pk = int(service_id)
    except (TypeError, ValueError):
        return None, "Choose a service from the list."
    service = Service.objects.filter(business=business, is_active=True, pk=pk).first() if 0 < pk < MAX_ID else None
    if service is None:
        return None, "This service no longer exists or is archived. Choose again."
    return service, None


def _clean_services(business: Business, service_ids) -> tuple[list[Service], str | None]:
    try:
        wanted = {int(pk) for pk in service_ids}
    except (TypeError, ValueError):
        return [], "Choose services from the list."
    if not wanted:
        return [], "Choose at least one service this rule covers."
    if not all(0 < pk < MAX_ID for pk in wanted):
        # Out of the id range no row can have; some databases refuse such a number outright.
        return [], "Some of the chosen services no longer exist or are archived. Choose again."
    services = list(Service.objects.filter(business=business, is_active=True, pk__in=wanted).order_by("name"))
    if len(services) != len(wanted):
        return [], "Some of the chosen services no longer exist or are archived. Choose again."
    return services, None


def _value(kind_is_percent: bool, value, currency: str, *, allow_zero: bool = False, whole_kind: str = ""):
    """A typed percentage, a typed amount as minor units, or (for `whole_kind`) a whole number of points or
    sessions, with the owner-facing problem if any."""
    if whole_kind:
        return _whole(value, whole_kind, allow_zero=allow_zero)
    if kind_is_percent:
        return _percent(value, allow_zero=allow_zero)
    return _amount(value, currency, allow_zero=allow_zero)


def _clean_referee(data: RuleData, currency: str, errors: dict) -> dict:
    values = {"referee_kind": data.referee_kind, "referee_percent": Decimal(0), "referee_amount": 0}
    if data.referee_kind not in REFEREE_KIND_VALUES:
        errors["referee_kind"] = "Choose what the new client gets."
    elif data.referee_kind != AmountKind.NONE:
        is_percent = data.referee_kind == AmountKind.PERCENT
        value, problem = _value(is_percent, data.referee_value, currency)
        if problem:
            errors["referee_value"] = problem
        else:
            values["referee_percent" if is_percent else "referee_amount"] = value
    return values


def _clean_reward(data: RuleData, business: Business, errors: dict) -> dict:
    """The referrer's reward and the optional speed bonus (full reward within `fast_days`, a smaller one after)."""
    currency = business.currency
    values = {
        "reward_kind": data.reward_kind,
        "reward_percent": Decimal(0),
        "reward_amount": 0,
        "reward_service": None,
        "fast_days": None,
        "slow_reward_percent": None,
        "slow_reward_amount": None,
    }
    if data.reward_kind not in RewardKindChoice.values:
        errors["reward_kind"] = "Choose what the referrer earns."
        return values
    if data.reward_kind == RewardKindChoice.NONE:
        if data.fast_days is not None:
            errors["fast_days"] = "A speed bonus needs a reward for the referrer."
        return values
    if data.reward_kind == RewardKindChoice.SERVICE_CREDIT:
        service, problem = _clean_reward_service(business, data.reward_service_id)
        if problem:
            errors["reward_service"] = problem
        values["reward_service"] = service
    is_percent = data.reward_kind == RewardKindChoice.COUPON_PERCENT
    whole_kind = data.reward_kind if data.reward_kind in WHOLE_NUMBER_KINDS else ""
    full_field = "reward_percent" if is_percent else "reward_amount"
    full, problem = _value(is_percent, data.reward_value, currency, whole_kind=whole_kind)
    if problem:
        errors["reward_value"] = problem
    else:
        values[full_field] = full
    if data.fast_days is None:
        if data.slow_reward_value not in (None, ""):
            errors["fast_days"] = "Say within how many days the friend must book to earn the full reward."
        return values
    low, high = FAST_DAYS_LIMITS
    if not low <= data.fast_days <= high:
        errors["fast_days"] = f"Choose between {low} and {high} days."
    else:
        values["fast_days"] = data.fast_days
    slow, problem = _value(is_percent, data.slow_reward_value, currency, allow_zero=True, whole_kind=whole_kind)
    if problem:
        errors["slow_reward_value"] = problem
    elif full is not None and slow >= full:
        errors["slow_reward_value"] = "The later reward must be smaller than the full reward."
    else:
        values["slow_reward_percent" if is_percent else "slow_reward_amount"] = slow
    return values


def _clean_rule(business: Business, data: RuleData) -> tuple[dict, list[Service]]:
    """Check a rule and turn typed values into stored ones. Raises ValidationError keyed by RuleData field."""
    errors: dict[str, str] = {}
    name = " ".join((data.name or "").split())
    if len(name) > ReferralRule._meta.get_field("name").max_length:
        errors["name"] = "Keep the name under 100 characters."
    services, problem = _clean_services(business, data.service_ids)
    if problem:
        errors["services"] = problem
    values = {
        "name": name,
        **_clean_referee(data, business.currency, errors),
        **_clean_reward(data, business, errors),
    }
    if not errors and data.referee_kind == AmountKind.NONE and data.reward_kind == RewardKindChoice.NONE:
        errors[NON_FIELD_ERRORS] = "This rule gives nothing: choose a discount for the new client or a reward."
    if errors:
        raise ValidationError(errors)
    return values, services


def _lock_rules(business: Business, program: ReferralProgram) -> list[ReferralRule]:
    """The program's rules, locked in id order (the deadlock-free order), returned in their list order."""
    rules = list(ReferralRule.objects.select_for_update().filter(business=business, program=program).order_by("id"))
    return sorted(rules, key=lambda rule: (rule.position, rule.id))


def _renumber(rules: list[ReferralRule]) -> None:
    """Positions 0..n-1 in the given order; only the rows whose position changed are written."""
    for position, rule in enumerate(rules):
        if rule.position != position:
            rule.position = position
            rule.save(update_fields=["position"])


def _find(rule: ReferralRule, rules: list[ReferralRule]) -> ReferralRule:
    """The locked copy of `rule`; DoesNotExist if someone deleted it meanwhile."""
    for candidate in rules:
        if candidate.pk == rule.pk:
            return candidate
    raise ReferralRule.DoesNotExist("This rule was deleted meanwhile.")


@transaction.atomic
def rule_create(*, business: Business, data: RuleData, actor=None) -> ReferralRule:
    """Add a rule at the end of the list. Locks the program row, then its rules; invalid data changes nothing."""
    program = _lock_program(business)
    values, services = _clean_rule(business, data)
    rules = _lock_rules(business, program)
    _renumber(rules)
    rule = ReferralRule.objects.create(business=business, program=program, position=len(rules), **values)
    rule.services.set(services)
    audit_record(
        business=business,
        actor=actor,
        action="referral_rule.created",
        subject=rule,
        summary=rule_summary(rule, business.currency),
    )
    return rule


@transaction.atomic
def rule_update(*, business: Business, rule: ReferralRule, data: RuleData, actor=None) -> ReferralRule:
    """Change a rule; its position stays. Locks the program row, then its rules. Referrals already made keep
    the discount and reward they were given (snapshots), so an edit only affects new referrals."""
    program = _lock_program(business)
    values, services = _clean_rule(business, data)
    locked = _find(rule, _lock_rules(business, program))
    changed = sorted(name for name, value in values.items() if getattr(locked, name) != value)
    services_changed = {s.pk for s in services} != set(locked.services.values_list("pk", flat=True))
    if not changed and not services_changed:
        return locked
    for name, value in values.items():
        setattr(locked, name, value)
    if changed:
        locked.save(update_fields=changed)
    if services_changed:
        locked.services.set(services)
        changed.append("services")
    audit_record(
        business=business,
        actor=actor,
        action="referral_rule.updated",
        subject=locked,
        fields=changed,
        summary=rule_summary(locked, business.currency),
    )
    return locked


@dataclass(frozen=True)
class RuleDeleted:
    summary: str
    program_switched_off: bool  # True when it was the last rule of a running program


@transaction.atomic
def rule_delete(*, business: Business, rule: ReferralRule, actor=None) -> RuleDeleted:
    """Delete a rule and close the gap in positions. Locks the program row, then its rules. Deleting the last
    rule switches a running program off (and says so). Referrals keep their snapshots (the FK is SET_NULL)."""
    program = _lock_program(business)
    rules = _lock_rules(business, program)
    locked = _find(rule, rules)
    summary = rule_summary(locked, business.currency)
    rule_pk = locked.pk
    remaining = [r for r in rules if r.pk != rule_pk]
    locked.delete()
    _renumber(remaining)
    audit_record(
        business=business,
        actor=actor,
        action="referral_rule.deleted",
        subject=None,
        rule_id=rule_pk,
        summary=summary,
    )
    switched_off = False
    if not remaining and program.enabled:
        program.enabled = False
        program.save(update_fields=["enabled"])
        audit_record(
            business=business,
            actor=actor,
            action="referral_program.disabled",
            subject=program,
            reason="The last rule was deleted.",
        )
        switched_off = True
    return RuleDeleted(summary=summary, program_switched_off=switched_off)


MOVES = {"up": -1, "down": 1}


@transaction.atomic
def rule_move(*, business: Business, rule: ReferralRule, direction: str, actor=None) -> ReferralRule:
    """Swap a rule with its neighbour above ("up") or below ("down"). Locks the program row, then its rules in
    id order; positions stay 0..n-1. Moving the first rule up or the last down changes nothing."""
    if direction not in MOVES:
        raise ValidationError({"direction": "Move a rule up or down."})
    program = _lock_program(business)
    rules = _lock_rules(business, program)
    locked = _find(rule, rules)
    index = rules.index(locked)
    target = index + MOVES[direction]
    if not 0 <= target < len(rules):
        _renumber(rules)
        return locked
    rules[index], rules[target] = rules[target], rules[index]
    _renumber(rules)
    audit_record(
        business=business,
        actor=actor,
        action="referral_rule.moved",
        subject=locked,
        direction=direction,
        position=locked.position,
    )
    return locked


# --- Display -------------------------------------------------------------------------------------------------------


def format_percent(value: Decimal) -> str:
    return f"{format(Decimal(value).normalize(), 'f')}%"


def format_amount(amount: int, currency: str) -> str:
    """Money for a sentence: "$20" for a whole amount, "$20.50" otherwise."""
    if amount % (10 ** minor_unit_digits(currency)) == 0:
        return format_currency(
            from_minor(amount, currency), currency, format="¤#,##0", locale="en_US", currency_digits=False
        )
    return format_money(amount, currency)


def service_names(rule: ReferralRule) -> str:
    names = sorted((service.name for service in rule.services.all()), key=str.casefold)
    if not names:
        return "No services"
    if len(names) > SUMMARY_SERVICE_NAMES:
        shown = SUMMARY_SERVICE_NAMES - 1
        return f"{', '.join(names[:shown])} and {len(names) - shown} more"
    return ", ".join(names)


def referee_benefit(rule: ReferralRule, currency: str) -> str:
    if rule.referee_kind == AmountKind.PERCENT:
        return f"new client {format_percent(rule.referee_percent)} off"
    if rule.referee_kind == AmountKind.FIXED:
        return f"new client {format_amount(rule.referee_amount, currency)} off"
    return "no discount for the new client"


def _points(points: int) -> str:
    return f"{points:,} point{'s' if points != 1 else ''}"


def referrer_benefit(rule: ReferralRule, currency: str) -> str:
    if rule.reward_kind == RewardKindChoice.COUPON_PERCENT:
        full = format_percent(rule.reward_percent)
        slow = format_percent(rule.slow_reward_percent) if rule.slow_reward_percent is not None else None
        text = f"referrer gets a {full} off coupon"
    elif rule.reward_kind == RewardKindChoice.POINTS:
        full = _points(rule.reward_amount)
        slow = _points(rule.slow_reward_amount) if rule.slow_reward_amount is not None else None
        text = f"referrer gets {full}"
    elif rule.reward_kind == RewardKindChoice.SERVICE_CREDIT:
        service = rule.reward_service.name if rule.reward_service else "a deleted service"
        full = f"{rule.reward_amount} × {service}"
        slow_sessions = rule.slow_reward_amount
        slow = None if slow_sessions is None else (f"{slow_sessions} × {service}" if slow_sessions else "nothing")
        text = f"referrer gets a service credit of {full}"
    elif rule.reward_kind in (RewardKindChoice.COUPON_FIXED, RewardKindChoice.STORE_CREDIT):
        full = format_amount(rule.reward_amount, currency)
        slow = format_amount(rule.slow_reward_amount, currency) if rule.slow_reward_amount is not None else None
        coupon = rule.reward_kind == RewardKindChoice.COUPON_FIXED
        text = f"referrer gets a {full} coupon" if coupon else f"referrer gets {full} of store credit"
    else:
        return "no reward for the referrer"
    if rule.fast_days is not None and slow is not None:
        days = f"{rule.fast_days} day{'s' if rule.fast_days != 1 else ''}"
        later = "nothing" if slow in ("0%", format_amount(0, currency), "0 points") else slow
        text += f" if the friend books within {days}, {later} after"
    return text


def rule_summary(rule: ReferralRule, currency: str) -> str:
    """One line for the owner: "Deep tissue, Swedish: new client 15% off · referrer gets a $20 coupon"."""
    return f"{service_names(rule)}: {referee_benefit(rule, currency)} · {referrer_benefit(rule, currency)}"
