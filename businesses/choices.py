"""Time zones, currencies and their defaults, from the standard library, Babel and django-countries."""

from __future__ import annotations

import zoneinfo
from functools import cache

from babel import Locale
from babel.numbers import get_currency_precision, get_territory_currencies
from django_countries import countries


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    names = sorted(name for name in zoneinfo.available_timezones() if "/" in name or name == "UTC")
    return [(name, name.replace("_", " ")) for name in names]


@cache
def currency_choices() -> list[tuple[str, str]]:
    """Currencies legal tender somewhere today, named in English: [("EUR", "EUR — Euro"), ...]."""
    names = Locale("en").currencies
    codes = {code for country in countries for code in get_territory_currencies(country.code)}
    return [(code, f"{code} — {names.get(code, code)}") for code in sorted(codes)]


def default_currency_for(country_code: str) -> str:
    found = get_territory_currencies(country_code) if country_code else []
    return found[0] if found else "USD"


def minor_unit_digits(currency: str) -> int:
    """Digits after the decimal point: 2 for EUR, 0 for JPY, 3 for KWD. Money is stored in these minor units."""
    return get_currency_precision(currency)
