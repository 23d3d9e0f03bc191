"""Client records in the dashboard: detail, create, edit, referrer, merge, privacy export and erasure.

Views sit above every app, so the detail page reads bookings here; the clients services never import them.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from bookings.models import Booking
from businesses.forms import add_errors
from businesses.models import AuditLog
from referrals.panels import client_referral_panel
from referrals.services import client_save_with_referrer, referral_link_by_staff
from referrals_saas.tenancy import business_view
from rewards.credits import service_credits_for_client
from rewards.ledger import client_wallet

from . import privacy
from .forms import ClientForm
from .identity import display_phone
from .models import Client, ClientTag
from .params import parse_id
from .selectors import client_search
from .services import client_merge

SECTION = {"active_section": "clients"}
PICKER_RESULTS = 8
DETAIL_BOOKINGS = 20
DETAIL_REFERRED = 50

AUDIT_WORDS = {
    "client.created": "Created",
    "client.updated": "Edited",
    "client.referrer_set": "Referrer changed",
    "client.merged": "Another record merged into this one",
    "client.exported": "Personal data exported",
    "client.erased": "Erased on the client's request",
}


def _client(request, client_id: int) -> Client:
    return get_object_or_404(Client.objects.select_related("referred_by"), business=request.business, pk=client_id)


def _refuse_if_erased(request, client: Client):
    if client.erased_at:
        messages.error(request, "This client was erased on their request; the record can no longer be changed.")
        return redirect("clients:detail", business_slug=request.business.slug, client_id=client.pk)
    return None


def _form_page(request, form: ClientForm, client: Client | None, status: int = 200):
    context = {
        **SECTION,
        "form": form,
        "client": client,
        "referrer": form.referrer_choice(),
        "tag_suggestions": form.tag_suggestions(),
    }
    return render(request, "clients/form.html", context, status=status)


@business_view
def new(request):
    form = ClientForm(request.POST or None, business=request.business)
    if request.method == "POST":
        if form.is_valid():
            try:
                client = client_save_with_referrer(
                    business=request.business,
                    data=form.client_data(),
                    referrer=form.cleaned_data["referred_by"],
                    actor=request.user,
                )
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, f"{client.full_name} was added.")
                return redirect("clients:detail", business_slug=request.business.slug, client_id=client.pk)
        return _form_page(request, form, None, status=400)
    return _form_page(request, form, None)


@business_view
def edit(request, client_id: int):
    client = _client(request, client_id)
    refused = _refuse_if_erased(request, client)
    if refused:
        return refused
    form = ClientForm(request.POST or None, business=request.business, client=client)
    if request.method == "POST":
        if form.is_valid():
            try:
                client = client_save_with_referrer(
                    business=request.business,
                    client=client,
                    data=form.client_data(),
                    referrer=form.cleaned_data["referred_by"],
                    actor=request.user,
                )
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, f"{client.full_name}'s details were saved.")
                return redirect("clients:detail", business_slug=request.business.slug, client_id=client.pk)
        return _form_page(request, form, client, status=400)
    return _form_page(request, form, client)


@business_view
def detail(request, client_id: int):
    business = request.business
    client = _client(request, client_id)
    bookings_qs = Booking.objects.filter(business=business, client=client)
    bookings = list(bookings_qs.select_related("service").order_by("-starts_at", "-id")[:DETAIL_BOOKINGS])
    booking_count = len(bookings) if len(bookings) < DETAIL_BOOKINGS else bookings_qs.count()
    referred = list(
        Client.objects.filter(business=business, referred_by=client).order_by("-created_at", "-id")[:DETAIL_REFERRED]
    )
    history = list(
        AuditLog.objects.filter(business=business, subject_type=Client._meta.label, subject_id=client.pk)
        .select_related("actor")
        .order_by("-created_at", "-id")[:10]
    )
    for entry in history:
        entry.words = AUDIT_WORDS.get(entry.action, entry.action)
    context = {
        **SECTION,
        "client": client,
        "panel": client_referral_panel(business=business, client=client),
        "wallet": client_wallet(business, client),
        "service_credits": service_credits_for_client(business=business, client=client),
        "can_manage_codes": request.membership.is_owner,
        "phone": display_phone(client.phone),
        "tags": [ct.tag for ct in ClientTag.objects.filter(business=business, client=client).select_related("tag")],
        "referred": referred,
        "referred_more": max(client.referred_clients_count - len(referred), 0),
        "bookings": bookings,
        "booking_count": booking_count,
        "history": history,
        "can_manage_privacy": request.membership.is_owner,
    }
    return render(request, "clients/detail.html", context)


@business_view
def set_referrer(request, client_id: int):
    business = request.business
    client = _client(request, client_id)
    refused = _refuse_if_erased(request, client)
    if refused:
        return refused
    error = ""
    if request.method == "POST":
        raw = request.POST.get("referred_by", "").strip()
        referrer = None
        if raw:
            referrer_id = parse_id(raw)
            if referrer_id is None:
                error = "Choose the referrer from the search results."
            else:
                referrer = get_object_or_404(Client, business=business, pk=referrer_id)
                if referrer.erased_at:
                    error = "An erased client cannot be linked as a referrer."
        if not error:
            try:
                # A referral, not only a link: before the first booking it earns the discount and reward.
                referral_link_by_staff(business=business, referee=client, referrer=referrer, actor=request.user)
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                if referrer:
                    messages.success(request, f"{referrer.full_name} is now recorded as {client.full_name}'s referrer.")
                else:
                    messages.success(request, f"{client.full_name} is no longer linked to a referrer.")
                return redirect("clients:detail", business_slug=business.slug, client_id=client.pk)
    context = {**SECTION, "client": client, "referrer": client.referred_by, "error": error}
    return render(request, "clients/referrer.html", context, status=400 if error else 200)


def _summary(business, client: Client) -> dict:
    return {
        "client": client,
        "phone": display_phone(client.phone),
        "bookings": Booking.objects.filter(business=business, client=client).count(),
        "tags": [
            ct.tag.name for ct in ClientTag.objects.filter(business=business, client=client).select_related("tag")
        ],
    }


@business_view
def merge(request, client_id: int):
    """Keep this record and merge another client into it. The other record is chosen, shown, then merged."""
    business = request.business
    client = _client(request, client_id)
    refused = _refuse_if_erased(request, client)
    if refused:
        return refused
    raw = (request.POST if request.method == "POST" else request.GET).get("other", "").strip()
    other = None
    error = ""
    if raw:
        other_id = parse_id(raw)
        if other_id is None:
            error = "Choose the duplicate record from the search results."
        else:
            other = get_object_or_404(Client, business=business, pk=other_id)
            if other.pk == client.pk:
                error = "That is this record. Choose the duplicate to merge into it."
                other = None
            elif other.erased_at:
                error = "An erased client cannot be merged."
                other = None
    if request.method == "POST" and other is not None:
        name = other.full_name
        try:
            kept = client_merge(business=business, keep=client, merge=other, actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(
                request, f"{name} was merged into {kept.full_name}. Their bookings, referrals and tags are here now."
            )
            return redirect("clients:detail", business_slug=business.slug, client_id=kept.pk)
    elif request.method == "POST" and not error:
        error = "Choose the duplicate record to merge into this one."
    context = {
        **SECTION,
        "client": client,
        "other": other,
        "keep_summary": _summary(business, client),
        "merge_summary": _summary(business, other) if other else None,
        "error": error,
    }
    return render(request, "clients/merge.html", context, status=400 if error else 200)


@business_view
@require_GET
def pick(request):
    """Search results for the client pickers (referrer, merge): staff-facing, so full names and e-mail."""
    query = request.GET.get("q", "").strip()[:100]
    clients = client_search(
        business=request.business, q=query, limit=PICKER_RESULTS, exclude_pk=parse_id(request.GET.get("exclude"))
    )
    context = {"clients": clients, "query": query, "limit": PICKER_RESULTS}
    return render(request, "clients/_client_picker.html#results", context)


def _export(request, client_id: int, data_format: str):
    # The id is checked before the method, so another business's id answers 404 whatever the method.
    client = _client(request, client_id)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    try:
        data = privacy.client_export(
            business=request.business, client=client, actor=request.user, data_format=data_format
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("clients:detail", business_slug=request.business.slug, client_id=client.pk)
    stamp = timezone.localdate().isoformat()
    if data_format == "json":
        response = HttpResponse(privacy.export_as_json(data), content_type="application/json; charset=utf-8")
    else:
        response = HttpResponse(privacy.export_as_csv(data), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="client-{client.pk}-personal-data-{stamp}.{data_format}"'
    response["Cache-Control"] = "no-store"
    return response


@business_view(owner_only=True)
def privacy_export_json(request, client_id: int):
    return _export(request, client_id, "json")


@business_view(owner_only=True)
def privacy_export_csv(request, client_id: int):
    return _export(request, client_id, "csv")


@business_view(owner_only=True)
def erase(request, client_id: int):
    business = request.business
    client = _client(request, client_id)
    if request.method == "POST":
        if client.erased_at:
            messages.info(request, "This client was already erased.")
        else:
            privacy.client_erase(business=business, client=client, actor=request.user)
            messages.success(
                request, "The client's personal data was erased. Their bookings and payments remain, anonymised."
            )
        return redirect("clients:detail", business_slug=business.slug, client_id=client.pk)
    context = {
        **SECTION,
        "client": client,
        "booking_count": Booking.objects.filter(business=business, client=client).count(),
    }
    return render(request, "clients/erase.html", context)
