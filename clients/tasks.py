from __future__ import annotations

from referrals_saas.celery import app, business_task

from . import imports


@business_task
def client_import_run(business, job_id: int) -> None:
    imports.client_import_run(business=business, job_id=job_id)


@app.task(acks_late=True)
def imports_resume_stale() -> int:
    """Periodic (beat): re-send the imports whose task was lost. Across businesses; each job runs in its own."""
    return len(imports.import_jobs_resume_stale())
