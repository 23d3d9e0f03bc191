from __future__ import annotations

from referrals_saas.celery import business_task

from . import imports


@business_task
def client_import_run(business, job_id: int) -> None:
    imports.client_import_run(business=business, job_id=job_id)
