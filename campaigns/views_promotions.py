"""Promotions in the dashboard: the list with each one's link and uses, create, edit and archive."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from businesses.forms import add_errors
from businesses.models import Service
from referrals_saas.tenancy import business_view

from . import promotions
from .forms_promotions import PromotionForm
from .models import Promotion


@business_view
def promotion_list(request):
    business = request.business
    rows = (
        Promotion.objects.filter(business=business)
        .select_related("business")  # the link and the dates read the business: once, not per row
        .prefetch_related(Prefetch("services", queryset=Service.objects.order_by("name")))
        .order_by("archived_at", "-created_at", "-id")
    )
    context = {
        "rows": [
            {
                "promotion": promotion,
                "offer": promotions.promotion_offer(promotion, business.currency),
                "link": promotions.promotion_link(promotion),
                "running": promotions.promotion_is_running(promotion),
            }
            for promotion in rows
        ],
        "active_section": "campaigns",
    }
    return render(request, "campaigns/promotions.html", context)


def _promotion_or_404(request, promotion_id: int) -> Promotion:
    return get_object_or_404(Promotion, business=request.business, pk=promotion_id)


def _form_page(request, form: PromotionForm, promotion: Promotion | None, status: int = 200):
    context = {"form": form, "promotion": promotion, "active_section": "campaigns"}
    return render(request, "campaigns/promotion_form.html", context, status=status)


@business_view(owner_only=True)
def promotion_new(request):
    business = request.business
    form = PromotionForm(request.POST or None, business=business)
    if request.method == "POST":
        if form.is_valid():
            try:
                promotion = promotions.promotion_create(
                    business=business, data=form.promotion_data(), actor=request.user
                )
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, f"{promotion.name} is saved. Share its link to let clients use it.")
                return redirect("campaigns:promotions", business_slug=business.slug)
        return _form_page(request, form, None, status=400)
    return _form_page(request, form, None)


@business_view(owner_only=True)
def promotion_edit(request, promotion_id: int):
    business = request.business
    promotion = _promotion_or_404(request, promotion_id)
    form = PromotionForm(request.POST or None, business=business, promotion=promotion)
    if request.method == "POST":
        if form.is_valid():
            try:
                promotion = promotions.promotion_update(
                    business=business, promotion=promotion, data=form.promotion_data(), actor=request.user
                )
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, f"{promotion.name} is saved. Bookings made before keep their discount.")
                return redirect("campaigns:promotions", business_slug=business.slug)
        return _form_page(request, form, promotion, status=400)
    return _form_page(request, form, promotion)


@require_POST
@business_view(owner_only=True)
def promotion_archive(request, promotion_id: int):
    promotion = promotions.promotion_archive(
        business=request.business, promotion=_promotion_or_404(request, promotion_id), actor=request.user
    )
    messages.success(request, f"{promotion.name} is stopped: its code and link no longer give a discount.")
    return redirect("campaigns:promotions", business_slug=request.business.slug)
