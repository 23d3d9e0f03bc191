"""The owner gives a client a new code or retires an old one (from the client's page)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from clients.models import Client
from referrals_saas.tenancy import business_view

from .codes import code_regenerate, code_retire
from .models import ReferralCode


@require_POST
@business_view(owner_only=True)
def code_regenerate_view(request, client_id: int):
    client = get_object_or_404(Client, business=request.business, pk=client_id, erased_at__isnull=True)
    code = code_regenerate(business=request.business, client=client)
    messages.success(
        request, f"{client.first_name}'s new code is {code.code}. The old code still works until you retire it."
    )
    return redirect("clients:detail", request.business.slug, client.pk)


@require_POST
@business_view(owner_only=True)
def code_retire_view(request, client_id: int, code_id: int):
    code = get_object_or_404(ReferralCode, business=request.business, client_id=client_id, pk=code_id)
    try:
        code_retire(business=request.business, code=code)
        messages.success(request, f"{code.code} is retired: links with it no longer attribute bookings.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("clients:detail", request.business.slug, client_id)
