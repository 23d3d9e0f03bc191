"""`{{ amount|money:business.currency }}`: an amount in minor units, formatted in its currency."""

from __future__ import annotations

from django import template

from businesses.money import format_money

register = template.Library()


@register.filter
def money(amount, currency: str) -> str:
    """`amount` (integer minor units) as the currency shows it, e.g. 4990 in GBP is "£49.90".

    An empty value shows as nothing and a value that is not a number as it is: a filter must not break the page.
    """
    if amount is None or amount == "":
        return ""
    try:
        minor = int(amount)
    except (TypeError, ValueError):
        return str(amount)
    return format_money(minor, str(currency or ""))
