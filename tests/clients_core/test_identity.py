from __future__ import annotations

import pytest

from clients.identity import InvalidPhone, canonical_email, display_phone, normalize_phone


@pytest.mark.parametrize(
    "typed,canonical",
    [
        ("Rob.Smith+x@gmail.com", "robsmith@gmail.com"),
        ("robsmith@gmail.com", "robsmith@gmail.com"),
        ("R.O.B.S.M.I.T.H@googlemail.com", "robsmith@gmail.com"),
        ("rob.smith+spa@outlook.com", "rob.smith@outlook.com"),
        ("Rob.Smith@Smith.dev", "rob.smith@smith.dev"),
        ("rob.smith+x@smith.dev", "rob.smith+x@smith.dev"),
        ("  Anna@Example.COM ", "anna@example.com"),
        ("", ""),
        ("not-an-address", "not-an-address"),
    ],
)
def test_canonical_email(typed, canonical):
    assert canonical_email(typed) == canonical


def test_custom_domains_keep_their_dots():
    assert canonical_email("rob.smith@smith.dev") != canonical_email("robsmith@smith.dev")


@pytest.mark.parametrize(
    "typed,region,e164",
    [
        ("(212) 555-0101", "US", "+12125550101"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("030 123456", "DE", "+4930123456"),
        ("", "US", ""),
    ],
)
def test_phone_numbers_are_stored_in_e164(typed, region, e164):
    assert normalize_phone(typed, region) == e164


@pytest.mark.parametrize("typed", ["12", "call me", "+1 000 000 0000"])
def test_invalid_phone_numbers_are_refused(typed):
    with pytest.raises(InvalidPhone):
        normalize_phone(typed, "US")


def test_display_phone_is_international():
    assert display_phone("+12125550101") == "+1 212-555-0101"
