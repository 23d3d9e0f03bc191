"""The clients list: filters swapped in with htmx, saved segments, the tags page and the CSV export."""

from __future__ import annotations

import csv
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.dateformat import format as date_format
from django.views.decorators.http import require_POST
from django_scopes import scope

from businesses.models import Business
from businesses.money import from_minor
from businesses.services import audit_record
from referrals_saas.tenancy import business_view

from .filters import SegmentForm
from .identity import display_phone
from .models import Client, Segment, Source, Tag
from .params import parse_id
from .selectors import (
    EXPORT_COLUMNS,
    ClientFilters,
    client_count,
    client_page,
    export_rows,
    segment_count,
    segment_list,
    tags_with_counts,
)
from .services import segment_create, segment_delete
from .spreadsheet import safe_cell

MAX_PAGE = 999_999


def _page_number(request) -> int:
    number = parse_id(request.GET.get("page", ""))
    return number if number is not None and number <= MAX_PAGE else 1


def _detail_urls(slug: str):
    """`client id -> detail URL` without resolving the URL pattern a hundred times per page."""
    sample = reverse("clients:detail", args=[slug, 0])
    if sample.endswith("/0/"):
        head = sample[: -len("0/")]
        return lambda pk: f"{head}{pk}/"
    return lambda pk: reverse("clients:detail", args=[slug, pk])


def _chips(business: Business, filters: ClientFilters, tags: list[Tag], referrer: Client | None, list_url: str):
    """The filters in words, each with the URL of the list without it."""
    tag_names = {tag.pk: tag.name for tag in tags}
    described = {
        "q": lambda: f"Search: “{filters.q}”",
        "referrer": lambda: "Referrers only",
        "source": lambda: f"Source: {Source(filters.source).label}",
        "referred_by": lambda: f"Referred by {referrer.full_name}" if referrer else "Referred by: unknown client",
        "tag": lambda: f"Tag: {tag_names.get(filters.tag, 'unknown tag')}",
        "last_visit_less_than": lambda: f"Last visit in the last {filters.last_visit_less_than} days",
        "last_visit_more_than": lambda: f"Last visit more than {filters.last_visit_more_than} days ago",
        "never_visited": lambda: "Never visited",
        "visits_more_than": lambda: f"More than {filters.visits_more_than} visits",
        "visits_less_than": lambda: f"Fewer than {filters.visits_less_than} visits",
        "created_from": lambda: f"Added on or after {date_format(filters.created_from, 'j M Y')}",
        "created_to": lambda: f"Added on or before {date_format(filters.created_to, 'j M Y')}",
    }
    chips = []
    for name in filters.to_dict():
        query = filters.without(name).querystring()
        chips.append({"label": described[name](), "remove_url": f"{list_url}?{query}" if query else list_url})
    return chips


def _render_list(request, filters: ClientFilters, *, raw: dict, segment: Segment | None = None):
    business = request.business
    index_url = reverse("clients:index", args=[business.slug])
    page = client_page(business=business, filters=filters, page=_page_number(request))
    detail_url = _detail_urls(business.slug)
    for client in page.clients:
        client.detail_url = detail_url(client.pk)
        client.referrer_url = detail_url(client.referred_by_id) if client.referred_by_id else ""
        client.phone_display = display_phone(client.phone)
    count = client_count(business=business, filters=filters)
    tags = list(Tag.objects.filter(business=business).order_by("name"))
    referrer = None
    if filters.referred_by is not None:
        referrer = Client.objects.filter(business=business, pk=filters.referred_by).first()
    page_base = request.path if segment else index_url

    def page_url(number: int) -> str:
        query = urlencode({"page": number}) if segment else filters.querystring(page=number)
        return f"{page_base}?{query}"

    query = filters.querystring()
    without_referrer = filters.without("referred_by").querystring()
    context = {
        "active_section": "clients",
        "filters": filters,
        "raw": raw,
        "page": page,
        "count": count,
        "tags": tags,
        "sources": Source.choices,
        "referrer": referrer,
        "segments": segment_list(business=business),
        "active_segment": segment,
        "chips": _chips(business, filters, tags, referrer, index_url),
        "index_url": index_url,
        "query": query,
        "referred_by_clear_url": f"{index_url}?{without_referrer}" if without_referrer else index_url,
        "filter_items": list(filters.to_query().items()),
        "previous_url": page_url(page.number - 1) if page.has_previous else "",
        "next_url": page_url(page.number + 1) if page.has_next else "",
        "first_url": page_url(1),
        "can_export": request.membership.is_owner,
        "export_url": reverse("clients:export", args=[business.slug]) + (f"?{query}" if query else ""),
        "segment_form": SegmentForm(),
    }
    template = "clients/list.html#results" if request.htmx else "clients/list.html"
    response = render(request, template, context)
    # The same URL answers a partial to htmx and a full page otherwise; caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


@business_view
def index(request):
    filters = ClientFilters.from_querydict(request.GET)
    return _render_list(request, filters, raw=request.GET)


@business_view
def segment(request, segment_id: int):
    saved = get_object_or_404(Segment, business=request.business, pk=segment_id)
    filters = ClientFilters.from_dict(saved.filters)
    return _render_list(request, filters, raw=filters.to_query(), segment=saved)


@business_view
def segment_count_view(request, segment_id: int):
    saved = get_object_or_404(Segment, business=request.business, pk=segment_id)
    count = segment_count(business=request.business, segment=saved)
    return render(request, "clients/_segments.html#segment_count", {"count": count, "segment": saved})


@require_POST
@business_view
def segment_save(request):
    business = request.business
    filters = ClientFilters.from_querydict(request.POST)
    back = reverse("clients:index", args=[business.slug])
    if filters.querystring():
        back = f"{back}?{filters.querystring()}"
    try:
        saved = segment_create(
            business=business, name=request.POST.get("name", ""), filters=filters, actor=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(back)
    messages.success(request, f"Segment “{saved.name}” saved.")
    return redirect("clients:segment", business_slug=business.slug, segment_id=saved.pk)


@require_POST
@business_view
def segment_delete_view(request, segment_id: int):
    business = request.business
    saved = get_object_or_404(Segment, business=business, pk=segment_id)
    segment_delete(business=business, segment=saved, actor=request.user)
    messages.success(request, f"Segment “{saved.name}” deleted. Its clients are untouched.")
    return redirect("clients:index", business_slug=business.slug)


@business_view
def tags(request):
    business = request.business
    context = {
        "active_section": "clients",
        "tags": tags_with_counts(business=business),
        "index_url": reverse("clients:index", args=[business.slug]),
    }
    return render(request, "clients/tags.html", context)


class _Echo:
    """csv.writer needs a file; this one hands each line straight back to the streaming response."""

    def write(self, value: str) -> str:
        return value


def _export_lines(business: Business, filters: ClientFilters):
    # The response streams after the view (and the tenancy middleware's scope) has returned: enter it again.
    zone = ZoneInfo(business.time_zone)
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    with scope(business=business):
        for row in export_rows(business=business, filters=filters):
            first, last, email, phone, source, referrer_email, tag_names, visits, first_at, last_at, spend, created = (
                row
            )
            yield writer.writerow(
                [
                    *(safe_cell(v) for v in (first, last, email, phone, source, referrer_email, tag_names)),
                    visits,
                    timezone.localtime(first_at, zone).date().isoformat() if first_at else "",
                    timezone.localtime(last_at, zone).date().isoformat() if last_at else "",
                    str(from_minor(spend, business.currency)),
                    timezone.localtime(created, zone).strftime("%Y-%m-%d %H:%M:%S"),
                ]
            )


@business_view(owner_only=True)
def export(request):
    """Every client matching the current filters as CSV. Owners only: it is the whole list of personal data."""
    business = request.business
    filters = ClientFilters.from_querydict(request.GET)
    if filters.errors:
        return HttpResponseBadRequest("The export was not started: " + " ".join(filters.errors))
    audit_record(business=business, actor=request.user, action="clients.exported", filters=filters.to_dict())
    response = StreamingHttpResponse(_export_lines(business, filters), content_type="text/csv; charset=utf-8")
    name = f"clients-{business.slug}-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
