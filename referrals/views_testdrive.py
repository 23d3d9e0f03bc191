"""The owner's test drive of the whole referral flow, and removing its test records (owner only)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from referrals_saas.tenancy import business_view

from .testdrive import program_test_drive, program_test_records_remove


@require_POST
@business_view(owner_only=True)
def test_drive(request):
    try:
        drive = program_test_drive(business=request.business, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("referrals:program", request.business.slug)
    return render(request, "referrals/test_drive.html", {"drive": drive, "active_section": "referrals"})


@require_POST
@business_view(owner_only=True)
def test_records_delete(request):
    removed = program_test_records_remove(business=request.business)
    if removed:
        messages.success(request, f"Removed the test records of {removed} test client{'s' if removed != 1 else ''}.")
    else:
        messages.info(request, "There were no test records to remove.")
    return redirect("referrals:program", request.business.slug)
