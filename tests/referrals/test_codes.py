"""Personal referral codes: typed forms, uniqueness (also under concurrency on PostgreSQL), regenerate and retire."""

from __future__ import annotations

import itertools
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_scopes import scope

from referrals import codes
from referrals.codes import code_for_client, code_regenerate, code_resolve, code_retire, link_for, normalise
from referrals.models import ReferralCode

from ..threads import run_at_once
from .conftest import landing, make_client
from .test_clicks import click_counters  # noqa: F401 (a fixture, used below)

pytestmark = pytest.mark.usefixtures("click_counters")


@pytest.mark.parametrize(
    "typed,stored",
    [
        ("abcd2345", "ABCD2345"),
        (" AbCd-2345 ", "ABCD2345"),
        ("abcd 2345", "ABCD2345"),
        ("abcd_2345.", "ABCD2345"),
        ("ÄBCD2345", "BCD2345"),
        ("", ""),
        (None, ""),
        ("x" * 100, "X" * 32),
    ],
)
def test_normalise_gives_the_stored_form(typed, stored):
    assert normalise(typed) == stored


def test_new_codes_are_short_typeable_and_varied():
    made = {codes.new_code() for _ in range(500)}
    assert len(made) == 500
    for code in made:
        assert len(code) == codes.CODE_LENGTH
        assert set(code) <= set(codes.ALPHABET)
    assert not set("0O1IL") & set(codes.ALPHABET), "no look-alike characters"


def test_a_client_gets_one_code_that_resolves_however_it_is_typed(in_scope, anna):
    code = code_for_client(business=in_scope, client=anna)
    assert code_for_client(business=in_scope, client=anna) == code
    assert code.code == code.code.upper()
    typed = f" {code.code[:4].lower()}-{code.code[4:]} "
    assert code_resolve(business=in_scope, raw=typed) == code
    assert code_resolve(business=in_scope, raw="") is None
    assert link_for(code).endswith(f"/r/{code.code}")


def test_a_code_resolves_only_in_its_own_business(in_scope, anna, other_business):
    code = code_for_client(business=in_scope, client=anna)
    with scope(business=other_business):
        assert code_resolve(business=other_business, raw=code.code) is None


def test_codes_are_unique_across_businesses(in_scope, anna, other_business, monkeypatch):
    first = code_for_client(business=in_scope, client=anna)
    drawn = iter([first.code, first.code, "QQQQ2222"])
    monkeypatch.setattr(codes, "new_code", lambda: next(drawn))
    with scope(business=other_business):
        other = code_for_client(business=other_business, client=make_client(other_business, first_name="Ola"))
    assert other.code == "QQQQ2222"


def test_regenerating_keeps_the_old_code_working_until_it_is_retired(
    client, in_scope, anna, django_capture_on_commit_callbacks
):
    old = code_for_client(business=in_scope, client=anna)
    new = code_regenerate(business=in_scope, client=anna)
    old.refresh_from_db()
    assert new.code != old.code and new.is_current and not old.is_current
    assert code_for_client(business=in_scope, client=anna) == new
    assert code_resolve(business=in_scope, raw=old.code) == old
    assert landing(client.get(f"/r/{old.code}")).endswith(f"?ref={old.code}")

    with django_capture_on_commit_callbacks(execute=True):
        old = code_retire(business=in_scope, code=old)
    assert old.retired_at is not None
    assert code_resolve(business=in_scope, raw=old.code) is None
    # The cached link target is dropped at once: the old link no longer carries the referral.
    assert "ref=" not in landing(client.get(f"/r/{old.code}"))
    assert code_resolve(business=in_scope, raw=new.code) == new


def test_the_current_code_cannot_be_retired(in_scope, anna):
    code = code_for_client(business=in_scope, client=anna)
    with pytest.raises(ValidationError):
        code_retire(business=in_scope, code=code)
    code.refresh_from_db()
    assert code.retired_at is None


def test_an_erased_clients_code_does_not_resolve(in_scope, owner, anna):
    from clients.privacy import client_erase

    code = code_for_client(business=in_scope, client=anna)
    client_erase(business=in_scope, client=anna, actor=owner)
    assert code_resolve(business=in_scope, raw=code.code) is None


# --------------------------------------------------------------------------------------------- PostgreSQL races


THREADS = 10


@pytest.fixture
def needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("Concurrent inserts need PostgreSQL; CI runs this on PostgreSQL.")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_client_asked_for_a_code_ten_times_at_once_gets_one(needs_postgres, business):
    with scope(business=business):
        anna = make_client(business, first_name="Anna")
    results = []

    def ask(_):
        with scope(business=business):
            results.append(code_for_client(business=business, client=anna).code)

    assert run_at_once(ask, threads=THREADS)[1] == []
    assert len(set(results)) == 1
    with scope(business=business):
        assert ReferralCode.objects.filter(business=business, client=anna).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_colliding_codes_drawn_at_once_still_give_every_client_their_own(
    needs_postgres, business, other_business, monkeypatch
):
    """Every thread first draws the same code: one wins it, the others retry and get codes of their own."""
    seen: set[int] = set()
    fresh = (f"FRESH{n:03d}" for n in itertools.count())
    lock = threading.Lock()

    def draw():
        with lock:
            me = threading.get_ident()
            if me not in seen:
                seen.add(me)
                return "SAME2345"
            return next(fresh)

    monkeypatch.setattr(codes, "new_code", draw)
    owners = [business if i % 2 else other_business for i in range(THREADS)]
    clients = []
    for i, owner in enumerate(owners):
        with scope(business=owner):
            clients.append(make_client(owner, first_name=f"Client{i}"))

    def create(index):
        with scope(business=owners[index]):
            code_for_client(business=owners[index], client=clients[index])

    assert run_at_once(create, threads=THREADS)[1] == []
    made = []
    for owner in (business, other_business):
        with scope(business=owner):
            made += list(ReferralCode.objects.filter(business=owner).values_list("code", flat=True))
    assert len(made) == THREADS
    assert len(set(made)) == THREADS
    assert made.count("SAME2345") == 1
