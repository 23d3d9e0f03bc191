"""Targeted campaigns in the dashboard: the list, a draft's form (live audience count, preview), the campaign page
(progress polled while sending, counts, recipients), test send, send now, schedule and cancel; and the public
tracked link /c/<token>/ of campaign e-mail."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from businesses.forms import add_errors
from clients.models import Segment
from clients.params import parse_id
from clients.selectors import capped_count
from referrals_saas.tenancy import business_view

from . import bulk, sandbox
from .forms_campaigns import CampaignForm, ScheduleForm
from .models import Campaign, CampaignAudience
from .selectors_campaigns import RECIPIENT_FILTERS, campaign_list, campaign_progress, recipient_page

SECTION = {"active_section": "campaigns"}
MAX_PAGE = 100_000
# Counted exactly up to here (the client indexes serve it); a bigger audience reads "100,000+".
AUDIENCE_COUNT_CAP = 100_000


def _page_number(request) -> int:
    number = parse_id(request.GET.get("page", ""))
    return number if number is not None and number <= MAX_PAGE else 1


def _campaign_or_404(request, campaign_id: int) -> Campaign:
    return get_object_or_404(
        Campaign.objects.select_related("segment", "promotion__business"), business=request.business, pk=campaign_id
    )


def _detail(campaign: Campaign):
    return redirect("campaigns:campaign", business_slug=campaign.business.slug, campaign_id=campaign.pk)


@business_view
def campaign_index(request):
    listing = campaign_list(business=request.business, page=_page_number(request))
    return render(request, "campaigns/campaign_list.html", {**SECTION, "listing": listing})


def _initial(campaign: Campaign | None) -> dict:
    if campaign is None:
        defaults = bulk.CampaignData(name="")
        return {
            "audience": defaults.audience,
            "audience_days": defaults.audience_days,
            "subject": defaults.subject,
            "body": defaults.body,
        }
    return {
        "name": campaign.name,
        "audience": campaign.audience,
        "segment": campaign.segment_id,
        "audience_days": campaign.audience_days,
        "promotion": campaign.promotion_id,
        "subject": campaign.subject,
        "body": campaign.body,
    }


def _form_errors(form) -> list[str]:
    return [
        f"{form.fields[name].label or name.capitalize() if name in form.fields else 'Campaign'}: {error}"
        for name, errors in form.errors.items()
        for error in errors
    ]


def _form_page(request, campaign: Campaign | None):
    """A draft's form. POST `action=preview` (htmx) renders the message for the first recipient, saving nothing."""
    business = request.business
    form = CampaignForm(request.POST or None, initial=_initial(campaign), business=business)
    previewing = request.method == "POST" and request.POST.get("action") == "preview"
    preview, preview_errors, status = None, [], 200
    if request.method == "POST":
        if not form.is_valid():
            preview_errors, status = _form_errors(form), 400
        elif previewing:
            preview, preview_errors = _preview(business, form.to_data())
            status = 400 if preview_errors else 200
        else:
            try:
                if campaign is None:
                    campaign = bulk.campaign_create(business=business, data=form.to_data(), actor=request.user)
                    messages.success(request, "The draft is saved. Preview it, send yourself a test, then send it.")
                else:
                    campaign = bulk.campaign_update(business=business, campaign=campaign, data=form.to_data())
                    messages.success(request, "The campaign is saved.")
            except ValidationError as exc:
                add_errors(form, exc)
                status = 400
            else:
                return _detail(campaign)
    context = {
        **SECTION,
        "form": form,
        "campaign": campaign,
        "preview": preview,
        "preview_errors": preview_errors,
        "variables": list(bulk.VARIABLES),
    }
    if request.htmx and previewing:
        return render(request, "campaigns/campaign_form.html#preview", context, status=status)
    return render(request, "campaigns/campaign_form.html", context, status=status)


def _preview(business, data: bulk.CampaignData):
    try:
        bulk.campaign_check(business=business, data=data)
        campaign = bulk.campaign_unsaved(business=business, data=data)
        return bulk.campaign_preview(business=business, campaign=campaign), []
    except ValidationError as exc:
        return None, [message for messages_ in exc.message_dict.values() for message in messages_]


@business_view(owner_only=True)
def campaign_new(request):
    return _form_page(request, None)


@business_view(owner_only=True)
def campaign_edit(request, campaign_id: int):
    campaign = _campaign_or_404(request, campaign_id)
    if not campaign.is_editable:
        messages.info(request, "This campaign has started: it can no longer be changed.")
        return _detail(campaign)
    return _form_page(request, campaign)


@business_view(owner_only=True)
def audience_count(request):
    """The live count under the audience picker: how many clients it reaches, and how many of them agreed."""
    business = request.business
    audience = request.GET.get("audience", "")
    segment_id = parse_id(request.GET.get("segment", ""))
    segment = Segment.objects.filter(business=business, pk=segment_id).first() if segment_id else None
    days = parse_id(request.GET.get("audience_days", "")) or 0
    context = {"audience": audience}
    try:
        clients = bulk.audience_queryset(business=business, audience=audience, segment=segment, days=days)
    except ValidationError as exc:
        context["problem"] = " ".join(exc.messages)
    else:
        context["count"] = capped_count(clients, AUDIENCE_COUNT_CAP)
        if audience != CampaignAudience.CONSENTING:
            context["consenting"] = capped_count(clients.filter(email_consent=True), AUDIENCE_COUNT_CAP)
    return render(request, "campaigns/campaign_form.html#audience_count", context)


@business_view
def campaign_detail(request, campaign_id: int):
    campaign = _campaign_or_404(request, campaign_id)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    business = request.business
    recipients = recipient_page(
        business=business, campaign=campaign, page=_page_number(request), status=request.GET.get("status", "")
    )
    context = {**SECTION, "campaign": campaign, "recipients": recipients, "filters": RECIPIENT_FILTERS}
    if request.htmx and request.GET.get("table"):
        return render(request, "campaigns/campaign_detail.html#recipients", context)
    preview, preview_error = None, ""
    if campaign.is_editable:
        try:
            preview = bulk.campaign_preview(business=business, campaign=campaign)
        except sandbox.TemplateSyntaxError as exc:
            preview_error = str(exc)
    when = timezone.localtime(campaign.scheduled_at or timezone.now() + timedelta(days=1))
    context.update(
        progress=campaign_progress(business=business, campaign=campaign),
        preview=preview,
        preview_error=preview_error,
        schedule_form=ScheduleForm(initial={"scheduled_at": when.replace(second=0, microsecond=0)}),
    )
    return render(request, "campaigns/campaign_detail.html", context)


@business_view
def campaign_progress_view(request, campaign_id: int):
    """The progress card, polled every 2 s while the campaign sends; the last answer stops the polling and tells
    the recipients table to refresh."""
    campaign = _campaign_or_404(request, campaign_id)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    progress = campaign_progress(business=request.business, campaign=campaign)
    response = render(request, "campaigns/campaign_detail.html#progress", {"campaign": campaign, "progress": progress})
    if not progress.running:
        response["HX-Trigger"] = "campaign-finished"
    return response


def _act(request, campaign: Campaign, action, success: str):
    try:
        action()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success)
    return _detail(campaign)


@business_view(owner_only=True)
@require_POST
def campaign_test_send(request, campaign_id: int):
    campaign = _campaign_or_404(request, campaign_id)
    return _act(
        request,
        campaign,
        lambda: bulk.campaign_test_send(business=request.business, campaign=campaign, user=request.user),
        f"A test is on its way to {request.user.email}. Only you get it.",
    )


@business_view(owner_only=True)
@require_POST
def campaign_send(request, campaign_id: int):
    campaign = _campaign_or_404(request, campaign_id)
    return _act(
        request,
        campaign,
        lambda: bulk.campaign_send_now(business=request.business, campaign=campaign, actor=request.user),
        "The campaign is sending. This page shows its progress.",
    )


@business_view(owner_only=True)
@require_POST
def campaign_schedule(request, campaign_id: int):
    campaign = _campaign_or_404(request, campaign_id)
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return _detail(campaign)
    when = form.cleaned_data["scheduled_at"]
    return _act(
        request,
        campaign,
        lambda: bulk.campaign_schedule(business=request.business, campaign=campaign, when=when),
        f"The campaign will be sent on {timezone.localtime(when):%-d %B %Y at %H:%M}.",
    )


@business_view(owner_only=True)
@require_POST
def campaign_cancel(request, campaign_id: int):
    campaign = _campaign_or_404(request, campaign_id)
    return _act(
        request,
        campaign,
        lambda: bulk.campaign_cancel(business=request.business, campaign=campaign, actor=request.user),
        "The campaign is cancelled. Messages already written are still delivered.",
    )


@never_cache
def click(request, token: str):
    """A tracked link of a campaign e-mail: records the recipient's first click and redirects (302) to the
    promotion or their referral link. A token that names no recipient answers 404."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    target = bulk.campaign_click(token=token)
    if target is None:
        raise Http404("No such link")
    return HttpResponseRedirect(target)
