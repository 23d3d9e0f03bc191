from __future__ import annotations

from referrals_saas.celery import app

from . import clicks


@app.task(name="referrals.clicks_flush", acks_late=True)
def clicks_flush() -> int:
    """Periodic (beat, every minute): move counted link clicks into ClickCount, across businesses.

    Safe when two runs overlap or a run dies halfway: see referrals.clicks for why the write is idempotent.
    """
    return clicks.clicks_flush()
