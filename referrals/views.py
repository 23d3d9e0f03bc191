"""The referral screens: the board, the review queue (approve and reject are the owner's), a referral's page and
the leaderboard with its spotlight export. Thin views around referrals.selectors and referrals.services."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

import phonenumbers
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from businesses.money import from_minor
from clients.identity import display_phone
from clients.params import checked_day
from clients.spreadsheet import safe_cell
from referrals_saas.tenancy import business_view

from . import selectors, services
from .models import Referral, ReferralStatus

SECTION = "referrals"
MAX_REASON = 300
TARGETS = ("review", "detail")


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class BoardFilterForm(forms.Form):
    q = forms.CharField(label="Client", required=False, max_length=100, strip=True)
    date_from = forms.DateField(label="Made from", required=False, widget=_date_input())
    date_to = forms.DateField(label="to", required=False, widget=_date_input())
    test = forms.BooleanField(label="Show test records", required=False)

    def clean_date_from(self):
        return checked_day(self.cleaned_data.get("date_from"))

    def clean_date_to(self):
        return checked_day(self.cleaned_data.get("date_to"))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filters(self) -> selectors.BoardFilters:
        """The filters that are valid; an invalid one is shown with its error and left out."""
        if self.is_bound:
            self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return selectors.BoardFilters(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            q=" ".join((data.get("q") or "").split()),
            include_test=bool(data.get("test")),
        )


class LeaderboardForm(forms.Form):
    period = forms.ChoiceField(label="Period", required=False, choices=list(selectors.PERIODS.items()))
    date_from = forms.DateField(label="From", required=False, widget=_date_input())
    date_to = forms.DateField(label="To", required=False, widget=_date_input())

    def clean_date_from(self):
        return checked_day(self.cleaned_data.get("date_from"))

    def clean_date_to(self):
        return checked_day(self.cleaned_data.get("date_to"))

    def clean(self):
        cleaned = super().clean()
        period = cleaned.get("period") or selectors.DEFAULT_PERIOD
        cleaned["period"] = period
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if period == "custom" and not self.errors:
            if start is None:
                self.add_error("date_from", "Choose the first day of the period.")
            if end is None:
                self.add_error("date_to", "Choose the last day of the period.")
            if start and end and start > end:
                self.add_error("date_to", "The last day is before the first day.")
        return cleaned

    def chosen_period(self) -> selectors.Period | None:
        if not self.is_valid():
            return None
        data = self.cleaned_data
        return selectors.period_for(data["period"], timezone.localdate(), data.get("date_from"), data.get("date_to"))


# ---------------------------------------------------------------------------------------------------- presentation


def _phone(e164: str) -> str:
    try:
        return display_phone(e164)
    except phonenumbers.NumberParseException:
        return e164


def _present(referral: Referral) -> Referral:
    """What the cards show beyond the row: phones as people read them, the flags, the rewards."""
    referral.referrer_phone = _phone(referral.referrer.phone)
    referral.referee_phone = _phone(referral.referee.phone)
    referral.flag_list = list(referral.flags.all())
    referral.reward_list = list(referral.rewards.all())
    referral.can_approve = referral.status == ReferralStatus.FLAGGED
    referral.can_reject = referral.status in (ReferralStatus.FLAGGED, ReferralStatus.PENDING)
    pair = f"{referral.referrer.full_name} → {referral.referee.full_name}"
    referral.approve_question = f"Approve the referral {pair}? The referrer is rewarded once the booking qualifies."
    referral.reject_question = f"Reject the referral {pair}? The referrer will not be rewarded for it."
    return referral


def _is_owner(request) -> bool:
    return bool(request.membership and request.membership.is_owner)


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def _detail_url(business, referral_id: int) -> str:
    return reverse("referrals:detail", kwargs={"business_slug": business.slug, "referral_id": referral_id})


def _querystring(filters: selectors.BoardFilters) -> str:
    return urlencode(filters.to_query())


# ---------------------------------------------------------------------------------------------------- board


@require_GET
@business_view
def index(request):
    """The board: a column per status, each with its count and newest cards. `?column=&after=` pages one column
    (the "show more" button swaps in the next cards with htmx)."""
    business = request.business
    form = BoardFilterForm(request.GET if request.GET else None)
    filters = form.filters()
    column_key = request.GET.get("column")
    column, after = None, None
    if column_key is not None:
        column = selectors.COLUMNS_BY_KEY.get(column_key)
        after = selectors.Cursor.decode(request.GET.get("after"))
        if column is None or (request.GET.get("after") and after is None):
            return HttpResponse(
                "That page of the board does not exist. Reload the board.", status=400, content_type="text/plain"
            )
        if request.htmx:
            page = selectors.board_column(business=business, column=column, filters=filters, after=after)
            for card in page.cards:
                _present(card)
            context = {"page": page, "filters": filters, "querystring": _querystring(filters)}
            return render(request, "referrals/_board.html#more", context)
    columns = selectors.board(business=business, filters=filters)
    if column is not None and after is not None:
        # Without JavaScript the "show more" link opens the board with that column moved on.
        paged = selectors.board_column(business=business, column=column, filters=filters, after=after)
        for page in columns:
            if page.column.key == column.key:
                page.cards, page.next_cursor = paged.cards, paged.next_cursor
    for page in columns:
        for card in page.cards:
            _present(card)
    context = {
        "form": form,
        "columns": columns,
        "filters": filters,
        "querystring": _querystring(filters),
        "filtered": not filters.is_empty,
        "active_section": SECTION,
        "tab": "board",
        "is_owner": _is_owner(request),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "referrals/index.html#board", context)
    return render(request, "referrals/index.html", context)


# ---------------------------------------------------------------------------------------------------- review queue


@require_GET
@business_view
def review(request):
    """Flagged referrals waiting for the owner, the longest waiting first. Staff see them; only the owner acts."""
    business = request.business
    include_test = request.GET.get("test") == "1"
    raw_after = request.GET.get("after")
    after = selectors.Cursor.decode(raw_after)
    if raw_after and after is None:
        return HttpResponse("That page of the queue does not exist. Reload it.", status=400, content_type="text/plain")
    more = after is not None and request.htmx
    page = selectors.review_queue(business=business, include_test=include_test, after=after, with_count=not more)
    for referral in page.referrals:
        _present(referral)
    context = {
        "page": page,
        "include_test": include_test,
        "test_query": "test=1&" if include_test else "",
        "is_owner": _is_owner(request),
        "target": "review",
        "active_section": SECTION,
        "tab": "review",
    }
    if more:
        return render(request, "referrals/review.html#more", context)
    return render(request, "referrals/review.html", context)


def _load(request, referral_id: int) -> Referral:
    referral = selectors.referral_detail(business=request.business, referral_id=referral_id)
    if referral is None:
        raise Http404("No such referral")
    return _present(referral)


def _detail_context(request, referral: Referral, **extra) -> dict:
    return {
        "referral": referral,
        "history": selectors.referral_history(business=request.business, referral=referral),
        "is_owner": _is_owner(request),
        "target": "detail",
        "active_section": SECTION,
        "tab": "",
        **extra,
    }


@business_view
def detail(request, referral_id: int):
    referral = _load(request, referral_id)
    if request.method not in ("GET", "HEAD"):
        # After the lookup: another business's id answers 404 whatever the method.
        return HttpResponseNotAllowed(["GET"])
    return render(request, "referrals/detail.html", _detail_context(request, referral))


def _after_action(request, referral_id: int, *, error: str | None, done: str | None, status: int):
    """Answer an approve or reject: the card (or the page's summary) again with the outcome, for htmx; otherwise a
    message and back to where the owner was."""
    business = request.business
    if request.htmx:
        target = request.POST.get("target")
        target = target if target in TARGETS else "review"
        feedback = {"error": error, "done": done}
        if target == "detail":
            context = _detail_context(request, _load(request, referral_id), **feedback)
            return render(request, "referrals/detail.html#referral", context, status=status)
        context = {
            "referral": _load(request, referral_id),
            "is_owner": _is_owner(request),
            "target": target,
            **feedback,
        }
        return render(request, "referrals/review.html#card", context, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect(_safe_next(request, _detail_url(business, referral_id)))


@require_POST
@business_view(owner_only=True)
def approve(request, referral_id: int):
    """Clear a flagged referral. Approving one that is no longer flagged changes nothing and says why."""
    business = request.business
    referral = get_object_or_404(Referral, business=business, pk=referral_id)
    error, done = None, None
    if referral.status != ReferralStatus.FLAGGED:
        error = f"This referral is not waiting for review: it is {referral.get_status_display().lower()}."
    else:
        try:
            referral = services.referral_approve(business=business, referral=referral, actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            if referral.status == ReferralStatus.CONFIRMED:
                done = "Approved. The referral is confirmed and the referrer’s reward was issued."
            elif referral.status == ReferralStatus.PENDING:
                done = "Approved. The referrer is rewarded when the booking is confirmed."
            else:
                error = f"This referral is not waiting for review: it is {referral.get_status_display().lower()}."
    return _after_action(request, referral_id, error=error, done=done, status=409 if error else 200)


@require_POST
@business_view(owner_only=True)
def reject(request, referral_id: int):
    """Reject a flagged or pending referral with a reason: the referrer is not rewarded."""
    business = request.business
    referral = get_object_or_404(Referral, business=business, pk=referral_id)
    reason = " ".join(request.POST.get("reason", "").split())
    if len(reason) > MAX_REASON:
        error = f"Keep the reason under {MAX_REASON} characters."
        return _after_action(request, referral_id, error=error, done=None, status=400)
    error, done = None, None
    if referral.status == ReferralStatus.REJECTED:
        error = "This referral was already rejected."
    else:
        try:
            services.referral_reject(business=business, referral=referral, reason=reason, actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            done = "Rejected. The referrer will not be rewarded for this referral."
    return _after_action(request, referral_id, error=error, done=done, status=409 if error else 200)


# ---------------------------------------------------------------------------------------------------- leaderboard


def _leaderboard_form(request) -> LeaderboardForm:
    return LeaderboardForm(request.GET if request.GET else {"period": selectors.DEFAULT_PERIOD})


@require_GET
@business_view
def leaderboard(request):
    """Top referrers of a period: successful referrals, the revenue their friends brought, rewards earned."""
    business = request.business
    form = _leaderboard_form(request)
    period = form.chosen_period()
    board = selectors.leaderboard(business=business, period=period) if period else None
    context = {
        "form": form,
        "board": board,
        "csv_query": request.GET.urlencode(),
        "active_section": SECTION,
        "tab": "leaderboard",
    }
    return render(request, "referrals/leaderboard.html", context, status=200 if period else 400)


CSV_HEADER = (
    "Rank",
    "Client",
    "Email",
    "Phone",
    "Successful referrals",
    "Revenue from referred clients",
    "Currency",
    "Rewards earned",
    "Last referral",
)


@require_GET
@business_view
def leaderboard_csv(request):
    """The leaderboard's rows as a spreadsheet ("spotlight"): the same period, the same figures."""
    business = request.business
    form = _leaderboard_form(request)
    period = form.chosen_period()
    if period is None:
        problems = "; ".join(
            f"{form.fields[name].label if name in form.fields else 'Period'}: {' '.join(errs)}"
            for name, errs in form.errors.items()
        )
        return HttpResponse(f"Choose a valid period. {problems}", status=400, content_type="text/plain; charset=utf-8")
    board = selectors.leaderboard(business=business, period=period)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in board.rows:
        last = timezone.localtime(row.last_referral_at).date().isoformat() if row.last_referral_at else ""
        writer.writerow(
            safe_cell(value)
            for value in (
                row.rank,
                row.client.full_name,
                row.client.email,
                row.client.phone,
                row.successful_referrals,
                from_minor(row.revenue, business.currency),
                business.currency,
                row.rewards_earned,
                last,
            )
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="spotlight-{business.slug}-{period.key}-{stamp}.csv"'
    return response
