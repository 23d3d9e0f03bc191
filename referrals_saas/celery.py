"""The Celery app. Tasks take ids, never model instances; BusinessTask reloads the tenant and enters its scope."""

from __future__ import annotations

import logging
import os

from celery import Celery
from celery.contrib.django.task import DjangoTask
from django_scopes import scope

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "referrals_saas.settings")

# DjangoTask adds delay_on_commit / apply_async_on_commit to every task.
app = Celery("referrals_saas", task_cls=DjangoTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


class BusinessTask(DjangoTask):
    """Base for every tenant task: called with a business id first, runs with that business and its scope.

    `task.delay_on_commit(business.id, ...)` sends it only once the caller's transaction has committed, so the
    worker never looks for rows that are not there yet. The task body receives the Business instance.
    """

    abstract = True

    def __call__(self, business_id: int, *args, **kwargs):
        from businesses.models import Business

        business = Business.objects.filter(pk=business_id).first()
        if business is None:
            # The business was deleted between sending and running: nothing is left to act on.
            logger.warning("Task %s skipped: business %s no longer exists", self.name, business_id)
            return None
        with scope(business=business):
            return super().__call__(business, *args, **kwargs)


def business_task(*args, **kwargs):
    """`@business_task` declares a BusinessTask with the project's defaults (acks late, retried on crash)."""
    kwargs.setdefault("base", BusinessTask)
    kwargs.setdefault("acks_late", True)
    return app.task(*args, **kwargs)
