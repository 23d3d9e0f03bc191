"""The widget's booking flow, /w/<business_slug>/book/…: service → time → details → summary → confirm → booked.

The widget lives in a cross-site iframe where cookies may be blocked, so the flow keeps no session and needs no
CSRF cookie: its state travels in each request (query parameters on the GET steps, hidden fields on the POST
ones), the POST views are protected by a signed, time-limited form token instead (widgets.booking_flow), and the
confirmation by a per-IP rate limit. `ref`, `ref_t` (the referral link) and `promo` ride along unchanged.
Every step also works without JavaScript; htmx only swaps the day's times and the referrer search in place.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import wraps
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from bookings.availability import booking_window, free_slots, is_free
from bookings.models import Booking, BookingStatus
from bookings.stripe_payments import payment_button_context
from businesses.forms import add_errors
from businesses.hours import opening_hours_of
from businesses.models import Business, Service, Weekday
from businesses.money import format_money
from campaigns.promotions import promotion_banner
from clients.identity import display_phone
from clients.params import parse_id
from referrals.codes import click_time_from
from referrals.models import ReferralSource
from referrals.selectors import referrer_candidates
from referrals.services import ReferralClaim, sighting_hashes
from referrals_saas.ratelimit import client_ip

from . import booking_flow as flow
from .forms_booking import DetailsForm
from .online_booking import OnlinePrice, SlotTaken, online_booking_create, online_price
from .views_public import public_business_view, referral_banner

STEPS = [
    ("service", gettext_lazy("Service")),
    ("time", gettext_lazy("Time")),
    ("details", gettext_lazy("Your details")),
    ("summary", gettext_lazy("Confirm")),
]
STEP_KEYS = [key for key, _label in STEPS]
# The details a summary or a "time was taken" page posts on, as hidden fields.
DETAIL_FIELDS = ("first_name", "last_name", "email", "phone", "notes", "heard_about", "marketing_consent", "code")


class FlowProblem(Exception):
    """Bad or stale input: answered with a plain page and a 4xx status; nothing is written."""

    def __init__(self, status: int, title: str, message: str, back_url: str = "", back_label: str = ""):
        super().__init__(title)
        self.status, self.title, self.message = status, title, message
        self.back_url, self.back_label = back_url, back_label


def widget_view(*methods: str):
    """A page of the flow: the business from the URL, framable (the framing middleware says by whom), never
    cached, exempt from the CSRF cookie check (the form token stands in), a FlowProblem shown as a plain page."""

    def decorate(view):
        @wraps(view)
        def run(request, business: Business, *args, **kwargs):
            try:
                return view(request, business, *args, **kwargs)
            except FlowProblem as problem:
                back_url = problem.back_url or flow.step_url(business, "book", **_carried(request))
                context = {
                    "business": business,
                    "title": problem.title,
                    "message": problem.message,
                    "back_url": back_url,
                    "back_label": problem.back_label or _("Start again"),
                }
                return render(request, "widgets/book/problem.html", context, status=problem.status)

        guarded = require_http_methods(list(methods))(public_business_view(run))
        return csrf_exempt(xframe_options_exempt(never_cache(guarded)))

    return decorate


# --- Reading the request ------------------------------------------------------------------------------------------


def _params(request):
    return request.POST if request.method == "POST" else request.GET


def _carried(request) -> dict[str, str]:
    return flow.carried(_params(request))


def _service(business: Business, raw) -> Service:
    service_id = parse_id(raw)
    if service_id is None:
        raise FlowProblem(400, _("Choose a service"), _("This link does not name a service. Choose one from the list."))
    service = Service.objects.filter(business=business, pk=service_id, is_active=True, online_bookable=True).first()
    if service is None:
        raise FlowProblem(
            404,
            _("This service cannot be booked online"),
            _("It may have been renamed or taken off the list. Choose a service from the list."),
        )
    return service


def _start(business: Business, service: Service, raw, carry: dict) -> datetime:
    start = flow.parse_start(raw)
    if start is None:
        raise FlowProblem(
            400,
            _("Choose a time"),
            _("This link does not name a time. Choose one from the free times."),
            flow.step_url(business, "book_time", service=service.pk, **carry),
            _("See the free times"),
        )
    return start


def _not_free(business: Business, service: Service, start: datetime, carry: dict) -> FlowProblem:
    day = timezone.localdate(start)
    return FlowProblem(
        409,
        _("That time is not free"),
        _("It may have just been taken, or it is not a time we offer. Please choose another time."),
        flow.step_url(business, "book_time", service=service.pk, day=day.isoformat(), **carry),
        _("See the free times"),
    )


def _checked_token(request, business: Business) -> tuple[str, str]:
    """The form token and its nonce, or the "this page expired" problem (a forged token reads the same)."""
    token = request.POST.get("token", "")
    nonce = flow.form_token_nonce(business, token)
    if nonce is None:
        raise FlowProblem(
            400,
            _("This page expired"),
            _("Booking pages stay valid for two hours. Please start again; nothing was booked."),
        )
    return token, nonce


def _claim(request, business: Business, carry: dict, form: DetailsForm) -> ReferralClaim:
    """What may make this booking a referral: a typed code first (the client chose it), then the link's code,
    then a referrer the client named. Every claim carries the device's keyed fingerprint for fraud checks."""
    fingerprint = sighting_hashes(
        business=business,
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:500],
    )
    code = form.cleaned_data.get("code", "")
    if code:
        return ReferralClaim(code=code, source=ReferralSource.CODE, fingerprint=fingerprint)
    if carry.get("ref"):
        clicked_at = click_time_from(carry["ref"], carry.get("ref_t", ""))
        return ReferralClaim(
            code=carry["ref"], source=ReferralSource.LINK, clicked_at=clicked_at, fingerprint=fingerprint
        )
    if form.named_referrer is not None:
        return ReferralClaim(referrer=form.named_referrer, source=ReferralSource.NAMED, fingerprint=fingerprint)
    return ReferralClaim(fingerprint=fingerprint)


# --- What every page shows ----------------------------------------------------------------------------------------


def _page(request, business: Business, template: str, step: str, carry: dict, status: int = 200, **context):
    base = {
        "business": business,
        "promo_banner": promotion_banner(business=business, code=carry.get("promo", "")),
        "steps": STEPS,
        "step": step,
        "step_index": STEP_KEYS.index(step),
        "carry": carry,
    }
    return render(request, template, {**base, **context}, status=status)


def _banner(business: Business, carry: dict, service: Service) -> dict | None:
    """The landing page's referral banner, with the new client's offer on this one service."""
    return referral_banner(business, carry.get("ref", ""), [service])


def _hidden(service: Service, start: datetime | None, carry: dict, token: str = "", details: dict | None = None):
    pairs = [("service", service.pk)]
    if start is not None:
        pairs.append(("start", flow.start_param(start)))
    pairs += list(carry.items())
    if token:
        pairs.append(("token", token))
    for name, value in (details or {}).items():
        pairs.append((name, value))
    return pairs


def _detail_values(form: DetailsForm) -> dict:
    """A valid form's details as hidden fields: what the next POST re-reads and checks again."""
    data = form.cleaned_data
    values = {name: data.get(name, "") for name in DETAIL_FIELDS}
    values["marketing_consent"] = "on" if data.get("marketing_consent") else ""
    if data.get("referrer"):
        values["referrer"] = data["referrer"]
    return {name: value for name, value in values.items() if value}


def _slot_buttons(starts: list[datetime]) -> list[dict]:
    return [
        {"label": timezone.localtime(start).strftime("%H:%M"), "value": flow.start_param(start)} for start in starts
    ]


# --- Step 1: the service ------------------------------------------------------------------------------------------


@widget_view("GET", "HEAD")
def services(request, business: Business):
    carry = _carried(request)
    rows = list(Service.objects.filter(business=business, is_active=True, online_bookable=True).order_by("name", "id"))
    week = opening_hours_of(business=business)
    context = {
        "services": [
            {
                "service": service,
                "price": format_money(service.price, business.currency),
                "url": flow.step_url(business, "book_time", service=service.pk, **carry),
            }
            for service in rows
        ],
        "bookable": bool(rows) and any(week.values()),
        "banner": referral_banner(business, carry.get("ref", ""), rows),
    }
    return _page(request, business, "widgets/book/services.html", "service", carry, **context)


# --- Step 2: the time ---------------------------------------------------------------------------------------------


@widget_view("GET", "HEAD")
def time_step(request, business: Business):
    carry = _carried(request)
    service = _service(business, request.GET.get("service"))
    week = opening_hours_of(business=business)
    if not any(week.values()):
        raise FlowProblem(
            409,
            _("%(name)s cannot be booked online yet") % {"name": business.name},
            _("Please contact %(name)s directly to book.") % {"name": business.name},
        )
    window = booking_window(zone=ZoneInfo(business.time_zone))
    time_url = flow.step_url(business, "book_time", service=service.pk, **carry)
    raw_day = request.GET.get("day")
    day = None
    if raw_day:
        day = flow.parse_day(raw_day)
        if day is None or not window.contains(day):
            raise FlowProblem(
                400,
                _("Choose another day"),
                _("Bookings can be made for the days from %(first)s to %(last)s.")
                % {"first": window.first_day.strftime("%d %b %Y"), "last": window.last_day.strftime("%d %b %Y")},
                time_url,
                _("See the free times"),
            )
    # Pages of seven days from today; the one shown holds the chosen day.
    page_start = window.first_day + timedelta(days=((day or window.first_day) - window.first_day).days // 7 * 7)
    length = min(7, (window.last_day - page_start).days + 1)
    slots = free_slots(business=business, service=service, start=page_start, days=length, week=week)
    status, notice = 200, ""
    if day is None:
        day = next((candidate for candidate, starts in slots.items() if starts), page_start)
        if not slots[day]:
            notice = _("No free times in these seven days. Please look at the later days.")
    elif not week[day.weekday()]:
        # Only a hand-made link asks for a closed day: the day strip never links one.
        status = 400
        notice = _("We are closed on %(weekday)s. Please choose another day.") % {
            "weekday": Weekday(day.weekday()).label
        }
    elif not slots[day]:
        notice = _("No free times left on this day. Please choose another day.")
    previous_start = page_start - timedelta(days=7)
    next_start = page_start + timedelta(days=7)
    context = {
        "service": service,
        "banner": _banner(business, carry, service),
        "day": day,
        "days": [
            {
                "day": candidate,
                "has_slots": bool(starts),
                "closed": not week[candidate.weekday()],
                "selected": candidate == day,
                "url": flow.step_url(business, "book_time", service=service.pk, day=candidate.isoformat(), **carry),
            }
            for candidate, starts in slots.items()
        ],
        "slots": _slot_buttons(slots[day]),
        "notice": notice,
        "hidden": _hidden(service, None, carry),
        "details_action": flow.step_url(business, "book_details"),
        "back_url": flow.step_url(business, "book", **carry),
        "previous_url": flow.step_url(
            business, "book_time", service=service.pk, day=previous_start.isoformat(), **carry
        )
        if previous_start >= window.first_day
        else "",
        "next_url": flow.step_url(business, "book_time", service=service.pk, day=next_start.isoformat(), **carry)
        if next_start <= window.last_day
        else "",
    }
    template = "widgets/book/time.html#time_step" if request.htmx else "widgets/book/time.html"
    return _page(request, business, template, "time", carry, status=status, **context)


# --- Step 3: details; its POST shows the summary --------------------------------------------------------------------


@widget_view("GET", "HEAD", "POST")
def details(request, business: Business):
    carry = _carried(request)
    params = _params(request)
    token = _checked_token(request, business)[0] if request.method == "POST" else flow.form_token(business)
    service = _service(business, params.get("service"))
    start = _start(business, service, params.get("start"), carry)
    if request.method != "POST":
        if not is_free(business=business, service=service, starts_at=start):
            raise _not_free(business, service, start, carry)
        return _details_page(request, business, service, start, carry, token, DetailsForm(business=business))
    action = request.POST.get("action", "")
    if action in ("edit", "find_referrer"):
        # Back from the summary, or the referrer search without JavaScript: the details as typed, no errors yet.
        form = DetailsForm(initial=request.POST.dict(), business=business)
        search = action == "find_referrer"
        return _details_page(request, business, service, start, carry, token, form, search=search)
    form = DetailsForm(request.POST, business=business)
    if not form.is_valid():
        return _details_page(request, business, service, start, carry, token, form, status=400)
    if not is_free(business=business, service=service, starts_at=start):
        return _taken_page(request, business, service, start, carry, token, form)
    return _summary_page(request, business, service, start, carry, token, form)


def _candidates(business: Business, params, chosen: str = "") -> list[dict]:
    found = referrer_candidates(
        business=business,
        first_name=(params.get("referrer_first_name") or "")[:100],
        last_initial=(params.get("referrer_initial") or "")[:1],
    )
    return [
        {"token": token, "display": candidate.display, "checked": token == chosen}
        for candidate in found
        for token in [flow.referrer_token(business, candidate.id)]
    ]


def _is_search(params) -> bool:
    """Whether enough of a first name was typed to search (referrer_candidates needs two letters)."""
    return len((params.get("referrer_first_name") or "").strip()) >= 2


def _chosen_referrer(business: Business, token: str) -> list[dict]:
    """The referrer chosen earlier, shown as the one checked option (found again through the same search)."""
    client = flow.referrer_from_token(business, token)
    if client is None:
        return []
    params = {"referrer_first_name": client.first_name, "referrer_initial": client.last_name[:1]}
    return [option for option in _candidates(business, params, chosen=token) if option["checked"]]


def _details_page(request, business, service, start, carry, token, form, *, search=False, status=200):
    chosen = (form.data.get("referrer") if form.is_bound else form.initial.get("referrer")) or ""
    candidates = _candidates(business, form.data or form.initial, chosen) if search else []
    if not candidates and chosen:
        candidates = _chosen_referrer(business, chosen)
    context = {
        "service": service,
        "starts_at": start,
        "form": form,
        "banner": _banner(business, carry, service),
        "hidden": _hidden(service, start, carry, token),
        "details_action": flow.step_url(business, "book_details"),
        "referrers_url": flow.step_url(business, "book_referrers"),
        "back_url": flow.step_url(
            business, "book_time", service=service.pk, day=timezone.localdate(start).isoformat(), **carry
        ),
        "show_named": not carry.get("ref"),
        "searched": search and _is_search(form.data or form.initial),
        "candidates": candidates,
    }
    return _page(request, business, "widgets/book/details.html", "details", carry, status=status, **context)


@widget_view("GET", "HEAD")
def referrers(request, business: Business):
    """The "who referred you?" search, swapped into the details page by htmx: first name and initial only."""
    context = {
        "business": business,
        "searched": _is_search(request.GET),
        "candidates": _candidates(business, request.GET),
    }
    return render(request, "widgets/book/details.html#referrer_results", context)


def _summary_page(request, business, service, start, carry, token, form, promotion_notice: str = ""):
    data = form.cleaned_data
    claim = _claim(request, business, carry, form)
    price = online_price(
        business=business,
        service=service,
        starts_at=start,
        claim=claim,
        email=data["email"],
        phone=data["phone"],
        promotion_code=carry.get("promo", ""),
    )
    details = _detail_values(form)
    context = {
        "service": service,
        "starts_at": start,
        "ends_at": start + timedelta(minutes=service.duration_minutes),
        "details": {**data, "code": data.get("code", "")},
        "phone_display": display_phone(data["phone"]),
        "banner": _banner(business, carry, service)
        if claim.source == ReferralSource.LINK and not price.refusal
        else None,
        "price": price,
        "money": {
            "list_total": format_money(price.list_total, business.currency),
            "total": format_money(price.total, business.currency),
        },
        # The schedule spreads a per-session discount over the sessions; each row shows what it takes in all.
        "discount_rows": _discount_rows(price, business.currency),
        "promotion_refusal": price.promotion_refusal,
        "promotion_notice": promotion_notice,
        "schedule": [
            {"sequence": row.sequence, "due_on": row.due_on, "amount": format_money(row.amount, business.currency)}
            for row in price.schedule
        ],
        **_referral_words(price),
        "refused_service": service.new_clients_only and price.returning_client,
        "show_code_form": not price.referral_applied,
        "hidden": _hidden(service, start, carry, token, details),
        "confirm_action": flow.step_url(business, "book_confirm"),
        "details_action": flow.step_url(business, "book_details"),
        "services_url": flow.step_url(business, "book", **carry),
    }
    return _page(request, business, "widgets/book/summary.html", "summary", carry, **context)


def _discount_rows(price: OnlinePrice, currency: str) -> list[dict]:
    """Each discount with what it takes off the whole booking. A one-time line (a promotion) takes its amount; the
    referral's, taken on every session of a plan, takes the rest of the schedule's discount."""
    once = sum(line.amount for line in price.lines if not line.per_period)
    return [
        {
            "label": line.label,
            "kind": line.kind,
            "amount": format_money(line.amount if not line.per_period else price.discount - once, currency),
        }
        for line in price.lines
    ]


def _referral_words(price: OnlinePrice) -> dict:
    """A note for a referral that gives no discount (a named referrer waiting for staff, a program that rewards
    only the referrer, a better promotion kept instead), and why a referral was refused, in plain words."""
    words = {"referral_note": "", "refusal": price.refusal}
    quote = price.quote
    if quote is not None and not price.refusal and not price.referral_applied and quote.referrer is not None:
        words["referral_note"] = quote.label
    return words


def _taken_page(request, business, service, start, carry, token, form):
    day = timezone.localdate(start)
    others = free_slots(business=business, service=service, start=day)[day]
    context = {
        "service": service,
        "starts_at": start,
        "slots": _slot_buttons(others),
        "hidden": _hidden(service, None, carry, token, _detail_values(form)),
        "details_action": flow.step_url(business, "book_details"),
        "time_url": flow.step_url(business, "book_time", service=service.pk, day=day.isoformat(), **carry),
    }
    return _page(request, business, "widgets/book/taken.html", "time", carry, status=409, **context)


# --- Step 4: confirm ------------------------------------------------------------------------------------------------


@widget_view("POST")
def confirm(request, business: Business):
    carry = _carried(request)
    if not flow.confirm_allowed(business, client_ip(request)):
        raise FlowProblem(
            429,
            _("Too many bookings from here"),
            _("Please wait an hour before booking again, or contact %(name)s directly.") % {"name": business.name},
        )
    token, nonce = _checked_token(request, business)
    service = _service(business, request.POST.get("service"))
    start = _start(business, service, request.POST.get("start"), carry)
    form = DetailsForm(request.POST, business=business)
    if not form.is_valid():
        return _details_page(request, business, service, start, carry, token, form, status=400)
    # A second press of the button (or the page sent again) shows the booking the first one made.
    booked_id = cache.get(flow.booked_key(business, nonce))
    already = Booking.objects.filter(business=business, pk=booked_id).first() if booked_id else None
    if already is not None:
        return _see_booking(business, already)
    try:
        booking = online_booking_create(
            business=business,
            service=service,
            starts_at=start,
            details=form.client_data(),
            claim=_claim(request, business, carry, form),
            notes=form.cleaned_data["notes"],
            heard_about=form.heard_about_text(),
            promotion_code=carry.get("promo", ""),
        )
    except SlotTaken:
        return _taken_page(request, business, service, start, carry, token, form)
    except ValidationError as error:
        if service.new_clients_only and "service" in getattr(error, "error_dict", {}):
            raise FlowProblem(
                409,
                _("This service is for new clients"),
                _(
                    "%(service)s is only for new clients, and this e-mail address has booked with us before. "
                    "Please choose another service."
                )
                % {"service": service.name},
                flow.step_url(business, "book", **carry),
                _("Choose another service"),
            ) from None
        if any(item.code == "plan_limit" for item in getattr(error, "error_list", [])):
            # The business's plan is full: the client cannot act on the dashboard's upgrade message.
            raise FlowProblem(
                409,
                _("Online booking is paused"),
                _("%(name)s cannot take new clients online right now. Please contact them directly to book.")
                % {"name": business.name},
            ) from None
        problem = getattr(error, "error_dict", {}).get("promotion_code")
        if problem:
            # The promotion ran out (or ended) since the summary: show the price without it before anything is booked.
            notice = _("%(problem)s The price below is without it.") % {"problem": " ".join(problem[0].messages)}
            without = {**carry, "promo": ""}
            return _summary_page(request, business, service, start, without, token, form, promotion_notice=notice)
        add_errors(form, error)
        return _details_page(request, business, service, start, carry, token, form, status=400)
    cache.set(flow.booked_key(business, nonce), booking.pk, flow.FORM_TOKEN_MAX_AGE)
    return _see_booking(business, booking)


def _see_booking(business: Business, booking: Booking) -> HttpResponseRedirect:
    response = HttpResponseRedirect(flow.step_url(business, "book_done", b=flow.done_token(business, booking)))
    response.status_code = 303  # See Other: the browser GETs the page, and a reload does not post again
    return response


@widget_view("GET", "HEAD")
def done(request, business: Business):
    booking = flow.booking_from_done_token(business, request.GET.get("b", ""))
    if booking is None:
        raise FlowProblem(
            404,
            _("This page has expired"),
            _("Your booking is kept. For its details, contact %(name)s.") % {"name": business.name},
            back_label=_("Book a visit"),
        )
    context = {
        "business": business,
        "booking": booking,
        "confirmed": booking.status == BookingStatus.CONFIRMED,
        "discounts": [
            {"label": row.label, "amount": format_money(row.amount, business.currency)}
            for row in booking.discounts.all()
        ],
        "total": format_money(booking.total, business.currency),
        "pay": payment_button_context(booking),
        "again_url": flow.step_url(business, "book"),
    }
    return render(request, "widgets/book/done.html", context)
