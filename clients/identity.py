"""How clients are matched: canonical e-mail addresses and phone numbers in E.164. Pure functions."""

from __future__ import annotations

import phonenumbers

# Mailbox providers that deliver "name+tag@" to "name@": the tag does not make another person.
PLUS_TAG_PROVIDERS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "fastmail.com",
        "fastmail.fm",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "yandex.com",
        "yandex.ru",
        "zoho.com",
    }
)
# Gmail ignores dots in the local part; other domains (custom ones above all) may not.
DOT_BLIND_PROVIDERS = frozenset({"gmail.com", "googlemail.com"})


def canonical_email(email: str) -> str:
    """The form used to decide whether two addresses are the same person.

    Lower case; `+tag` dropped where the provider ignores it; dots dropped only for gmail.com/googlemail.com.
    "Rob.Smith+x@Gmail.com" and "robsmith@gmail.com" are one person; "rob.smith@smith.dev" keeps its dot.
    """
    email = (email or "").strip().lower()
    if "@" not in email:
        return email
    local, _, domain = email.rpartition("@")
    if domain in PLUS_TAG_PROVIDERS:
        local = local.split("+", 1)[0]
    if domain in DOT_BLIND_PROVIDERS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: str, default_region: str) -> str:
    """E.164 ("+15551234567") from what a person typed; a national number is read in `default_region`."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, default_region or None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("This doesn't look like a phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("This phone number is not valid. Include the country code, e.g. +1 555 010 1234.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    if not e164:
        return ""
    number = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
