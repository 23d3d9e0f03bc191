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
