"""Reward expiring: a reminder, a set number of days ahead, of each coupon, store credit lot and points lot a client
is about to lose unused.

Run daily by the `campaigns.remind_expiring` task. One message per item, keyed "expiring:<kind>:<id>", so a run
repeated the same day (or the next days, while the item is still in the window) reminds once. Transactional: no
marketing consent needed; test and erased clients are kept as suppressed by outbox_enqueue.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from businesses.models import Business
from businesses.money import format_money
from clients.models import Client
from rewards.models import Coupon, CouponStatus, PointsEntry, PointsProgram, StoreCreditEntry
from rewards.services import coupon_label

from .autopilots import local_date, render_or_default
from .models import Autopilot, AutopilotKind, OutboxMessage
from .sandbox import Variables
from .services import autopilot_get, outbox_enqueue

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


@dataclass(frozen=True)
class ExpiringItem:
    key: str
    client: Client
    expires_at: datetime
    reward: str
    coupon_code: str = ""


def _keyset(rows: QuerySet, size: int) -> Iterator[list]:
    """`rows` in batches of `size`, ordered by (expires_at, id): each batch reads the index range after the last."""
    after: tuple[datetime, int] | None = None
    while True:
        page = rows
        if after is not None:
            page = page.filter(Q(expires_at__gt=after[0]) | Q(expires_at=after[0], pk__gt=after[1]))
        batch = list(page.order_by("expires_at", "pk")[:size])
        if batch:
            yield batch
        if len(batch) < size:
            return
        after = (batch[-1].expires_at, batch[-1].pk)


def _points_words(points: int, program: PointsProgram | None, currency: str) -> str:
    words = f"{points} point{'s' if points != 1 else ''}"
    if program is not None and program.enabled and program.point_value:
        words += f" worth {format_money(points * program.point_value, currency)}"
    return words


def expiring_items(*, business: Business, now: datetime, horizon: datetime, size: int = BATCH_SIZE):
    """Batches of what expires in (now, horizon]: active real coupons, then store credit and points lots with
    something left. Every query leads with the business; the lots' range is served by their partial "due" indexes."""
    window = {"business": business, "expires_at__gt": now, "expires_at__lte": horizon}
    coupons = Coupon.objects.filter(status=CouponStatus.ACTIVE, is_test=False, **window).select_related("client")
    for batch in _keyset(coupons, size):
        yield [
            ExpiringItem(
                key=f"expiring:coupon:{c.pk}",
                client=c.client,
                expires_at=c.expires_at,
                reward=f"the coupon {c.code} ({coupon_label(c)})",
                coupon_code=c.code,
            )
            for c in batch
        ]
    credit = StoreCreditEntry.objects.filter(remaining__gt=0, **window).select_related("client")
    for batch in _keyset(credit, size):
        yield [
            ExpiringItem(
                key=f"expiring:credit:{e.pk}",
                client=e.client,
                expires_at=e.expires_at,
                reward=f"{format_money(e.remaining, e.currency)} of store credit",
            )
            for e in batch
        ]
    program = PointsProgram.objects.filter(business=business).first()
    points = PointsEntry.objects.filter(remaining__gt=0, **window).select_related("client")
    for batch in _keyset(points, size):
        yield [
            ExpiringItem(
                key=f"expiring:points:{e.pk}",
                client=e.client,
                expires_at=e.expires_at,
                reward=_points_words(e.remaining, program, business.currency),
            )
            for e in batch
        ]


def expiring_variables(*, business: Business, item: ExpiringItem, now: datetime) -> Variables:
    zone = ZoneInfo(business.time_zone)
    days_left = (timezone.localtime(item.expires_at, zone).date() - timezone.localtime(now, zone).date()).days
    return {
        "first_name": item.client.first_name,
        "reward": item.reward,
        "coupon_code": item.coupon_code,
        "expires_on": local_date(business, item.expires_at),
        "days_left": max(days_left, 0),
        "business_name": business.name,
    }


def reward_expiring_remind(*, business: Business, now: datetime | None = None, size: int = BATCH_SIZE) -> int:
    """Write one reminder per item expiring within the autopilot's `days_before` days; returns how many were new.

    Idempotent by the outbox key per item (an already-reminded item is skipped before rendering, and the unique
    constraint settles a concurrent run). Each batch is one transaction; its messages are sent after it commits."""
    autopilot = autopilot_get(business=business, kind=AutopilotKind.REWARD_EXPIRING)
    if not autopilot.enabled:
        return 0
    now = now or timezone.now()
    horizon = now + timedelta(days=autopilot.days_before)
    written = 0
    for batch in expiring_items(business=business, now=now, horizon=horizon, size=size):
        keys = [item.key for item in batch]
        done = set(
            OutboxMessage.objects.filter(business=business, idempotency_key__in=keys).values_list(
                "idempotency_key", flat=True
            )
        )
        with transaction.atomic():
            for item in batch:
                if item.key in done:
                    continue
                variables = expiring_variables(business=business, item=item, now=now)
                outbox_enqueue(
                    business=business,
                    key=item.key,
                    template=AutopilotKind.REWARD_EXPIRING,
                    content=render_or_default(autopilot.kind, autopilot.subject, autopilot.body, variables),
                    client=item.client,
                )
                written += 1
    return written


def businesses_to_remind() -> Iterator[Business]:
    """Every business except those that turned the autopilot off (it is on by default, without a row)."""
    with scopes_disabled():
        off = Autopilot.objects.filter(kind=AutopilotKind.REWARD_EXPIRING, enabled=False).values("business_id")
        query = Business.objects.exclude(pk__in=off).order_by("pk")
    # The scope is not held open across the yields: the caller enters each business's own scope.
    yield from query.iterator(chunk_size=500)


def remind_expiring_all(now: datetime | None = None) -> int:
    """The daily run over all businesses; one business failing is logged and does not stop the others."""
    written = 0
    for business in businesses_to_remind():
        try:
            with scope(business=business):
                written += reward_expiring_remind(business=business, now=now)
        except Exception:  # the next business's clients must still hear from it; tomorrow's run retries this one
            logger.exception("Reward expiring reminders failed for business %s", business.pk)
    return written
