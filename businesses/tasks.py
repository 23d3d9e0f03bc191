from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from referrals_saas.celery import app, business_task

from .models import Invitation


@business_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invitation_send(business, invitation_id: int, token: str) -> None:
    invitation = Invitation.objects.filter(business=business, pk=invitation_id, accepted_at__isnull=True).first()
    if invitation is None:
        return
    context = {
        "invitation": invitation,
        "business": business,
        "accept_url": settings.SITE_URL + reverse("invitation_accept", args=[token]),
    }
    send_mail(
        subject=render_to_string("emails/invitation_subject.txt", context).strip(),
        message=render_to_string("emails/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
    )


@app.task(name="businesses.idempotency_cleanup")
def idempotency_cleanup() -> int:
    """Forget Idempotency-Key responses older than 24 hours (the API's replay window)."""
    from referrals_saas.api.idempotency import idempotency_records_expire

    return idempotency_records_expire()
