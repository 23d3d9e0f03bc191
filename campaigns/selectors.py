"""Reads for the Outbox page: newest first, one status at a time, paged by keyset (no count of a long table)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from businesses.models import Business

from .models import MessageStatus, OutboxMessage

PAGE_SIZE = 50


@dataclass
class OutboxPage:
    messages: list[OutboxMessage]
    next_before: int | None


def outbox_page(*, business: Business, status: str = "", before: int | None = None, size: int = PAGE_SIZE):
    """Messages older than message `before` (its id), newest first; `next_before` is None on the last page.

    The order (created_at, id) descending is served by an index that starts with the business (and the status)."""
    rows = OutboxMessage.objects.filter(business=business).select_related("client")
    if status in MessageStatus.values:
        rows = rows.filter(status=status)
    if before is not None:
        anchor = OutboxMessage.objects.filter(business=business, pk=before).values("created_at", "id").first()
        if anchor is None:
            return OutboxPage([], None)
        rows = rows.filter(
            Q(created_at__lt=anchor["created_at"]) | Q(created_at=anchor["created_at"], id__lt=anchor["id"])
        )
    messages = list(rows.order_by("-created_at", "-id")[: size + 1])
    more = len(messages) > size
    messages = messages[:size]
    return OutboxPage(messages, messages[-1].pk if more else None)
