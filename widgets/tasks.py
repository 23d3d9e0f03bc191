from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from django.utils import timezone
from django_scopes import scope

from referrals_saas.celery import app

from .invitations import businesses_with_due_reminders, friend_reminders_send

logger = logging.getLogger(__name__)


@app.task(name="widgets.remind_invited_friends", acks_late=True)
def remind_invited_friends() -> int:
    """Periodic (beat): remind, once, friends a client invited a few days ago who have not booked, business by
    business. Only businesses with a due invitation are visited; a rerun or an overlapping run writes nothing twice
    (rows locked with SKIP LOCKED, stamped with the outbox row). One business failing does not stop the others."""
    written = 0
    for business in businesses_with_due_reminders():
        try:
            with scope(business=business), timezone.override(ZoneInfo(business.time_zone)):
                written += friend_reminders_send(business=business)
        except Exception:  # the next run retries this business; the others must still be reminded
            logger.exception("Friend invitation reminders failed for business %s", business.pk)
    return written
