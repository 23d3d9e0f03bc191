"""Pages that sit above every app: the public front page, the health check, and the dashboard's entry points."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from businesses.services import memberships_of

from .tenancy import LAST_BUSINESS_SESSION_KEY


def home(request):
    if request.user.is_authenticated:
        return redirect("dashboard_home")
    return render(request, "home.html")


@never_cache
def healthz(request):
    """Liveness and database check; also the baseline view that the benchmarks compare against."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means "not healthy", whatever the driver raises
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


@login_required
def dashboard_home(request):
    """Send the user to the business they used last, or their first one, or to creating one."""
    memberships = memberships_of(request.user)
    if not memberships:
        return redirect("business_new")
    last = request.session.get(LAST_BUSINESS_SESSION_KEY)
    chosen = next((m for m in memberships if m.business.slug == last), memberships[0])
    return redirect("overview", business_slug=chosen.business.slug)


def section_not_ready(request, section_key: str, planned: list[str]):
    """An honest page for a section whose features have not been built yet: what it will hold, nothing fake."""
    from .sections import SECTIONS_BY_KEY

    context = {"section": SECTIONS_BY_KEY[section_key], "planned": planned, "active_section": section_key}
    return render(request, "dashboard/section_not_ready.html", context)
