"""Compare every cached wallet balance with the sum of its ledger, report drift and, with --fix, repair it.

The services move WalletBalance in the same transaction as the entry, under its row lock; this is the check (and
the repair) for anything that bypassed them: a restore, a manual SQL fix, a bug. One aggregate query per ledger
per business, so it stays cheap on large tenants.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Sum
from django_scopes import scopes_disabled

from businesses.models import Business
from rewards.models import PointsEntry, StoreCreditEntry, WalletBalance

LEDGERS = (("store_credit", StoreCreditEntry, "amount"), ("points", PointsEntry, "points"))


@dataclass(frozen=True)
class Drift:
    client_id: int
    field: str
    cached: int
    ledger: int


def ledger_sums(business: Business, model, value: str, client_ids=None) -> dict[int, int]:
    rows = model.objects.filter(business=business)
    if client_ids is not None:
        rows = rows.filter(client_id__in=client_ids)
    return dict(rows.order_by().values("client_id").annotate(total=Sum(value)).values_list("client_id", "total"))


def drifts_in(business: Business, client_ids=None) -> list[Drift]:
    wallets = WalletBalance.objects.filter(business=business)
    if client_ids is not None:
        wallets = wallets.filter(client_id__in=client_ids)
    cached = {w["client_id"]: w for w in wallets.values("client_id", "store_credit", "points")}
    found = []
    for field, model, value in LEDGERS:
        sums = ledger_sums(business, model, value, client_ids)
        for client_id in sorted(set(sums) | set(cached)):
            stored = cached[client_id][field] if client_id in cached else 0
            total = sums.get(client_id) or 0
            if stored != total:
                found.append(Drift(client_id, field, stored, total))
    return found


class Command(BaseCommand):
    help = "Compare cached store credit and points balances with their ledgers; report drift, --fix repairs it."

    def add_arguments(self, parser):
        parser.add_argument("--business", metavar="SLUG", help="Only this business.")
        parser.add_argument("--fix", action="store_true", help="Write the ledger sums where the cache drifted.")

    def handle(self, *args, business=None, fix=False, **options):
        with scopes_disabled():
            businesses = Business.objects.order_by("pk")
            if business:
                businesses = businesses.filter(slug=business)
                if not businesses.exists():
                    raise CommandError(f"No business with the address “{business}”.")
            total = fixed = 0
            for tenant in businesses.iterator():
                drifts = drifts_in(tenant)
                for drift in drifts:
                    self.stdout.write(
                        f"client {drift.client_id} ({tenant.slug}): {drift.field} cached {drift.cached}, "
                        f"ledger {drift.ledger}"
                    )
                total += len(drifts)
                if fix and drifts:
                    fixed += self._fix(tenant, sorted({d.client_id for d in drifts}))
        if not total:
            self.stdout.write(self.style.SUCCESS("No drift."))
            return
        self.stdout.write(f"{total} drifted balance{'s' if total != 1 else ''}.")
        if fix:
            self.stdout.write(self.style.SUCCESS(f"Fixed {fixed} wallet(s)."))
        else:
            self.stdout.write("Run again with --fix to write the ledger sums.")

    @transaction.atomic
    def _fix(self, business: Business, client_ids: list[int]) -> int:
        """Lock the wallets (in client order, as the services do), sum again under the lock, write.

        An entry written meanwhile either committed before the lock (and is summed here) or waits for it."""
        WalletBalance.objects.bulk_create(
            [WalletBalance(business=business, client_id=i) for i in client_ids], ignore_conflicts=True
        )
        wallets = list(
            WalletBalance.objects.select_for_update()
            .filter(business=business, client_id__in=client_ids)
            .order_by("client_id")
        )
        drifts = drifts_in(business, client_ids)
        by_client = {w.client_id: w for w in wallets}
        changed = set()
        for drift in drifts:
            if drift.ledger < 0:
                self.stderr.write(
                    f"client {drift.client_id}: the {drift.field} ledger sums to {drift.ledger}; left for a person."
                )
                continue
            setattr(by_client[drift.client_id], drift.field, drift.ledger)
            changed.add(drift.client_id)
        WalletBalance.objects.bulk_update([by_client[i] for i in changed], ["store_credit", "points"])
        return len(changed)
