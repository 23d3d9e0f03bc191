"""Recompute the figures kept on client rows from the bookings and payments they summarise, and report drift.

The services move these figures in the same transaction as the booking or payment that changes them; this
command is the check (and, with --fix, the repair) for anything that bypassed them: a restore, a manual SQL fix,
a bug. It reads in batches of clients with one aggregate query per batch, so it runs at a million clients.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_scopes import scopes_disabled

from bookings.selectors import CLIENT_FIGURES, with_computed_figures
from businesses.models import Business
from clients.models import Client

FIELDS = CLIENT_FIGURES


@dataclass(frozen=True)
class Drift:
    client_id: int
    field: str
    stored: object
    computed: object


def drifts_of(client: Client) -> list[Drift]:
    found = []
    for field in FIELDS:
        stored, computed = getattr(client, field), getattr(client, f"computed_{field}")
        if stored != computed:
            found.append(Drift(client.pk, field, stored, computed))
    return found


class Command(BaseCommand):
    help = "Recompute every client's visit, spend and referral figures; report drift and, with --fix, repair it."

    def add_arguments(self, parser):
        parser.add_argument("--business", metavar="SLUG", help="Only the clients of this business.")
        parser.add_argument("--fix", action="store_true", help="Write the computed values where they drifted.")
        parser.add_argument("--batch-size", type=int, default=2000, help="Clients per query (default 2000).")

    def handle(self, *args, business=None, fix=False, batch_size=2000, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        with scopes_disabled():
            businesses = Business.objects.order_by("pk")
            if business:
                businesses = businesses.filter(slug=business)
                if not businesses.exists():
                    raise CommandError(f"No business with the address “{business}”.")
            total = drifted_clients = fixed = 0
            for tenant in businesses.iterator():
                for drifts in self._drifts_in_batches(tenant, batch_size):
                    for drift in drifts:
                        self.stdout.write(
                            f"client {drift.client_id} ({tenant.slug}): {drift.field} stored {drift.stored}, "
                            f"computed {drift.computed}"
                        )
                    total += len(drifts)
                    drifted_clients += len({d.client_id for d in drifts})
                    if fix and drifts:
                        fixed += self._fix(tenant, sorted({d.client_id for d in drifts}))
        if not total:
            self.stdout.write(self.style.SUCCESS("No drift."))
            return
        self.stdout.write(f"{total} drifted value{'s' if total != 1 else ''} in {drifted_clients} client(s).")
        if fix:
            self.stdout.write(self.style.SUCCESS(f"Fixed {fixed} client(s)."))
        else:
            self.stdout.write("Run again with --fix to write the computed values.")

    def _drifts_in_batches(self, business: Business, batch_size: int):
        """Keyset pagination on the primary key: each batch is one query, whatever the number of clients."""
        last_pk = 0
        while True:
            clients = Client.objects.filter(business=business, pk__gt=last_pk).only("pk", "business_id", *FIELDS)
            batch = list(with_computed_figures(clients).order_by("pk")[:batch_size])
            if not batch:
                return
            last_pk = batch[-1].pk
            yield [drift for client in batch for drift in drifts_of(client)]

    @transaction.atomic
    def _fix(self, business: Business, client_ids: list[int]) -> int:
        """Lock the drifted rows (in key order), recompute under the lock and write.

        A booking completed or a payment recorded meanwhile either committed before the lock (and is counted
        here) or waits for it and adds its own increment after this write; either way nothing is lost.
        """
        list(Client.objects.select_for_update().filter(business=business, pk__in=client_ids).order_by("pk"))
        clients = list(with_computed_figures(Client.objects.filter(business=business, pk__in=client_ids)))
        changed = []
        for client in clients:
            if drifts_of(client):
                for field in FIELDS:
                    setattr(client, field, getattr(client, f"computed_{field}"))
                changed.append(client)
        Client.objects.bulk_update(changed, FIELDS)
        return len(changed)
