"""Property: any sequence of ledger operations keeps the cached balance equal to the ledger and never below 0."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewards import ledger
from rewards.models import StoreCreditEntry, WalletBalance

from .conftest import make_booking, make_client

pytestmark = pytest.mark.django_db

amounts = st.integers(min_value=1, max_value=50_00)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("grant"), amounts, st.one_of(st.none(), st.integers(min_value=1, max_value=30))),
        st.tuples(st.just("apply"), amounts),
        st.tuples(st.just("adjust"), st.integers(min_value=-50_00, max_value=50_00).filter(bool)),
        st.tuples(st.just("expire"), st.integers(min_value=0, max_value=40)),
        st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=30)),
    ),
    max_size=14,
)


def state(business, client):
    wallet = WalletBalance.objects.filter(business=business, client=client).first()
    entries = StoreCreditEntry.objects.filter(business=business, client=client)
    return (
        wallet.store_credit if wallet else 0,
        entries.aggregate(s=Sum("amount"))["s"] or 0,
        entries.filter(amount__gt=0).aggregate(s=Sum("remaining"))["s"] or 0,
        entries.count(),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_any_sequence_keeps_the_balance_equal_to_the_ledger_and_never_negative(in_scope, ops):
    business = in_scope
    client = make_client(business)
    booking = make_booking(business, client=client)
    now = timezone.now()
    for op in ops:
        before = state(business, client)
        try:
            if op[0] == "grant":
                ledger.store_credit_grant(
                    business=business,
                    client=client,
                    amount=op[1],
                    reason="p",
                    expires_at=now + timedelta(days=op[2]) if op[2] else None,
                )
            elif op[0] == "apply":
                ledger.store_credit_apply(business=business, client=client, amount=op[1], booking=booking)
            elif op[0] == "adjust":
                ledger.store_credit_adjust(business=business, client=client, amount=op[1], reason="p")
            elif op[0] == "expire":
                ledger.store_credit_expire_due(business=business, now=now + timedelta(days=op[1]))
            else:
                entries = list(StoreCreditEntry.objects.filter(business=business, client=client).order_by("pk"))
                if entries:
                    ledger.store_credit_reverse(business=business, entry=entries[op[1] % len(entries)])
        except ValidationError:
            assert state(business, client) == before, f"a refused {op} changed the ledger"
        cached, total, left, _ = state(business, client)
        assert cached == total == left >= 0
