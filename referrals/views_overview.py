"""The dashboard's first screen: what the referral program earns, at a glance, for a chosen period.

Owners and staff both see it (it is where everyone lands after signing in); money (revenue, rewards cost, ROI,
spend per visit, the revenue chart and the money exports) is for the owner only, like the rest of the money pages.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django_scopes import scope

from bookings.models import Booking, BookingDiscount
from businesses.money import format_money
from clients.params import checked_day
from clients.spreadsheet import safe_cell
from referrals_saas.tenancy import business_view

from . import analytics, charts
from .clicks import local_day
from .daily_stats import COST_FIELDS, COUNTED_STATUSES, FIGURES
from .models import LIVE_STATUSES, ClickCount, Referral, ReferralDailyStats

EXPORTS = {
    "clicks": "Link clicks per code and day",
    "referrals": "Referred bookings",
    "new_clients": "New clients (first bookings)",
    "revenue": "Bookings of referred clients",
    "rewards_cost": "Rewards given on bookings",
    "daily": "Daily figures",
}
MONEY_EXPORTS = {"revenue", "rewards_cost", "daily"}


class PeriodForm(forms.Form):
    period = forms.ChoiceField(label="Period", required=False, choices=list(analytics.PERIODS.items()))
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean_date_from(self):
        return checked_day(self.cleaned_data.get("date_from"))

    def clean_date_to(self):
        return checked_day(self.cleaned_data.get("date_to"))

    def clean(self):
        cleaned = super().clean()
        cleaned["period"] = cleaned.get("period") or analytics.DEFAULT_PERIOD
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if cleaned["period"] == "custom" and not self.errors:
            if start is None:
                self.add_error("date_from", "Choose the first day of the period.")
            if end is None:
                self.add_error("date_to", "Choose the last day of the period.")
            if start and end and start > end:
                self.add_error("date_to", "The last day is before the first day.")
            if start and end and (end - start).days >= analytics.MAX_CUSTOM_DAYS:
                self.add_error("date_to", "Choose at most ten years.")
        return cleaned

    def chosen_period(self, today: date):
        if not self.is_valid():
            return None
        data = self.cleaned_data
        return analytics.overview_period(data["period"], today, data.get("date_from"), data.get("date_to"))


def _form(request) -> PeriodForm:
    data = {key: request.GET[key] for key in ("period", "date_from", "date_to") if key in request.GET}
    return PeriodForm(data or {"period": analytics.DEFAULT_PERIOD})


def _today(business) -> date:
    return local_day(business.time_zone)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _change(current: int | float | None, before: int | float | None) -> str:
    if current is None or before is None:
        return ""
    if before == 0:
        return "new" if current else "no change"
    delta = (current - before) / abs(before) * 100
    return "no change" if round(delta) == 0 else f"{delta:+.0f}%"


def _url(name: str, business, **params) -> str:
    base = reverse(name, args=[business.slug])
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{base}?{query}" if query else base


def _figures(business, data: analytics.Overview, *, with_money: bool, query: str) -> list[dict]:
    """The figure cards: value, previous value, change, what it means (hover) and the list behind it."""
    cur, before, period = data.current, data.before, data.period
    span = {"date_from": period.start.isoformat(), "date_to": period.end.isoformat()}
    board = _url("referrals:index", business, **span)
    export = reverse("overview_export", args=[business.slug])

    def money(value: int) -> str:
        return format_money(value, business.currency)

    def card(key, label, value, previous, change, help_text, link, link_label, export_key):
        return {
            "key": key,
            "label": label,
            "value": value,
            "previous": previous,
            "change": change,
            "help": help_text,
            "link": link,
            "link_label": link_label,
            "export": f"{export}?{query}&figure={export_key}" if export_key else "",
        }

    cards = [
        card(
            "clicks",
            "Link clicks",
            f"{cur.clicks:,}",
            f"{before.clicks:,}",
            _change(cur.clicks, before.clicks),
            "Clicks on your clients' referral links in the period (counted per day in your time zone).",
            _url("referrals:leaderboard", business, period="custom", **span),
            "Top referrers",
            "clicks",
        ),
        card(
            "referrals",
            "Referred bookings",
            f"{cur.referrals:,}",
            f"{before.referrals:,}",
            _change(cur.referrals, before.referrals),
            "Bookings made in the period with a referral (link, typed code, named referrer, staff or API).",
            board,
            "Referrals board",
            "referrals",
        ),
        card(
            "conversion",
            "Conversion",
            f"{_percent(cur.click_to_booking)} → {_percent(cur.booking_to_confirmed)}",
            f"{_percent(before.click_to_booking)} → {_percent(before.booking_to_confirmed)}",
            "",
            "Referred bookings per link click, then referrals confirmed per referred booking, in the period. "
            "— when there is nothing to divide by.",
            board,
            "Referrals board",
            "referrals",
        ),
        card(
            "new_clients",
            "New clients from referrals",
            f"{cur.new_referred_clients:,} of {cur.new_clients:,} ({_percent(cur.referred_share)})",
            f"{before.new_referred_clients:,} of {before.new_clients:,} ({_percent(before.referred_share)})",
            _change(cur.new_referred_clients, before.new_referred_clients),
            "Clients whose first booking was made in the period with a referral, and their share of all clients "
            "whose first booking was made in the period.",
            _url(
                "clients:index",
                business,
                source="client_referral",
                created_from=span["date_from"],
                created_to=span["date_to"],
            ),
            "Referred clients",
            "new_clients",
        ),
    ]
    if with_money:
        roi = cur.roi
        cards += [
            card(
                "revenue",
                "Revenue from referred clients",
                money(cur.referred_revenue),
                money(before.referred_revenue),
                _change(cur.referred_revenue, before.referred_revenue),
                "Totals of the confirmed and completed bookings starting in the period of every client who came "
                "through a referral — their first booking and every one since.",
                _url("referrals:leaderboard", business, period="custom", **span),
                "Revenue by referrer",
                "revenue",
            ),
            card(
                "rewards_cost",
                "Rewards cost",
                money(cur.rewards_cost),
                money(before.rewards_cost),
                _change(cur.rewards_cost, before.rewards_cost),
                "Discounts given on confirmed and completed bookings starting in the period: "
                f"referral discounts {money(cur.cost_referral)}, coupons {money(cur.cost_coupon)}, store credit "
                f"{money(cur.cost_store_credit)}, points {money(cur.cost_points)}, service credit "
                f"{money(cur.cost_service_credit)}.",
                reverse("rewards:index", args=[business.slug]),
                "Rewards",
                "rewards_cost",
            ),
            card(
                "roi",
                "Return on rewards",
                "—" if roi is None else f"{roi:.1f}×",
                "—" if before.roi is None else f"{before.roi:.1f}×",
                _change(roi, before.roi),
                "(Revenue from referred clients − rewards cost) ÷ rewards cost. "
                + (
                    "Shown as — because no reward was spent in the period: there is nothing to divide by."
                    if roi is None
                    else f"Each {money(100)} of rewards came with {money(round(100 * (1 + roi)))} of revenue."
                ),
                "",
                "",
                "",
            ),
        ]
    return cards


def _comparison_rows(business, found: analytics.Comparison, *, with_money: bool) -> list[dict]:
    ref, other = found.referred, found.others

    def money(value):
        return "—" if value is None else format_money(value, business.currency)

    def ratio(value):
        return "—" if value is None else f"{value:.1f}"

    rows = []
    if with_money:
        rows.append(
            {
                "label": "Spend per visit",
                "help": "Paid so far divided by completed visits.",
                "referred": money(ref.spend_per_visit),
                "others": money(other.spend_per_visit),
            }
        )
    rows += [
        {
            "label": "Visits per client",
            "help": "Completed visits per client who visited at least once.",
            "referred": ratio(ref.visits_per_client),
            "others": ratio(other.visits_per_client),
        },
        {
            "label": "Still active after 90 days",
            "help": "Of the clients whose first visit was over 90 days ago, those who visited again 90 days or "
            "more after it.",
            "referred": _percent(ref.retention),
            "others": _percent(other.retention),
        },
        {
            "label": "Clients who visited",
            "help": "Clients with at least one completed visit.",
            "referred": f"{ref.clients:,}",
            "others": f"{other.clients:,}",
        },
    ]
    return rows


@require_GET
@business_view
def overview(request):
    business = request.business
    with_money = request.membership.is_owner
    state = analytics.program_state(business=business)
    form = _form(request)
    today = _today(business)
    period = form.chosen_period(today)
    context = {
        "active_section": "overview",
        "form": form,
        "program": state,
        "with_money": with_money,
        "periods": analytics.PERIODS,
        "exports": {k: v for k, v in EXPORTS.items() if with_money or k not in MONEY_EXPORTS},
    }
    if period is None:
        return render(request, "dashboard/overview.html", context, status=400)
    data = analytics.overview(business=business, period=period, today=today)
    query = urlencode({"period": period.key, "date_from": period.start, "date_to": period.end})
    context.update(
        {
            "data": data,
            "query": query,
            "figures": _figures(business, data, with_money=with_money, query=query),
            "charts": charts.all_charts(data, business.currency, with_money=with_money),
            "comparison": _comparison_rows(business, analytics.comparison(business=business), with_money=with_money),
            "leaders": analytics.top_referrers(business=business),
            "activity": analytics.recent_activity(business=business),
            "has_activity": any(data.current.values.values()) or any(data.before.values.values()),
        }
    )
    return render(request, "dashboard/overview.html", context)


# ------------------------------------------------------------------------------------------------ exports


class _Echo:
    def write(self, value):
        return value


def _span(business, period) -> tuple[datetime, datetime]:
    zone = ZoneInfo(business.time_zone)
    return (
        datetime.combine(period.start, time.min, tzinfo=zone),
        datetime.combine(period.end + timedelta(days=1), time.min, tzinfo=zone),
    )


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def export_rows(business, figure: str, period) -> Iterator[list]:
    """The rows behind a figure, header first; read in chunks so a large business streams."""
    zone = ZoneInfo(business.time_zone)
    start, end = _span(business, period)
    money = business.currency
    if figure == "clicks":
        yield ["Day", "Code", "Client", "Clicks"]
        rows = (
            ClickCount.objects.filter(business=business, day__gte=period.start, day__lte=period.end)
            .order_by("day", "code_id")
            .values_list("day", "code__code", "code__client__first_name", "code__client__last_name", "clicks")
        )
        for day, code, first, last, clicks in rows.iterator(chunk_size=2000):
            yield [day.isoformat(), code or "(unknown or retired code)", f"{first or ''} {last or ''}".strip(), clicks]
    elif figure == "referrals":
        yield [
            "Booked at",
            "Referrer",
            "New client",
            "Service",
            "Referral status",
            "Booking status",
            "Total (minor units)",
            "Currency",
        ]
        rows = (
            Referral.objects.filter(
                business=business,
                is_test=False,
                booking__is_test=False,
                referee__is_test=False,
                booking__created_at__gte=start,
                booking__created_at__lt=end,
            )
            .select_related("referrer", "referee", "booking__service")
            .order_by("booking__created_at", "pk")
        )
        for r in rows.iterator(chunk_size=2000):
            yield [
                _local(r.booking.created_at, zone),
                r.referrer.full_name,
                r.referee.full_name,
                r.booking.service.name,
                r.get_status_display(),
                r.booking.get_status_display(),
                r.booking.total,
                money,
            ]
    elif figure == "new_clients":
        yield ["First booking made at", "Client", "E-mail", "Service", "Came through a referral"]
        referees = Referral.objects.filter(business=business, booking__isnull=False, is_test=False).exclude(
            status="ineligible"
        )
        rows = (
            Booking.objects.filter(
                business=business,
                is_first_booking=True,
                is_test=False,
                client__is_test=False,
                created_at__gte=start,
                created_at__lt=end,
            )
            .select_related("client", "service")
            .order_by("created_at", "pk")
        )
        referred = set(referees.filter(booking__in=rows).values_list("booking_id", flat=True))
        for b in rows.iterator(chunk_size=2000):
            yield [
                _local(b.created_at, zone),
                b.client.full_name,
                b.client.email,
                b.service.name,
                "yes" if b.pk in referred else "no",
            ]
    elif figure == "revenue":
        yield ["Starts at", "Client", "Service", "Status", "Total (minor units)", "Currency"]
        referees = Referral.objects.filter(
            business=business, status__in=LIVE_STATUSES, booking__isnull=False, is_test=False
        ).values("referee_id")
        rows = (
            Booking.objects.filter(
                business=business,
                status__in=COUNTED_STATUSES,
                is_test=False,
                client__is_test=False,
                client_id__in=referees,
                starts_at__gte=start,
                starts_at__lt=end,
            )
            .select_related("client", "service")
            .order_by("starts_at", "pk")
        )
        for b in rows.iterator(chunk_size=2000):
            yield [
                _local(b.starts_at, zone),
                b.client.full_name,
                b.service.name,
                b.get_status_display(),
                b.total,
                money,
            ]
    elif figure == "rewards_cost":
        yield ["Booking starts at", "Client", "Kind", "Label", "Code", "Amount (minor units)", "Currency"]
        rows = (
            BookingDiscount.objects.filter(
                business=business,
                kind__in=list(COST_FIELDS),
                booking__status__in=COUNTED_STATUSES,
                booking__is_test=False,
                booking__client__is_test=False,
                booking__starts_at__gte=start,
                booking__starts_at__lt=end,
            )
            .select_related("booking__client")
            .order_by("booking__starts_at", "pk")
        )
        for d in rows.iterator(chunk_size=2000):
            yield [
                _local(d.booking.starts_at, zone),
                d.booking.client.full_name,
                d.get_kind_display(),
                d.label,
                d.code,
                d.amount,
                money,
            ]
    elif figure == "daily":
        yield ["Day", "Service id", *FIGURES]
        rows = ReferralDailyStats.objects.filter(
            business=business, day__gte=period.start, day__lte=period.end
        ).order_by("day", "service_key")
        for row in rows.values_list("day", "service_key", *FIGURES).iterator(chunk_size=2000):
            yield [row[0].isoformat(), *row[1:]]
    else:
        raise Http404


@require_GET
@business_view
def overview_export(request):
    """`?figure=<name>` (default: the referred bookings) plus the period: the figure's rows as CSV, streamed,
    cells safe for spreadsheets. Money figures (and the daily rows, which hold them) are the owner's."""
    business = request.business
    figure = request.GET.get("figure") or "referrals"
    if figure not in EXPORTS:
        return HttpResponse("Unknown figure: choose one of " + ", ".join(EXPORTS) + ".", status=400)
    if figure in MONEY_EXPORTS and not request.membership.is_owner:
        return HttpResponse("Only the business owner can export money figures.", status=403)
    period = _form(request).chosen_period(_today(business))
    if period is None:
        return HttpResponse("Choose a valid period.", status=400)
    writer = csv.writer(_Echo())

    # Staff get the referred bookings without their totals, which add up to the revenue the page keeps for owners.
    keep = None if request.membership.is_owner or figure != "referrals" else slice(0, -2)

    def lines():
        # The response streams after the view returned: the business's scope is entered again for the reads.
        with scope(business=business):
            for row in export_rows(business, figure, period):
                yield writer.writerow([safe_cell(cell) for cell in (row[keep] if keep else row)])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    name = f"{business.slug}-{figure}-{period.start}-{period.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
