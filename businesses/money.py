"""Money is an integer count of minor units (cents) in the business's currency; never a float.

Splits use the largest-remainder method so the parts always add up to the whole; percentages are Decimals,
rounded once, half-up, where they become an amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency

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


def to_minor(value: Decimal | str, currency: str) -> int:
    """Parse a decimal amount typed by a person ("49.90") into minor units; refuses sub-unit precision."""
    quantum = Decimal(1).scaleb(-minor_unit_digits(currency))
    decimal = Decimal(str(value))
    if decimal != decimal.quantize(quantum):
        raise ValueError(f"{currency} amounts have at most {minor_unit_digits(currency)} decimal places")
    return int(decimal.scaleb(minor_unit_digits(currency)))


def from_minor(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-minor_unit_digits(currency))


def format_money(amount: int, currency: str, locale: str = "en_US") -> str:
    return format_currency(from_minor(amount, currency), currency, locale=locale)
