"""Webhooks in the dashboard (owner only): endpoints, their signing secret, a test event, and each endpoint's
deliveries with their attempts and a resend."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from businesses.forms import add_errors
from clients.params import parse_id
from referrals_saas.tenancy import business_view

from . import webhooks
from .forms_webhooks import WebhookEndpointForm
from .models import MessageStatus, WebhookDelivery, WebhookEndpoint

LOG_PAGE = 50


def _endpoint_or_404(request, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, business=request.business, pk=endpoint_id)


def _delivery_or_404(request, endpoint: WebhookEndpoint, delivery_id: int) -> WebhookDelivery:
    return get_object_or_404(WebhookDelivery, business=request.business, endpoint=endpoint, pk=delivery_id)


def _to_endpoint(request, endpoint: WebhookEndpoint):
    return redirect("campaigns:webhook", business_slug=request.business.slug, endpoint_id=endpoint.pk)


@business_view(owner_only=True)
def webhook_list(request):
    endpoints = WebhookEndpoint.objects.filter(business=request.business).annotate(
        failed=Count("deliveries", filter=Q(deliveries__status=MessageStatus.FAILED)),
        queued=Count("deliveries", filter=Q(deliveries__status=MessageStatus.QUEUED)),
    )
    context = {"endpoints": endpoints, "max_endpoints": webhooks.MAX_ENDPOINTS, "active_section": "campaigns"}
    return render(request, "campaigns/webhook_list.html", context)


def _form_page(request, form: WebhookEndpointForm, endpoint: WebhookEndpoint | None, status: int = 200):
    context = {"form": form, "endpoint": endpoint, "active_section": "campaigns"}
    return render(request, "campaigns/webhook_form.html", context, status=status)


@business_view(owner_only=True)
def webhook_new(request):
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                endpoint = webhooks.endpoint_create(business=request.business, data=form.endpoint_data())
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, "The endpoint is saved. Copy its signing secret into your receiver.")
                return _to_endpoint(request, endpoint)
        return _form_page(request, form, None, status=400)
    return _form_page(request, form, None)


@business_view(owner_only=True)
def webhook_edit(request, endpoint_id: int):
    endpoint = _endpoint_or_404(request, endpoint_id)
    form = WebhookEndpointForm(request.POST or None, endpoint=endpoint)
    if request.method == "POST":
        if form.is_valid():
            try:
                endpoint = webhooks.endpoint_update(
                    business=request.business, endpoint=endpoint, data=form.endpoint_data()
                )
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, "The endpoint is saved.")
                return _to_endpoint(request, endpoint)
        return _form_page(request, form, endpoint, status=400)
    return _form_page(request, form, endpoint)


@business_view(owner_only=True)
def webhook_detail(request, endpoint_id: int):
    """The endpoint, its secrets, and its deliveries newest first, paged by keyset (`?before=<id>`)."""
    endpoint = _endpoint_or_404(request, endpoint_id)
    rows = WebhookDelivery.objects.filter(business=request.business, endpoint=endpoint).order_by("-id")
    before = parse_id(request.GET.get("before"))
    if before:
        rows = rows.filter(pk__lt=before)
    deliveries = list(rows[: LOG_PAGE + 1])
    context = {
        "endpoint": endpoint,
        "secrets": endpoint.secrets(),
        "deliveries": deliveries[:LOG_PAGE],
        "next_before": deliveries[LOG_PAGE - 1].pk if len(deliveries) > LOG_PAGE else None,
        "active_section": "campaigns",
    }
    return render(request, "campaigns/webhook_detail.html", context)


@business_view(owner_only=True)
def webhook_delivery(request, endpoint_id: int, delivery_id: int):
    endpoint = _endpoint_or_404(request, endpoint_id)
    delivery = _delivery_or_404(request, endpoint, delivery_id)
    context = {
        "endpoint": endpoint,
        "delivery": delivery,
        "payload_json": json.dumps(delivery.payload, indent=2, ensure_ascii=False),
        "active_section": "campaigns",
    }
    return render(request, "campaigns/webhook_delivery.html", context)


@business_view(owner_only=True)
@require_POST
def webhook_rotate(request, endpoint_id: int):
    webhooks.endpoint_rotate_secret(business=request.business, endpoint=_endpoint_or_404(request, endpoint_id))
    messages.success(request, "A new secret signs from now on; the previous one also signs for 24 hours.")
    return _to_endpoint(request, _endpoint_or_404(request, endpoint_id))


@business_view(owner_only=True)
@require_POST
def webhook_toggle(request, endpoint_id: int):
    enable = request.POST.get("enabled") == "1"
    endpoint = webhooks.endpoint_set_enabled(
        business=request.business, endpoint=_endpoint_or_404(request, endpoint_id), enabled=enable
    )
    messages.success(request, "The endpoint is enabled." if enable else "The endpoint is disabled.")
    return _to_endpoint(request, endpoint)


@business_view(owner_only=True)
@require_POST
def webhook_test(request, endpoint_id: int):
    endpoint = _endpoint_or_404(request, endpoint_id)
    try:
        webhooks.endpoint_send_test(business=request.business, endpoint=endpoint)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "A webhook.test event is on its way; its delivery is at the top of the log.")
    return _to_endpoint(request, endpoint)


@business_view(owner_only=True)
@require_POST
def webhook_delete(request, endpoint_id: int):
    endpoint = _endpoint_or_404(request, endpoint_id)
    webhooks.endpoint_delete(business=request.business, endpoint=endpoint)
    messages.success(request, f"The endpoint {endpoint.url} and its deliveries log are deleted.")
    return redirect("campaigns:webhooks", business_slug=request.business.slug)


@business_view(owner_only=True)
@require_POST
def webhook_resend(request, endpoint_id: int, delivery_id: int):
    endpoint = _endpoint_or_404(request, endpoint_id)
    delivery = _delivery_or_404(request, endpoint, delivery_id)
    try:
        webhooks.delivery_resend(business=request.business, delivery=delivery)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{delivery.event_type} {delivery.event_id} is queued to be sent again.")
    return redirect(
        "campaigns:webhook_delivery",
        business_slug=request.business.slug,
        endpoint_id=endpoint.pk,
        delivery_id=delivery.pk,
    )
