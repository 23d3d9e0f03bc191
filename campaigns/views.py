"""The Outbox (what was sent, to whom, and what failed) and the autopilots' settings."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from businesses.forms import add_errors
from clients.params import parse_id
from referrals_saas.tenancy import business_view

from . import sandbox, selectors, services
from .forms import EncourageForm, RewardExpiringForm, ThankYouForm, WelcomeForm
from .models import AutopilotKind, MessageStatus, OutboxMessage
from .wording import VARIABLES, sample_variables


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
        "reward_expiring": services.autopilot_get(business=request.business, kind=AutopilotKind.REWARD_EXPIRING),
        "encourage": services.autopilot_get(business=request.business, kind=AutopilotKind.ENCOURAGE_REFERRALS),
        "welcome": services.autopilot_get(business=request.business, kind=AutopilotKind.WELCOME),
        "milestone": services.autopilot_get(business=request.business, kind=AutopilotKind.MILESTONE_REACHED),
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


# Per autopilot: its form, its timing field, and what its page says.
SETTINGS_PAGES = {
    AutopilotKind.REFERRAL_THANK_YOU: {
        "form": ThankYouForm,
        "timing": ("delay_minutes",),
        "promotion": True,
        "url": "campaigns:thank_you",
        "saved": "The Referral Thank You is saved.",
        "intro": (
            "When a referral is confirmed, the referrer gets this e-mail: who booked (first name only), how many "
            "friends they have sent, and the reward they earned. It is a transactional message, so it goes to every "
            "referrer with an e-mail address, whether or not they agreed to marketing e-mail."
        ),
    },
    AutopilotKind.REWARD_EXPIRING: {
        "form": RewardExpiringForm,
        "timing": ("days_before",),
        "url": "campaigns:reward_expiring",
        "saved": "The Reward expiring reminder is saved.",
        "intro": (
            "A few days before a client's coupon, store credit or points expire unused, they get this reminder: "
            "one e-mail for each coupon, each grant of store credit and each batch of points, sent once. It is a "
            "transactional message, so it goes whether or not the client agreed to marketing e-mail."
        ),
    },
    AutopilotKind.ENCOURAGE_REFERRALS: {
        "form": EncourageForm,
        "timing": ("delay_days", "frequency_days"),
        "url": "campaigns:encourage",
        "saved": "Encourage Referrals is saved.",
        "intro": (
            "A while after a completed visit, the client gets this e-mail with their own referral link, links to "
            "share it by e-mail, text, WhatsApp, Facebook and X, and what your program offers. It is a marketing "
            "message: it only goes to clients who agreed to marketing e-mail, carries an unsubscribe link, and goes "
            "to each client at most once in the number of days you choose."
        ),
    },
    AutopilotKind.WELCOME: {
        "form": WelcomeForm,
        "timing": ("delay_minutes",),
        "url": "campaigns:welcome",
        "saved": "The Welcome is saved.",
        "intro": (
            "When a new client books through a friend's referral, they get this welcome: who recommended them "
            "(first name only) and the discount they got. It is a transactional message, so it goes whether or "
            "not they agreed to marketing e-mail."
        ),
    },
    AutopilotKind.MILESTONE_REACHED: {
        "form": WelcomeForm,
        "timing": ("delay_minutes",),
        "url": "campaigns:milestone_reached",
        "saved": "Milestone reached is saved.",
        "intro": (
            "When a referrer reaches one of your milestones, they get this message with what it earned them. It "
            "is a transactional message, so it goes whether or not they agreed to marketing e-mail."
        ),
    },
}


def _timing_value(autopilot, field: str) -> int:
    if field == "delay_days":
        return autopilot.delay_minutes // (24 * 60)
    return getattr(autopilot, field)


def _autopilot_settings(request, kind: str):
    """Settings of one autopilot, with a preview on sample data. "Preview" renders without saving."""
    business, page = request.business, SETTINGS_PAGES[kind]
    autopilot = services.autopilot_get(business=business, kind=kind)
    initial = {
        "enabled": autopilot.enabled,
        **{field: _timing_value(autopilot, field) for field in page["timing"]},
        "subject": autopilot.subject,
        "body": autopilot.body,
    }
    form_kwargs = {}
    if page.get("promotion"):
        initial["promotion"] = autopilot.promotion_id
        form_kwargs["business"] = business
    form = page["form"](request.POST or None, initial=initial, **form_kwargs)
    previewing = request.method == "POST" and request.POST.get("action") == "preview"
    status = 200
    if request.method == "POST":
        if form.is_valid() and not previewing:
            try:
                services.autopilot_save(business=business, kind=kind, **form.cleaned_data)
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, page["saved"])
                return redirect(page["url"], business_slug=business.slug)
        if form.errors:
            status = 400
    preview, preview_errors = _preview(request.POST if request.method == "POST" else initial, business, kind)
    if previewing and preview_errors:
        status = 400
    context = {
        "form": form,
        "timing_fields": [form[field] for field in page["timing"]],
        "title": AutopilotKind(kind).label,
        "intro": page["intro"],
        "preview": preview,
        "preview_errors": preview_errors,
        "variables": list(VARIABLES[kind]),
        "active_section": "campaigns",
    }
    if request.htmx and previewing:
        return render(request, "campaigns/autopilot.html#preview", context, status=status)
    return render(request, "campaigns/autopilot.html", context, status=status)


@business_view(owner_only=True)
def thank_you(request):
    return _autopilot_settings(request, AutopilotKind.REFERRAL_THANK_YOU)


@business_view(owner_only=True)
def reward_expiring(request):
    return _autopilot_settings(request, AutopilotKind.REWARD_EXPIRING)


@business_view(owner_only=True)
def encourage(request):
    return _autopilot_settings(request, AutopilotKind.ENCOURAGE_REFERRALS)


@business_view(owner_only=True)
def welcome(request):
    return _autopilot_settings(request, AutopilotKind.WELCOME)


@business_view(owner_only=True)
def milestone_reached(request):
    return _autopilot_settings(request, AutopilotKind.MILESTONE_REACHED)


def _preview(data, business, kind: str) -> tuple[sandbox.Rendered | None, list[str]]:
    subject, body = str(data.get("subject", "")), str(data.get("body", ""))
    errors, sample = [], sample_variables(business, kind)
    for label, source in (("Subject", subject), ("Message", body)):
        try:
            sandbox.check(source, sample)
        except sandbox.TemplateSyntaxError as exc:
            errors.append(f"{label}: {exc}")
    if errors:
        return None, errors
    return sandbox.render(subject, body, sample), []
