"""The small shared helpers: ids and days from request parameters, spreadsheet-safe cells, service errors on forms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import ValidationError

from businesses.forms import add_errors
from clients.params import EARLIEST_DAY, LATEST_DAY, MAX_ID, clamp_day, day_in_range, parse_id
from clients.spreadsheet import safe_cell


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("1", 1),
        ("42", 42),
        (" 42 ", 42),
        ("007", 7),
        (str(MAX_ID), MAX_ID),
        (7, 7),
        # str.isdigit() says yes to these, int() says no (or reads them as another number).
        ("²", None),
        ("①", None),
        ("١٢", None),
        ("１２", None),
        ("1²", None),
        # Not a positive bigint.
        ("0", None),
        ("-1", None),
        ("+1", None),
        ("1_000", None),
        ("1.0", None),
        ("1e3", None),
        (str(MAX_ID + 1), None),
        ("9" * 19, None),
        ("9" * 400, None),
        ("", None),
        (None, None),
        (True, None),
        (0, None),
        (-5, None),
        (2**63, None),
        (1.0, None),
        ([], None),
    ],
)
def test_parse_id_accepts_only_plain_ascii_positive_bigints(raw, expected):
    assert parse_id(raw) == expected


@pytest.mark.parametrize(
    "day,expected",
    [
        (date(1, 1, 1), EARLIEST_DAY),
        (date(9999, 12, 31), LATEST_DAY),
        (date(2030, 5, 6), date(2030, 5, 6)),
        (EARLIEST_DAY, EARLIEST_DAY),
        (LATEST_DAY, LATEST_DAY),
    ],
)
def test_clamp_day_keeps_days_inside_the_dashboard_range(day, expected):
    assert clamp_day(day) == expected
    assert day_in_range(expected)


def test_days_at_the_ends_of_datetime_are_out_of_range():
    assert not day_in_range(date.min) and not day_in_range(date.max)


@pytest.mark.parametrize(
    "value,expected",
    [
        ("=1+2", "'=1+2"),
        ('=HYPERLINK("https://evil.example")', '\'=HYPERLINK("https://evil.example")'),
        ("+447911123456", "'+447911123456"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Ann", "Ann"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (-5, -5),
        (12, 12),
        (Decimal("-1.50"), Decimal("-1.50")),
        (True, True),
        ({"a": 1}, "{'a': 1}"),
    ],
)
def test_safe_cell_defuses_formulas_and_leaves_numbers_alone(value, expected):
    assert safe_cell(value) == expected


class _Form(forms.Form):
    email = forms.CharField(required=False)


def test_add_errors_puts_field_errors_on_their_fields_and_the_rest_on_the_form():
    form = _Form({"email": "x"})
    assert form.is_valid()
    add_errors(form, ValidationError({"email": "Taken.", "starts_at": "Too late."}))
    assert form.errors["email"] == ["Taken."]
    assert form.non_field_errors() == ["Too late."]

    form = _Form({"email": "x"})
    form.is_valid()
    add_errors(form, ValidationError("Something else."))
    assert form.non_field_errors() == ["Something else."]
