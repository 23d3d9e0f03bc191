"""The staff's booking screens: the schedule, the list, the booking form and a booking's page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from businesses.forms import add_errors
from businesses.models import DomainEvent, Service
from clients.identity import display_phone
from clients.models import Client
from clients.params import clamp_day, day_in_range, parse_id
from clients.selectors import client_search as clients_matching
from referrals.models import Referral, ReferralSource, ReferralStatus
from referrals.services import ReferralClaim, booking_create_with_referral
from referrals_saas.tenancy import business_view

from . import selectors, services
from .forms import BookingFilterForm, BookingForm, PaymentRecordForm
from .models import Booking, BookingStatus, Payment, PaymentStatus

PAGE_SIZE = 25


@dataclass(frozen=True)
class Action:
    name: str
    status: str
    label: str
    verb: str
    danger: bool = False


ACTIONS = {
    "confirm": Action("confirm", BookingStatus.CONFIRMED, "Confirm", "Confirm"),
    "complete": Action("complete", BookingStatus.COMPLETED, "Complete", "Mark as completed"),
    "no_show": Action("no_show", BookingStatus.NO_SHOW, "No-show", "Mark as a no-show", danger=True),
    "cancel": Action("cancel", BookingStatus.CANCELLED, "Cancel", "Cancel", danger=True),
}
DONE_WORDS = {
    BookingStatus.CONFIRMED: "Booking confirmed.",
    BookingStatus.COMPLETED: "Visit completed.",
    BookingStatus.CANCELLED: "Booking cancelled.",
    BookingStatus.NO_SHOW: "Marked as a no-show.",
}
TARGETS = ("card", "row", "detail")


def _when(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local:%a} {local.day} {local:%b} at {local:%H:%M}"


def _present(booking: Booking) -> Booking:
    """Attach what the templates show beyond the row itself: the moves the booking allows now."""
    allowed = services.TRANSITIONS[booking.status]
    subject = f"{booking.client.full_name}’s {booking.service.name} on {_when(booking.starts_at)}"
    booking.available_actions = [
        {
            "name": action.name,
            "label": action.label,
            "danger": action.danger,
            "description": f"{action.verb} {subject}",
            "question": f"{action.verb} {subject}?",
        }
        for action in ACTIONS.values()
        if action.status in allowed
    ]
    return booking


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def _parse_day(raw: str | None) -> date:
    """The day in `raw` (YYYY-MM-DD), clamped to the range where a week's arithmetic cannot overflow; today
    if there is none."""
    try:
        return clamp_day(date.fromisoformat(raw)) if raw else timezone.localdate()
    except ValueError:
        return timezone.localdate()


@business_view
def index(request):
    """The schedule: one day (default: today in the business's time zone) or the week around it."""
    business = request.business
    view = "week" if request.GET.get("view") == "week" else "day"
    anchor = _parse_day(request.GET.get("date"))
    if view == "week":
        start, length, step = anchor - timedelta(days=anchor.weekday()), 7, 7
    else:
        start, length, step = anchor, 1, 1
    days = selectors.schedule(business=business, start=start, days=length)
    for day in days:
        for booking in day.bookings:
            _present(booking)
    context = {
        "view": view,
        "anchor": anchor,
        "start": start,
        "end": start + timedelta(days=length - 1),
        "days": days,
        "booking_count": sum(len(day.bookings) for day in days),
        "new_client_count": sum(1 for day in days for b in day.bookings if b.is_first_booking),
        "previous": start - timedelta(days=step),
        "next": start + timedelta(days=step),
        "today": timezone.localdate(),
        "has_services": Service.objects.filter(business=business, is_active=True).exists(),
        "active_section": "bookings",
    }
    return render(request, "bookings/index.html", context)


@business_view
def booking_list(request):
    business = request.business
    form = BookingFilterForm(request.GET or None, business=business)
    filters = form.filters() if request.GET else selectors.BookingFilters()
    page = Paginator(selectors.booking_list(business=business, filters=filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for booking in page.object_list:
        _present(booking)
    context = {
        "form": form,
        "page": page,
        "filtered": filters != selectors.BookingFilters(),
        "active_section": "bookings",
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "bookings/list.html#results", context)
    return render(request, "bookings/list.html", context)


def _initial_booking_values(request) -> dict:
    now = timezone.localtime()
    initial: dict = {"date": _parse_day(request.GET.get("date"))}
    raw_time = request.GET.get("time", "")
    try:
        initial["time"] = datetime.strptime(raw_time, "%H:%M").time()
    except ValueError:
        # The next quarter hour, a sensible default for a walk-in or a call.
        minutes = (now.minute // 15 + 1) * 15
        initial["time"] = (now.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=minutes)).time()
    return initial


@business_view
def booking_new(request):
    business = request.business
    if request.method == "POST":
        form = BookingForm(request.POST, business=business)
    else:
        form = BookingForm(initial=_initial_booking_values(request), business=business)
        client_id = parse_id(request.GET.get("client"))
        if client_id is not None:
            form.chosen_client = Client.objects.filter(business=business, pk=client_id, erased_at__isnull=True).first()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {
            "service": data["service"],
            "starts_at": form.starts_at(),
            "actor": request.user,
            "status": data["status"],
            "notes": data["notes"],
            "heard_about": data["heard_about"].strip(),
        }
        new_client = data["client_mode"] == BookingForm.NEW
        try:
            booking = booking_create_with_referral(
                business=business,
                client=form.client_data() if new_client else form.chosen_client,
                claim=ReferralClaim(code=data["referral_code"], source=ReferralSource.CODE),
                coupon_code=data["coupon_code"],
                promotion_code=data["promotion_code"],
                **fields,
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            messages.success(request, f"{booking.service.name} booked for {booking.client.full_name}.")
            if data["referral_code"].strip():
                _referral_message(request, booking)
            clashes = selectors.overlapping_bookings(
                business=business, starts_at=booking.starts_at, ends_at=booking.ends_at, exclude_pk=booking.pk
            )
            if clashes:
                messages.warning(request, _clash_message(clashes))
            return redirect("bookings:detail", business_slug=business.slug, booking_id=booking.pk)
    context = {
        "form": form,
        "has_services": form.fields["service"].queryset.exists(),
        "active_section": "bookings",
    }
    return render(request, "bookings/form.html", context, status=400 if request.method == "POST" else 200)


def _referral_message(request, booking: Booking) -> None:
    """Tell staff at once what the typed referral code did, so they can tell the client."""
    referral = Referral.objects.filter(business=booking.business, booking=booking).first()
    if referral is None:
        messages.warning(
            request, "No referral discount: that code is unknown or retired, or it is this client's own code."
        )
    elif referral.status == ReferralStatus.INELIGIBLE:
        messages.warning(request, f"No referral discount: {referral.reason}")
    elif referral.status == ReferralStatus.FLAGGED:
        messages.warning(request, "Referral recorded with its discount, and flagged for the owner's review.")
    else:
        messages.info(request, f"Referred by {referral.referrer.full_name}: the new client's discount is applied.")


def _clash_message(clashes: list[Booking]) -> str:
    names = "; ".join(
        f"{b.client.full_name}, {b.service.name} at {timezone.localtime(b.starts_at):%H:%M}" for b in clashes
    )
    return f"This time overlaps another booking: {names}."


@require_GET
@business_view
def client_search(request):
    """Suggestions for the booking form's client search (at most ten), as a partial."""
    query = (request.GET.get("q") or request.GET.get("client_query") or "").strip()[:100]
    clients = clients_matching(business=request.business, q=query, limit=selectors.CLIENT_SUGGESTIONS)
    return render(request, "bookings/_client_suggestions.html", {"clients": clients, "query": query})


@require_GET
@business_view
def slot_check(request):
    """Warns the booking form when the chosen time overlaps another booking. Warns only: staff decide."""
    business = request.business
    clashes: list[Booking] = []
    service_id = parse_id(request.GET.get("service"))
    try:
        day = date.fromisoformat(request.GET.get("date", ""))
        at = datetime.strptime(request.GET.get("time", ""), "%H:%M").time()
    except ValueError:
        day = at = None
    if day is not None and not day_in_range(day):
        day = None  # the booking form refuses this date itself; there is nothing to overlap
    service = Service.objects.filter(business=business, pk=service_id).first() if service_id else None
    if service is not None and day is not None and at is not None:
        starts_at = timezone.make_aware(datetime.combine(day, at))
        clashes = selectors.overlapping_bookings(
            business=business, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=service.duration_minutes)
        )
    for booking in clashes:
        _present(booking)
    return render(request, "bookings/form.html#slot_check", {"clashes": clashes})


def _detail_context(request, booking: Booking, **extra) -> dict:
    _present(booking)
    payments = list(booking.payments.all())
    discounts = list(booking.discounts.all())
    paid = sum(p.amount for p in payments if p.status == PaymentStatus.PAID)
    due = sum(p.amount for p in payments if p.status == PaymentStatus.DUE)
    payable = booking.status not in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW)
    return {
        "booking": booking,
        "payments": payments,
        "discounts": discounts,
        "referral": Referral.objects.filter(business=booking.business, booking=booking)
        .select_related("referrer")
        .first(),
        # A code that was refused without a referral row (unknown, retired, the client's own): say why.
        "referral_refused": DomainEvent.objects.filter(
            business=booking.business, kind="referral.refused", subject_type="bookings.Booking", subject_id=booking.pk
        )
        .values_list("payload__reason", flat=True)
        .first(),
        "events": list(booking.events.all()),
        "client_phone": display_phone(booking.client.phone),
        "paid": paid,
        "due": due,
        "payable": payable,
        "payment_form": PaymentRecordForm(),
        "target": "detail",
        "active_section": "bookings",
        **extra,
    }


def _load(request, booking_id: int) -> Booking:
    booking = selectors.booking_detail(business=request.business, booking_id=booking_id)
    if booking is None:
        raise Http404("No such booking")
    return booking


@business_view
def booking_detail(request, booking_id: int):
    booking = _load(request, booking_id)
    return render(request, "bookings/detail.html", _detail_context(request, booking))


@require_POST
@business_view
def transition(request, booking_id: int, action: str):
    """Confirm, complete, cancel or mark a no-show. An illegal move answers 409 with the reason, never a 500."""
    if action not in ACTIONS:
        raise Http404("No such action")
    business = request.business
    booking = get_object_or_404(Booking, business=business, pk=booking_id)
    to_status = ACTIONS[action].status
    error = None
    try:
        services.booking_transition(business=business, booking=booking, to_status=to_status, actor=request.user)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    status = 409 if error else 200
    if request.htmx:
        target = request.POST.get("target")
        target = target if target in TARGETS else "card"
        feedback = {"error": error, "done": None if error else DONE_WORDS[to_status]}
        booking = _load(request, booking.pk)
        if target == "detail":
            context = _detail_context(request, booking, **feedback)
            return render(request, "bookings/detail.html#booking", context, status=status)
        context = {"booking": _present(booking), "target": target, **feedback}
        return render(request, f"bookings/_booking.html#{target}", context, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, DONE_WORDS[to_status])
    fallback = reverse("bookings:detail", kwargs={"business_slug": business.slug, "booking_id": booking.pk})
    return redirect(_safe_next(request, fallback))


@require_POST
@business_view
def payment_record(request, booking_id: int, payment_id: int):
    """Record a scheduled payment as paid (cash, card, other). Recording it twice changes nothing."""
    business = request.business
    booking = get_object_or_404(Booking, business=business, pk=booking_id)
    payment = get_object_or_404(Payment, business=business, booking=booking, pk=payment_id)
    form = PaymentRecordForm(request.POST)
    error, status = None, 200
    if not form.is_valid():
        error, status = "Choose how it was paid: cash, card or other.", 400
    else:
        try:
            services.payment_record(
                business=business, payment=payment, method=form.cleaned_data["method"], actor=request.user
            )
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 409
    done = None if error else f"Payment {payment.sequence} recorded."
    if request.htmx:
        context = _detail_context(request, _load(request, booking.pk), payment_error=error, payment_done=done)
        return render(request, "bookings/detail.html#payments", context, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect("bookings:detail", business_slug=business.slug, booking_id=booking.pk)
