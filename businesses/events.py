"""Domain events: how a lower app causes a higher app's work without importing it.

A service calls `event_record(...)` inside its transaction. Subscribers register in their app's `ready()`
with `subscribe(kind, handler)`; they run at once, in the same transaction, so their invariants hold together
with the change (the referral engine confirming a referral when a booking is confirmed). Work that may happen
later (e-mail, webhooks) is written by such a subscriber to an outbox row, which a task delivers after commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from django.db import transaction

from .models import Business, DomainEvent

Handler = Callable[[DomainEvent], None]
_subscribers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(kind: str, handler: Handler) -> None:
    if handler not in _subscribers[kind]:
        _subscribers[kind].append(handler)


def unsubscribe(kind: str, handler: Handler) -> None:
    if handler in _subscribers[kind]:
        _subscribers[kind].remove(handler)


def event_record(*, business: Business, kind: str, subject, actor=None, **payload) -> DomainEvent:
    """Record `kind` for `subject` and run its subscribers in the caller's transaction (required)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_record() must run inside the transaction of the change it records")
    event = DomainEvent.objects.create(
        business=business,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        subject_type=subject._meta.label,
        subject_id=subject.pk,
        payload=payload,
    )
    for handler in list(_subscribers[kind]):
        handler(event)
    return event
