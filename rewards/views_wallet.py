"""A client's full wallet history: every store credit, points and service credit entry, one ledger per tab,
newest first, paged by keyset (`?before=<id>`), so a long history costs the same per page as a short one."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404, render

from clients.models import Client
from clients.params import parse_id
from referrals_saas.tenancy import business_view

from .ledger import client_wallet
from .models import PointsEntry, ServiceCredit, ServiceCreditUse, StoreCreditEntry

PAGE_SIZE = 50
LEDGERS = {
    "store_credit": "Store credit",
    "points": "Points",
    "service_credits": "Service credits",
}


@dataclass
class HistoryPage:
    rows: list
    next_before: int | None


def _ledger_rows(business, client, ledger: str) -> QuerySet:
    if ledger == "points":
        return PointsEntry.objects.filter(business=business, client=client).select_related("created_by")
    if ledger == "service_credits":
        uses = ServiceCreditUse.objects.filter(business=business).select_related("booking").order_by("created_at", "id")
        return (
            ServiceCredit.objects.filter(business=business, client=client)
            .select_related("service", "created_by")
            .prefetch_related(Prefetch("uses", queryset=uses))
        )
    return StoreCreditEntry.objects.filter(business=business, client=client).select_related("created_by")


def history_page(*, business, client, ledger: str, before: int | None, size: int = PAGE_SIZE) -> HistoryPage:
    """Entries older than entry `before` (its id), newest first by (created_at, id), served by the ledgers'
    (business, client, created_at) indexes; `next_before` is None on the last page."""
    rows = _ledger_rows(business, client, ledger)
    if before is not None:
        anchor = rows.model.objects.filter(business=business, client=client, pk=before).values("created_at", "id")
        anchor = anchor.first()
        if anchor is None:
            return HistoryPage([], None)
        rows = rows.filter(
            Q(created_at__lt=anchor["created_at"]) | Q(created_at=anchor["created_at"], id__lt=anchor["id"])
        )
    found = list(rows.order_by("-created_at", "-id")[: size + 1])
    more = len(found) > size
    found = found[:size]
    return HistoryPage(found, found[-1].pk if more else None)


@business_view
def wallet_history(request, client_id: int):
    business = request.business
    client = get_object_or_404(Client, business=business, pk=client_id)
    ledger = request.GET.get("ledger", "")
    if ledger not in LEDGERS:
        ledger = "store_credit"
    page = history_page(business=business, client=client, ledger=ledger, before=parse_id(request.GET.get("before")))
    context = {
        "client": client,
        "wallet": client_wallet(business, client, limit=0),
        "ledger": ledger,
        "ledgers": LEDGERS,
        "ledger_label": LEDGERS[ledger],
        "page": page,
        "active_section": "clients",
    }
    if request.htmx and request.GET.get("before"):
        return render(request, "rewards/wallet_history.html#rows", context)
    return render(request, "rewards/wallet_history.html", context)
