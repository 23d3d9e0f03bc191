"""Signals that make a referral suspicious but not impossible: pure functions over plain facts.

A flagged referral still gives the new client their discount; the referrer's reward waits for the owner's review.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import FlagSignal

# Throwaway-inbox providers seen in referral abuse; a short list of the common ones, matched on the domain and
# its parents (mx.mailinator.com counts as mailinator.com).
DISPOSABLE_DOMAINS = frozenset(
    {
        "10minutemail.com",
        "burnermail.io",
        "discard.email",
        "dispostable.com",
        "emailondeck.com",
        "fakeinbox.com",
        "getnada.com",
        "guerrillamail.com",
        "guerrillamail.net",
        "maildrop.cc",
        "mailinator.com",
        "mailnesia.com",
        "mintemail.com",
        "mohmal.com",
        "sharklasers.com",
        "temp-mail.org",
        "tempmail.com",
        "tempmailo.com",
        "throwawaymail.com",
        "trashmail.com",
        "yopmail.com",
    }
)


@dataclass(frozen=True)
class Party:
    email_canonical: str
    phone: str
    network_hashes: frozenset[str] = frozenset()
    device_hashes: frozenset[str] = frozenset()


def is_disposable(email_canonical: str) -> bool:
    domain = email_canonical.rpartition("@")[2]
    parts = domain.split(".")
    return any(".".join(parts[i:]) in DISPOSABLE_DOMAINS for i in range(len(parts) - 1))


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up (returning limit + 1) once it must exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def similar_emails(a: str, b: str) -> bool:
    """Different addresses that look like one person's: robsmith@x / robsmith2@x, rob.smith@x / robsmiht@y."""
    if not a or not b or a == b:
        return False
    local_a, _, domain_a = a.partition("@")
    local_b, _, domain_b = b.partition("@")
    if len(local_a) < 4 or len(local_b) < 4:
        return False
    if local_a == local_b:
        return True
    strip = str.maketrans("", "", "0123456789._-")
    if local_a.translate(strip) and local_a.translate(strip) == local_b.translate(strip):
        return True
    return domain_a == domain_b and _edit_distance(local_a, local_b, 2) <= 2


def flag_signals(
    *, referrer: Party, referee: Party, referrals_last_day: int, burst_limit: int, named_by_client: bool
) -> list[tuple[str, str]]:
    """Every signal this pair raises, as (signal, detail) in the order staff should read them."""
    signals: list[tuple[str, str]] = []
    if named_by_client:
        signals.append((FlagSignal.NAMED, "The new client typed this referrer's name; no link or code was used."))
    if similar_emails(referrer.email_canonical, referee.email_canonical):
        signals.append((FlagSignal.SIMILAR_EMAIL, f"{referee.email_canonical} resembles {referrer.email_canonical}"))
    if referee.email_canonical and is_disposable(referee.email_canonical):
        domain = referee.email_canonical.rpartition("@")[2]
        signals.append((FlagSignal.DISPOSABLE_EMAIL, f"{domain} hands out throwaway inboxes"))
    if referee.device_hashes & referrer.device_hashes:
        signals.append((FlagSignal.SAME_DEVICE, "Booked from a device the referrer has used"))
    elif referee.network_hashes & referrer.network_hashes:
        signals.append((FlagSignal.SAME_NETWORK, "Booked from a network the referrer has used"))
    if referrals_last_day > burst_limit:
        signals.append((FlagSignal.BURST, f"{referrals_last_day} referrals from this referrer in the last 24 hours"))
    return signals
