"""The owner's API keys page: create a key (shown once), see when each was last used, revoke one."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from referrals_saas.tenancy import business_view

from .api_keys import NAME_MAX, api_key_create, api_key_revoke
from .forms import add_errors
from .models import APIKeyScope, BusinessAPIKey


class APIKeyForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX, help_text="The system that will use it, e.g. “Booking system”.")
    scope = forms.ChoiceField(
        choices=APIKeyScope.choices,
        initial=APIKeyScope.READ,
        widget=forms.RadioSelect,
        label="Access",
        help_text="A read-only key can look things up; a read-and-write key can also create and change them.",
    )


def _page(request, form=None, new_key: str = "", status: int = 200):
    keys = BusinessAPIKey.objects.filter(business=request.business).select_related("created_by").order_by("-created")
    context = {
        "keys": keys,
        "form": form or APIKeyForm(),
        "new_key": new_key,
        "active_section": "settings",
    }
    return render(request, "businesses/api_keys.html", context, status=status)


@business_view(owner_only=True)
def api_keys(request):
    if request.method != "POST":
        return _page(request)
    form = APIKeyForm(request.POST)
    if form.is_valid():
        try:
            key, raw = api_key_create(
                business=request.business,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                actor=request.user,
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            # Rendered, not redirected: the whole key exists only in this response.
            messages.success(request, f"API key “{key.name}” created. Copy it now: it will not be shown again.")
            return _page(request, new_key=raw)
    return _page(request, form=form, status=400)


@require_POST
@business_view(owner_only=True)
def api_key_revoke_view(request, key_prefix: str):
    key = get_object_or_404(BusinessAPIKey, business=request.business, prefix=key_prefix)
    api_key_revoke(business=request.business, key=key, actor=request.user)
    messages.success(request, f"API key “{key.name}” revoked. Requests with it are refused from now on.")
    return redirect("businesses:api_keys", business_slug=request.business.slug)
