"""The owner's opening hours page: when clients can book online, and whether those bookings arrive confirmed."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse

from referrals_saas.tenancy import business_view
from widgets.models import OnlineBookingStatus
from widgets.selectors import widget_settings_for
from widgets.services import widget_online_booking_status_set

from .forms import add_errors
from .forms_hours import OpeningHoursForm
from .hours import opening_hours_of, opening_hours_set


@business_view(owner_only=True)
def opening_hours(request):
    business = request.business
    week = opening_hours_of(business=business)
    form = OpeningHoursForm(
        request.POST or None,
        week=week,
        status=widget_settings_for(business).online_booking_status,
        status_choices=OnlineBookingStatus.choices,
    )
    if request.method == "POST" and form.is_valid():
        try:
            # One transaction: the hours and the status are saved together or not at all.
            with transaction.atomic():
                opening_hours_set(business=business, week=form.cleaned_data["week"], actor=request.user)
                widget_online_booking_status_set(
                    business=business, status=form.cleaned_data["online_booking_status"], actor=request.user
                )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, "Opening hours saved. The booking widget offers these times from now on.")
            return redirect("businesses:opening_hours", business_slug=business.slug)
    context = {
        "form": form,
        "has_hours": any(week.values()),
        "widget_url": reverse("widget_public:book", args=[business.slug]),
        "active_section": "hours",
    }
    return render(request, "businesses/opening_hours.html", context, status=400 if request.method == "POST" else 200)
