from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from referrals_saas.tenancy import business_view

from . import services
from .forms import (
    BusinessFieldsForm,
    BusinessSettingsForm,
    InvitationForm,
    InvitationSignupForm,
    RoleForm,
    add_errors,
)
from .models import Invitation, Membership


@login_required
def business_new(request):
    form = BusinessFieldsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            business = services.business_create(owner=request.user, **form.business_fields())
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, f"{business.name} is ready. Let's set up your referral program.")
            return redirect("overview", business_slug=business.slug)
    return render(request, "businesses/business_new.html", {"form": form})


@business_view(owner_only=True)
def settings_page(request):
    business = request.business
    form = BusinessSettingsForm(request.POST or None, instance=business)
    if request.method == "POST" and form.is_valid():
        services.business_update(business=business, actor=request.user, **form.cleaned_data)
        messages.success(request, "Business details saved.")
        return redirect("businesses:settings", business_slug=business.slug)
    return render(request, "businesses/settings.html", {"form": form, "active_section": "settings"})


def _team_context(request, invite_form=None) -> dict:
    business = request.business
    return {
        "members": Membership.objects.filter(business=business).select_related("user").order_by("created_at"),
        "invitations": Invitation.objects.filter(business=business, accepted_at__isnull=True),
        "invite_form": invite_form or InvitationForm(),
        "role_form": RoleForm(),
        "active_section": "settings",
    }


@business_view(owner_only=True)
def team(request):
    return render(request, "businesses/team.html", _team_context(request))


@require_POST
@business_view(owner_only=True)
def invite(request):
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation, _ = services.invitation_create(
                business=request.business,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("businesses:team", business_slug=request.business.slug)
    return render(request, "businesses/team.html", _team_context(request, invite_form=form), status=400)


@require_POST
@business_view(owner_only=True)
def invitation_revoke(request, invitation_id: int):
    invitation = get_object_or_404(Invitation, business=request.business, pk=invitation_id, accepted_at__isnull=True)
    services.invitation_revoke(business=request.business, invitation=invitation, actor=request.user)
    messages.success(request, f"The invitation for {invitation.email} was revoked.")
    return redirect("businesses:team", business_slug=request.business.slug)


@require_POST
@business_view(owner_only=True)
def member_role(request, membership_id: int):
    membership = get_object_or_404(Membership, business=request.business, pk=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose owner or staff.")
    else:
        try:
            services.membership_change_role(
                business=request.business,
                membership=membership,
                role=form.cleaned_data["role"],
                actor=request.user,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{membership.user} is now {form.cleaned_data['role']}.")
    return redirect("businesses:team", business_slug=request.business.slug)


@require_POST
@business_view(owner_only=True)
def member_remove(request, membership_id: int):
    membership = get_object_or_404(Membership, business=request.business, pk=membership_id)
    try:
        services.membership_remove(business=request.business, membership=membership, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{membership.user} no longer has access to {request.business.name}.")
        if membership.user_id == request.user.id:
            return redirect("dashboard_home")
    return redirect("businesses:team", business_slug=request.business.slug)


def invitation_accept(request, token: str):
    """The page an invitation e-mail links to: join as the signed-in user, or create an account first."""
    invitation = services.invitation_by_token(token)
    problem = services.invitation_problem(invitation)
    if problem:
        return render(request, "businesses/invitation_problem.html", {"problem": problem}, status=410)
    user = request.user if request.user.is_authenticated else None
    account_exists = user is None and services.User.objects.filter(email__iexact=invitation.email).exists()
    signup_form = None
    if user is None and not account_exists:
        signup_form = InvitationSignupForm(request.POST or None, email=invitation.email)
    if request.method == "POST":
        try:
            if user is not None:
                membership = services.invitation_accept(token=token, user=user)
            elif signup_form is not None and signup_form.is_valid():
                data = signup_form.cleaned_data
                membership = services.invitation_accept_as_new_user(
                    token=token,
                    password=data["password1"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                )
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            else:
                membership = None
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            membership = None
        if membership is not None:
            messages.success(request, f"Welcome to {membership.business.name}!")
            return redirect("overview", business_slug=membership.business.slug)
    context = {
        "invitation": invitation,
        "signup_form": signup_form,
        "account_exists": account_exists,
        "wrong_user": user is not None and user.email.lower() != invitation.email.lower(),
    }
    return render(
        request, "businesses/invitation_accept.html", context, status=400 if request.method == "POST" else 200
    )
