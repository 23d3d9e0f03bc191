"""Money is an integer count of minor units (cents) in the business's currency; never a float.

Splits use the largest-remainder method so the parts always add up to the whole; percentages are Decimals,
rounded once, half-up, where they become an amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency
from django.core.exceptions import ValidationError

from .choices import minor_unit_digits


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` in proportion to `weights`; parts sum to `total` exactly (largest remainder).

    Ties in the remainder go to the earlier parts, so an even split puts the extra cents first.
    """
    if not weights:
        raise ValueError("allocate() needs at least one weight")
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        weights, weight_sum = [1] * len(weights), len(weights)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    floors = [magnitude * w // weight_sum for w in weights]
    remainders = [magnitude * w % weight_sum for w in weights]
    short = magnitude - sum(floors)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:short]:
        floors[index] += 1
    return [sign * part for part in floors]


def split_evenly(total: int, parts: int) -> list[int]:
    """`parts` amounts that sum to `total` and differ by at most one minor unit."""
    if parts < 1:
        raise ValueError("parts must be at least 1")
    return allocate(total, [1] * parts)


def percent_of(amount: int, percent: Decimal) -> int:
    """`percent` % of `amount`, rounded half-up to a whole minor unit."""
    return int((Decimal(amount) * Decimal(percent) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class AmountTooLarge(ValidationError):
    """An amount past MAX_MINOR. A ValidationError, not a ValueError: a form's `clean_<field>` that turns
    ValueError into "too many decimal places" lets it through to the field as its own, clearer message."""


# The largest amount `to_minor` accepts, in minor units: far past any price, and still summable in a bigint
# column. Callers cap their own fields lower (the catalog caps prices).
MAX_MINOR = 10**15


def _too_large(currency: str) -> AmountTooLarge:
    return AmountTooLarge(
        f"This amount is too large: {currency} amounts are at most {from_minor(MAX_MINOR, currency):,}.",
        code="too_large",
    )


def to_minor(value: Decimal | str, currency: str) -> int:
    """Parse a decimal amount typed by a person ("49.90") into minor units; refuses sub-unit precision.

    Raises ValueError for text that is not a finite number or has too many decimals, and AmountTooLarge for
    amounts past MAX_MINOR: "1e30" would otherwise make Decimal.quantize raise InvalidOperation (a 500).
    """
    digits = minor_unit_digits(currency)
    try:
        decimal = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"“{value}” is not an amount") from exc
    if not decimal.is_finite():
        raise ValueError(f"“{value}” is not an amount")
    if abs(decimal) > Decimal(MAX_MINOR).scaleb(-digits):
        raise _too_large(currency)
    quantum = Decimal(1).scaleb(-digits)
    try:
        exact = decimal == decimal.quantize(quantum)
    except InvalidOperation as exc:  # more digits than the context's precision: not a sum of money anyway
        raise _too_large(currency) from exc
    if not exact:
        raise ValueError(f"{currency} amounts have at most {digits} decimal places")
    return int(decimal.scaleb(digits))


def from_minor(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-minor_unit_digits(currency))


def format_money(amount: int, currency: str, locale: str = "en_US") -> str:
    return format_currency(from_minor(amount, currency), currency, locale=locale)
