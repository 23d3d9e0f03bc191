"""Rebuild the overview's daily figures (ReferralDailyStats) from the source rows: backfill after a deploy, or
repair after drift (a restore, a manual SQL fix). Safe while the product runs: see daily_stats_rebuild."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from businesses.models import Business
from referrals.daily_stats import daily_stats_rebuild


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from error


class Command(BaseCommand):
    help = "Rebuild the referral overview's daily figures of one business (--business) or of all."

    def add_arguments(self, parser):
        parser.add_argument("--business", help="the business's slug; all businesses if left out")
        parser.add_argument("--since", help="first local day to rebuild (YYYY-MM-DD); all history if left out")
        parser.add_argument("--until", help="last local day to rebuild (YYYY-MM-DD)")

    def handle(self, *args, **options):
        since, until = _day(options["since"]), _day(options["until"])
        if since and until and since > until:
            raise CommandError("--since is after --until.")
        businesses = Business.objects.order_by("pk")
        if options["business"]:
            businesses = businesses.filter(slug=options["business"])
            if not businesses.exists():
                raise CommandError(f"No business with the slug {options['business']!r}.")
        for business in businesses.iterator():
            rows = daily_stats_rebuild(business=business, start=since, end=until)
            self.stdout.write(f"{business.slug}: {rows} daily rows")
