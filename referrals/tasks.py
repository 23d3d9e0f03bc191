from __future__ import annotations

from django_scopes import scope

from referrals_saas.celery import app

from . import clicks
from .services import referrals_auto_approve_due, referrals_due_for_auto_approval


@app.task(name="referrals.clicks_flush", acks_late=True)
def clicks_flush() -> int:
    """Periodic (beat, every minute): move counted link clicks into ClickCount, across businesses.

    Safe when two runs overlap or a run dies halfway: see referrals.clicks for why the write is idempotent.
    """
    return clicks.clicks_flush()


@app.task(name="referrals.auto_approve_flagged", acks_late=True)
def auto_approve_flagged() -> int:
    """Periodic (beat): approve flagged referrals whose review deadline has passed, business by business.

    Only businesses with such a referral are visited (one indexed query); each approval is its own transaction
    that skips rows another run holds, so overlapping runs approve each referral once."""
    approved = 0
    for business in referrals_due_for_auto_approval():
        with scope(business=business):
            approved += referrals_auto_approve_due(business=business)
    return approved


@app.task(name="referrals.daily_stats_refresh", acks_late=True)
def daily_stats_refresh() -> int:
    """Periodic (beat, nightly): rebuild the overview's recent daily figures of every business from the source
    rows (clicks arrive by flush; anything that drifted heals) and warm its cached client comparison.
    Idempotent: a rebuild writes what the rows say."""
    from businesses.models import Business

    from .analytics import comparison_refresh
    from .daily_stats import daily_stats_refresh_recent

    written = daily_stats_refresh_recent()
    for business in Business.objects.order_by("pk").iterator():
        with scope(business=business):
            comparison_refresh(business=business)
    return written


COMPACT_WATERMARK = "referrals:daily-stats-compacted-up-to"


@app.task(name="referrals.daily_stats_compact", acks_late=True)
def daily_stats_compact() -> int:
    """Periodic (beat, every 5 minutes): fold the overview's rows of differences, one row per key again. Remembers
    how far it got; a lost mark only makes the next run start from the beginning."""
    from django.core.cache import cache

    from .daily_stats import daily_stats_compact as compact

    after = cache.get(COMPACT_WATERMARK, 0)
    newest = compact(after_id=after)
    while newest != after:
        after, newest = newest, compact(after_id=newest)
    cache.set(COMPACT_WATERMARK, newest, None)
    return newest
