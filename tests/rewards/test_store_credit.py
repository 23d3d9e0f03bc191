"""Store credit: grants, applies oldest expiry first, expiry of the unused part, reversals, refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone
from django_scopes import scope

from businesses.models import DomainEvent
from rewards.ledger import (
    store_credit_adjust,
    store_credit_apply,
    store_credit_balance,
    store_credit_expire_due,
    store_credit_grant,
    store_credit_reverse,
)
from rewards.models import StoreCreditEntry, StoreCreditKind, WalletBalance

from .conftest import make_booking, make_client

pytestmark = pytest.mark.django_db


def ledger_sum(business, client) -> int:
    return StoreCreditEntry.objects.filter(business=business, client=client).aggregate(s=Sum("amount"))["s"] or 0


def lots_left(business, client) -> int:
    return (
        StoreCreditEntry.objects.filter(business=business, client=client, amount__gt=0).aggregate(s=Sum("remaining"))[
            "s"
        ]
        or 0
    )


def grant(business, client, amount, days=None, **kw):
    expires = timezone.now() + timedelta(days=days) if days is not None else None
    return store_credit_grant(
        business=business, client=client, amount=amount, reason="Thanks", expires_at=expires, **kw
    )


def test_grant_and_apply_move_the_cached_balance_with_the_ledger(in_scope, ada, booking, owner):
    grant(in_scope, ada, 30_00)
    entry = store_credit_apply(business=in_scope, client=ada, amount=12_50, booking=booking, actor=owner)
    assert entry.amount == -12_50 and entry.kind == StoreCreditKind.APPLY and entry.currency == "GBP"
    assert entry.created_by == owner and entry.booking == booking
    assert store_credit_balance(business=in_scope, client=ada) == 17_50 == ledger_sum(in_scope, ada)
    events = DomainEvent.objects.filter(business=in_scope, kind="store_credit.changed").order_by("pk")
    assert [e.payload["balance"] for e in events] == [30_00, 17_50]


def test_applying_more_than_the_balance_is_refused_and_changes_nothing(in_scope, ada, booking):
    grant(in_scope, ada, 10_00)
    with pytest.raises(ValidationError) as refused:
        store_credit_apply(business=in_scope, client=ada, amount=10_01, booking=booking)
    assert "only £10.00 of store credit" in str(refused.value.message_dict["amount"])
    assert store_credit_balance(business=in_scope, client=ada) == 10_00
    assert StoreCreditEntry.objects.filter(business=in_scope).count() == 1


@pytest.mark.parametrize("amount", [0, -5, 1.5, "10", True])
def test_bad_amounts_are_field_errors(in_scope, ada, amount):
    with pytest.raises(ValidationError) as refused:
        store_credit_grant(business=in_scope, client=ada, amount=amount, reason="x")
    assert "amount" in refused.value.message_dict


def test_a_client_or_booking_of_someone_else_is_refused(in_scope, ada, booking, other_business):
    grant(in_scope, ada, 10_00)
    bob = make_client(in_scope, first_name="Bob", email="bob@example.com")
    with pytest.raises(ValidationError):
        store_credit_apply(business=in_scope, client=bob, amount=1_00, booking=booking)
    with scope(business=other_business):
        stranger = make_client(other_business, email="s@example.com")
    with pytest.raises(ValidationError):
        grant(in_scope, stranger, 5_00)


def test_apply_uses_the_grant_expiring_first_and_never_expiring_credit_last(in_scope, ada, booking):
    forever = grant(in_scope, ada, 10_00)
    late = grant(in_scope, ada, 10_00, days=60)
    soon = grant(in_scope, ada, 10_00, days=5)
    store_credit_apply(business=in_scope, client=ada, amount=15_00, booking=booking)
    remaining = {e.pk: e.remaining for e in StoreCreditEntry.objects.filter(business=in_scope, amount__gt=0)}
    assert remaining == {soon.pk: 0, late.pk: 5_00, forever.pk: 10_00}


def test_expiry_takes_only_the_unused_part_of_expired_grants(in_scope, ada, booking):
    grant(in_scope, ada, 10_00, days=5)
    grant(in_scope, ada, 10_00, days=60)
    grant(in_scope, ada, 4_00)
    store_credit_apply(business=in_scope, client=ada, amount=6_00, booking=booking)
    assert store_credit_expire_due(business=in_scope, now=timezone.now() + timedelta(days=10)) == 1
    expired = StoreCreditEntry.objects.get(business=in_scope, kind=StoreCreditKind.EXPIRE)
    assert expired.amount == -4_00
    assert store_credit_balance(business=in_scope, client=ada) == 14_00 == ledger_sum(in_scope, ada)
    # Running again expires nothing more.
    assert store_credit_expire_due(business=in_scope, now=timezone.now() + timedelta(days=10)) == 0


def test_credit_past_its_expiry_cannot_be_applied_even_before_the_task_ran(in_scope, ada, booking):
    entry = grant(in_scope, ada, 10_00, days=1)
    StoreCreditEntry.objects.filter(pk=entry.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(ValidationError):
        store_credit_apply(business=in_scope, client=ada, amount=1_00, booking=booking)
    # The refused apply rolled back the expiry it wrote too; the task writes it.
    assert store_credit_balance(business=in_scope, client=ada) == 10_00
    assert store_credit_expire_due(business=in_scope) == 1
    assert store_credit_balance(business=in_scope, client=ada) == 0 == ledger_sum(in_scope, ada)


def test_reversing_an_apply_gives_back_to_the_same_grants_once(in_scope, ada, booking, owner):
    soon = grant(in_scope, ada, 10_00, days=5)
    grant(in_scope, ada, 10_00)
    applied = store_credit_apply(business=in_scope, client=ada, amount=15_00, booking=booking)
    first = store_credit_reverse(business=in_scope, entry=applied, actor=owner)
    again = store_credit_reverse(business=in_scope, entry=applied, actor=owner)
    assert first.pk == again.pk and first.amount == 15_00 and first.reverses_id == applied.pk
    assert StoreCreditEntry.objects.filter(business=in_scope, kind=StoreCreditKind.REVERSE).count() == 1
    soon.refresh_from_db()
    assert soon.remaining == 10_00
    assert store_credit_balance(business=in_scope, client=ada) == 20_00 == lots_left(in_scope, ada)


def test_a_grant_is_reversed_only_while_unused(in_scope, ada, booking):
    used = grant(in_scope, ada, 10_00)
    store_credit_apply(business=in_scope, client=ada, amount=1_00, booking=booking)
    with pytest.raises(ValidationError):
        store_credit_reverse(business=in_scope, entry=used)
    unused = grant(in_scope, ada, 5_00, days=3)
    store_credit_reverse(business=in_scope, entry=unused)
    assert store_credit_balance(business=in_scope, client=ada) == 9_00 == ledger_sum(in_scope, ada)


def test_a_reversal_cannot_be_reversed(in_scope, ada):
    reversal = store_credit_reverse(business=in_scope, entry=grant(in_scope, ada, 5_00))
    with pytest.raises(ValidationError):
        store_credit_reverse(business=in_scope, entry=reversal)


def test_adjust_adds_or_takes_never_past_zero(in_scope, ada):
    store_credit_adjust(business=in_scope, client=ada, amount=8_00, reason="Goodwill")
    store_credit_adjust(business=in_scope, client=ada, amount=-3_00, reason="Typo")
    with pytest.raises(ValidationError):
        store_credit_adjust(business=in_scope, client=ada, amount=-5_01, reason="Too much")
    with pytest.raises(ValidationError) as no_reason:
        store_credit_adjust(business=in_scope, client=ada, amount=1_00, reason=" ")
    assert "reason" in no_reason.value.message_dict
    assert store_credit_balance(business=in_scope, client=ada) == 5_00 == ledger_sum(in_scope, ada)


def test_the_check_constraint_refuses_a_negative_cached_balance(in_scope, ada):
    from django.db import IntegrityError, transaction

    grant(in_scope, ada, 1_00)
    with pytest.raises(IntegrityError), transaction.atomic():
        WalletBalance.objects.filter(business=in_scope, client=ada).update(store_credit=-1)


def test_the_task_expires_due_credit_across_businesses(in_scope, ada, other_business):
    from rewards.tasks import expire_due

    entry = grant(in_scope, ada, 7_00, days=1)
    StoreCreditEntry.objects.filter(pk=entry.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with scope(business=other_business):
        bob = make_client(other_business, email="bob@example.com")
        other = grant(other_business, bob, 3_00, days=1)
        StoreCreditEntry.objects.filter(pk=other.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_due() == 2
    assert store_credit_balance(business=in_scope, client=ada) == 0
    assert expire_due() == 0


def test_a_booking_for_apply_is_required(in_scope, ada):
    grant(in_scope, ada, 1_00)
    with pytest.raises(ValidationError):
        store_credit_apply(business=in_scope, client=ada, amount=1_00, booking=None)
    make_booking(in_scope, client=ada)
