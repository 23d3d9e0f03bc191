"""The catalog of services and programmes: everyone on the team sees it, the owner changes it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from businesses.forms import add_errors
from referrals_saas.tenancy import business_view

from . import catalog
from .forms_services import ServiceForm
from .models import Service

TABS = ("active", "archived")


@business_view
def index(request):
    business = request.business
    tab = request.GET.get("tab")
    tab = tab if tab in TABS else "active"
    counts = Service.objects.filter(business=business).aggregate(
        active=Count("pk", filter=Q(is_active=True)), archived=Count("pk", filter=Q(is_active=False))
    )
    services = list(Service.objects.filter(business=business, is_active=(tab == "active")).order_by("name"))
    context = {
        "services": services,
        "tab": tab,
        "counts": counts,
        "can_manage": request.membership.is_owner,
        "active_section": "services",
    }
    return render(request, "businesses/services.html", context)


def _form_page(request, form: ServiceForm, service: Service | None, status: int = 200):
    context = {"form": form, "service": service, "active_section": "services"}
    return render(request, "businesses/services_form.html", context, status=status)


@business_view(owner_only=True)
def new(request):
    business = request.business
    form = ServiceForm(request.POST or None, currency=business.currency)
    if request.method == "POST":
        if form.is_valid():
            try:
                service = catalog.service_create(business=business, data=form.service_data(), actor=request.user)
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, f"{service.name} was added to your services.")
                return redirect("services:index", business_slug=business.slug)
        return _form_page(request, form, None, status=400)
    return _form_page(request, form, None)


@business_view(owner_only=True)
def edit(request, service_id: int):
    business = request.business
    service = get_object_or_404(Service, business=business, pk=service_id)
    form = ServiceForm(request.POST or None, currency=business.currency, service=service)
    if request.method == "POST":
        if form.is_valid():
            try:
                service = catalog.service_update(
                    business=business, service=service, data=form.service_data(), actor=request.user
                )
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, f"{service.name} was saved. Bookings made before keep their price.")
                tab = "active" if service.is_active else "archived"
                return redirect(f"{_index_url(business)}?tab={tab}")
        return _form_page(request, form, service, status=400)
    return _form_page(request, form, service)


def _index_url(business) -> str:
    return reverse("services:index", kwargs={"business_slug": business.slug})


@require_POST
@business_view(owner_only=True)
def archive(request, service_id: int):
    """Archive or restore. The form says which, so a double submit cannot undo itself."""
    business = request.business
    service = get_object_or_404(Service, business=business, pk=service_id)
    wanted = request.POST.get("archived")
    archived = (wanted == "1") if wanted in ("0", "1") else service.is_active
    service = catalog.service_archive(business=business, service=service, actor=request.user, archived=archived)
    if archived:
        messages.success(
            request, f"{service.name} was archived: it can no longer be booked. Bookings stay as they are."
        )
    else:
        messages.success(request, f"{service.name} was restored and can be booked again.")
    return redirect(f"{_index_url(business)}?tab={'active' if archived else 'archived'}")
