"""The Outbox (what was sent, to whom, and what failed) and the Referral Thank You autopilot's settings."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from businesses.forms import add_errors
from clients.params import parse_id
from referrals_saas.tenancy import business_view

from . import sandbox, selectors, services
from .forms import ThankYouForm
from .models import AutopilotKind, MessageStatus, OutboxMessage
from .wording import THANK_YOU_VARIABLES, sample_variables


@business_view
def index(request):
    """The Outbox: every message, newest first, filtered by status, paged by keyset (`?before=<id>`)."""
    status = request.GET.get("status", "")
    if status not in MessageStatus.values:
        status = ""
    page = selectors.outbox_page(business=request.business, status=status, before=parse_id(request.GET.get("before")))
    context = {
        "page": page,
        "status": status,
        "statuses": MessageStatus.choices,
        "active_section": "campaigns",
        "thank_you": services.autopilot_get(business=request.business, kind=AutopilotKind.REFERRAL_THANK_YOU),
    }
    if request.htmx and request.GET.get("before"):
        return render(request, "campaigns/outbox.html#rows", context)
    return render(request, "campaigns/outbox.html", context)


def _message_or_404(request, message_id: int) -> OutboxMessage:
    return get_object_or_404(OutboxMessage.objects.select_related("client"), business=request.business, pk=message_id)


@business_view
def message_detail(request, message_id: int):
    message = _message_or_404(request, message_id)
    return render(request, "campaigns/message.html", {"message": message, "active_section": "campaigns"})


@business_view(owner_only=True)
@require_POST
def message_resend(request, message_id: int):
    message = _message_or_404(request, message_id)
    error = None
    try:
        message = services.outbox_resend(business=request.business, message=message)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    message.refresh_from_db()
    if request.htmx:
        context = {"message": message, "resend_error": error}
        return render(request, "campaigns/message.html#status", context, status=409 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "The message is queued to be sent again.")
    return redirect("campaigns:message", business_slug=request.business.slug, message_id=message.pk)


@business_view(owner_only=True)
def thank_you(request):
    """Settings of the Referral Thank You, with a preview on sample data. "Preview" renders without saving."""
    business = request.business
    autopilot = services.autopilot_get(business=business, kind=AutopilotKind.REFERRAL_THANK_YOU)
    initial = {
        "enabled": autopilot.enabled,
        "delay_minutes": autopilot.delay_minutes,
        "subject": autopilot.subject,
        "body": autopilot.body,
    }
    form = ThankYouForm(request.POST or None, initial=initial)
    previewing = request.method == "POST" and request.POST.get("action") == "preview"
    status = 200
    if request.method == "POST":
        if form.is_valid() and not previewing:
            try:
                services.autopilot_save(business=business, kind=AutopilotKind.REFERRAL_THANK_YOU, **form.cleaned_data)
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, "The Referral Thank You is saved.")
                return redirect("campaigns:thank_you", business_slug=business.slug)
        if form.errors:
            status = 400
    preview, preview_errors = _preview(request.POST if request.method == "POST" else initial, business)
    if previewing and preview_errors:
        status = 400
    context = {
        "form": form,
        "preview": preview,
        "preview_errors": preview_errors,
        "variables": list(THANK_YOU_VARIABLES),
        "active_section": "campaigns",
    }
    if request.htmx and previewing:
        return render(request, "campaigns/autopilot.html#preview", context, status=status)
    return render(request, "campaigns/autopilot.html", context, status=status)


def _preview(data, business) -> tuple[sandbox.Rendered | None, list[str]]:
    subject, body = str(data.get("subject", "")), str(data.get("body", ""))
    errors, sample = [], sample_variables(business)
    for label, source in (("Subject", subject), ("Message", body)):
        try:
            sandbox.check(source, sample)
        except sandbox.TemplateSyntaxError as exc:
            errors.append(f"{label}: {exc}")
    if errors:
        return None, errors
    return sandbox.render(subject, body, sample), []
