"""The "who referred you?" search a new client uses: first name and last initial, never more."""

from __future__ import annotations

import pytest

from referrals.selectors import referrer_candidates

from .conftest import make_client

pytestmark = pytest.mark.django_db


def test_a_new_client_finds_their_referrer_by_first_name_and_initial(in_scope, other_business):
    anna_berg = make_client(in_scope, "Anna", "Berg", email="a.berg@outlook.com")
    anna_smith = make_client(in_scope, "Anna", "Smith", email="a.smith@outlook.com")
    make_client(in_scope, "Annabel", "Brown", email="annabel@outlook.com")
    make_client(other_business, "Anna", "Bauer", email="other@outlook.com")

    found = referrer_candidates(business=in_scope, first_name=" anna ")
    assert {(c.id, c.display) for c in found} == {(anna_berg.pk, "Anna B."), (anna_smith.pk, "Anna S.")}
    assert [c.display for c in referrer_candidates(business=in_scope, first_name="ANNA", last_initial="b")] == [
        "Anna B."
    ]


@pytest.mark.parametrize("typed", ["", "A", "  ", "Nobody"])
def test_too_little_or_no_match_finds_nobody(in_scope, typed):
    make_client(in_scope, "Anna", "Berg")
    assert referrer_candidates(business=in_scope, first_name=typed) == []


def test_at_most_five_and_never_a_full_last_name(in_scope):
    for i in range(8):
        make_client(in_scope, "Sam", f"Surname{i}")
    found = referrer_candidates(business=in_scope, first_name="sam")
    assert len(found) == 5
    assert all(c.display == "Sam S." for c in found)
