from __future__ import annotations

import pytest

from referrals.fraud import Party, flag_signals, is_disposable, similar_emails
from referrals.models import FlagSignal


@pytest.mark.parametrize(
    ("a", "b", "similar"),
    [
        ("robsmith@gmail.com", "robsmith2@gmail.com", True),
        ("robsmith@gmail.com", "robsmiht@gmail.com", True),  # a transposition
        ("robsmith@gmail.com", "robsmith@outlook.com", True),  # same name, another provider
        ("rob.smith@work.example", "robsmith_1@home.example", True),
        ("robsmith@gmail.com", "robsmith@gmail.com", False),  # identical is refused elsewhere, not flagged
        ("anna@gmail.com", "hans@gmail.com", False),
        ("jo@x.com", "jo1@x.com", False),  # too short to mean anything
        ("margaret@studio.example", "annabelle@studio.example", False),
        ("", "robsmith@gmail.com", False),
    ],
)
def test_similar_emails(a, b, similar):
    assert similar_emails(a, b) is similar


@pytest.mark.parametrize(
    ("email", "disposable"),
    [("x@mailinator.com", True), ("x@mx.yopmail.com", True), ("x@gmail.com", False), ("x@com", False)],
)
def test_disposable_domains(email, disposable):
    assert is_disposable(email) is disposable


def signals(referrer=None, referee=None, last_day=1, limit=5, named=False):
    referrer = referrer or Party("anna@gmail.com", "+447700900001", frozenset({"net-a"}), frozenset({"dev-a"}))
    referee = referee or Party("bob@outlook.com", "+447700900002")
    found = flag_signals(
        referrer=referrer, referee=referee, referrals_last_day=last_day, burst_limit=limit, named_by_client=named
    )
    return [signal for signal, _ in found]


def test_an_ordinary_pair_raises_nothing():
    assert signals() == []


def test_each_signal_names_itself():
    assert signals(named=True) == [FlagSignal.NAMED]
    assert signals(referee=Party("x@mailinator.com", "")) == [FlagSignal.DISPOSABLE_EMAIL]
    assert signals(referee=Party("anna2@gmail.com", "")) == [FlagSignal.SIMILAR_EMAIL]
    assert signals(referee=Party("b@x.com", "", frozenset({"net-a"}), frozenset({"dev-a"}))) == [FlagSignal.SAME_DEVICE]
    assert signals(referee=Party("b@x.com", "", frozenset({"net-a"}), frozenset({"dev-b"}))) == [
        FlagSignal.SAME_NETWORK
    ]
    assert signals(last_day=6, limit=5) == [FlagSignal.BURST]
    assert signals(last_day=5, limit=5) == []
