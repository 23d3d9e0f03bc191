"""Benchmark of the dashboard's analytics pages with one big business among many, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/referrals_saas \\
        .venv/bin/python bench/dashboard.py --sizes 10000,100000,1000000 --businesses 1000

For each size it drops and recreates its own database (`referrals_saas_bench` on the same server, never the one
DATABASE_URL names), migrates it and loads, with INSERT ... SELECT over generate_series (no row goes through
Python), per 1,000,000 clients of the big business: 300,000 referrals, 2,000,000 bookings and 10,000,000 link clicks
(as ClickCount rows per code per day), plus 20% of that volume spread over the other businesses. It then rebuilds
the big business's daily figures (timed: that is the backfill), runs VACUUM ANALYZE and requests, as the owner
through Django's test client, the overview (30 days and this year), the leaderboard, the referrals board and the
clients list, printing the median server time and the number of queries of each. `--reuse` measures the existing
database again (one size).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ itself is first on sys.path, where bench/click.py would shadow the click package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from bench.clients_list import secondary_indexes  # noqa: E402  (needs ROOT on sys.path)
from bench.common import fail, prepare_database  # noqa: E402

BENCH_DB = "referrals_saas_bench"
RUNS = 9
WARMUP = 2
SERVICES = 10
BIG_TABLES = [
    "clients_client",
    "bookings_booking",
    "bookings_bookingdiscount",
    "referrals_referral",
    "referrals_clickcount",
    "businesses_domainevent",
]


def _columns(model, given: dict[str, str]) -> tuple[str, str, list]:
    """Column list and SELECT list of an INSERT ... SELECT: `given` SQL expressions, the field defaults for the rest."""
    from django.db.models import NOT_PROVIDED

    names, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.column not in given:
            continue  # the sequence numbers it
        names.append(field.column)
        if field.column in given:
            values.append(given[field.column])
            continue
        if field.null and (field.default is NOT_PROVIDED or field.default is None):
            values.append("NULL")
            continue
        default = field.get_default()
        if isinstance(default, dict | list):
            values.append("%s::jsonb")
            params.append(json.dumps(default))
        else:
            values.append("%s")
            params.append(default)
    return ", ".join(names), ", ".join(values), params


def _insert(cursor, model, given: dict[str, str], source: str, params: list | None = None) -> float:
    columns, select, defaults = _columns(model, given)
    started = time.perf_counter()
    cursor.execute(
        f"INSERT INTO {model._meta.db_table} ({columns}) SELECT {select} {source}", [*defaults, *(params or [])]
    )
    return time.perf_counter() - started


def build(clients: int, businesses: int) -> dict:
    """Load the data; returns the big business and its owner."""
    import psycopg
    from django.db import connection

    from bookings.models import Booking, BookingDiscount
    from businesses.models import Business, DomainEvent, Membership, Role, Service, User
    from clients.models import Client
    from referrals.models import ClickCount, Referral, ReferralCode, ReferralProgram

    owner = User.objects.create_user(email="owner@bench.example", password=None)
    created = Business.objects.bulk_create(
        [
            Business(name=f"Bench studio {n}", slug=f"bench-{n}", time_zone="Europe/London", currency="GBP")
            for n in range(businesses)
        ]
    )
    big = created[0]
    Membership.objects.create(business=big, user=owner, role=Role.OWNER)
    ReferralProgram.objects.bulk_create([ReferralProgram(business=b, enabled=True) for b in created])
    Service.objects.bulk_create(
        [
            Service(business=b, name=f"Service {n}", price=5000 + 1000 * n, duration_minutes=60)
            for b in created
            for n in range(SERVICES)
        ]
    )
    others = businesses - 1
    small = max(20, clients // 5 // others) if others else 0
    timings = {}
    with connection.cursor() as outer:
        cursor = outer.cursor
        indexes = secondary_indexes(cursor, BIG_TABLES)
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SELECT setseed(0.42)")
        # plan: each business's first client id and number of clients.
        cursor.execute("CREATE TEMP TABLE plan (business_id bigint, base bigint, n bigint, first_service bigint)")
        cursor.execute(
            """
            INSERT INTO plan
            SELECT b.id, sum(CASE WHEN b.id = %s THEN %s ELSE %s END) OVER (ORDER BY b.id)
                        - CASE WHEN b.id = %s THEN %s ELSE %s END,
                   CASE WHEN b.id = %s THEN %s ELSE %s END,
                   (SELECT min(s.id) FROM businesses_service s WHERE s.business_id = b.id)
            FROM businesses_business b
            """,
            [big.pk, clients, small] * 3,
        )
        timings["clients"] = _insert(
            cursor,
            Client,
            {
                "id": "p.base + g",
                "business_id": "p.business_id",
                "first_name": "'Client'",
                "last_name": "'N' || (p.base + g)",
                "email": "'c' || (p.base + g) || '@bench.example'",
                "email_canonical": "'c' || (p.base + g) || '@bench.example'",
                "source": "CASE WHEN g > 10 AND random() < 0.3 THEN 'client_referral' ELSE 'online_booking' END",
                "created_at": "now() - random() * interval '730 days'",
                "completed_visits": "floor(random() * 8)::int",
                "lifetime_spend": "floor(random() * 50000)::bigint",
            },
            "FROM plan p CROSS JOIN LATERAL generate_series(1, p.n) g",
        )
        # Referred clients point at an earlier client, skewed so that a few regulars refer many friends.
        cursor.execute(
            """
            UPDATE clients_client c
            SET referred_by_id = p.base + 1 + floor(power(random(), 3) * (c.id - p.base - 1))::bigint
            FROM plan p
            WHERE c.business_id = p.business_id AND c.source = 'client_referral'
            """
        )
        cursor.execute(
            """
            UPDATE clients_client SET
                first_visit_at = CASE WHEN completed_visits > 0 THEN created_at + interval '3 days' END,
                last_visit_at = CASE WHEN completed_visits > 0
                    THEN created_at + interval '3 days' + random() * (now() - created_at) END
            """
        )
        cursor.execute(
            """
            UPDATE clients_client c SET referred_clients_count = r.n
            FROM (SELECT referred_by_id AS id, count(*) AS n FROM clients_client
                  WHERE referred_by_id IS NOT NULL GROUP BY 1) r
            WHERE c.id = r.id
            """
        )
        # Two bookings per client: the first is the client's first booking.
        timings["bookings"] = _insert(
            cursor,
            Booking,
            {
                "business_id": "c.business_id",
                "client_id": "c.id",
                "service_id": f"p.first_service + floor(random() * {SERVICES})::int",
                "starts_at": "c.created_at + interval '2 days' + (k - 1) * roll.s * interval '300 days'",
                "ends_at": "c.created_at + interval '2 days 1 hour' + (k - 1) * roll.s * interval '300 days'",
                "status": (
                    "CASE WHEN r < 0.70 THEN 'completed' WHEN r < 0.82 THEN 'confirmed' WHEN r < 0.92 "
                    "THEN 'cancelled' WHEN r < 0.96 THEN 'requested' ELSE 'no_show' END"
                ),
                "status_changed_at": "c.created_at + interval '1 day'",
                "currency": "'GBP'",
                "list_price": "8000",
                "total": "CASE WHEN k = 1 AND c.referred_by_id IS NOT NULL THEN 6800 ELSE 8000 END",
                "is_first_booking": "k = 1",
                "channel": "'online'",
                "created_at": "c.created_at",
            },
            "FROM clients_client c JOIN plan p ON p.business_id = c.business_id "
            "CROSS JOIN generate_series(1, 2) k "
            "CROSS JOIN LATERAL (SELECT random() + 0 * k AS r, random() + 0 * k AS s) roll",
        )
        first_booking = "b.is_first_booking AND c.referred_by_id IS NOT NULL"
        timings["referrals"] = _insert(
            cursor,
            Referral,
            {
                "business_id": "b.business_id",
                "referrer_id": "c.referred_by_id",
                "referee_id": "c.id",
                "booking_id": "b.id",
                "source": "'link'",
                "status": (
                    "CASE b.status WHEN 'completed' THEN 'confirmed' WHEN 'confirmed' THEN 'confirmed' "
                    "WHEN 'requested' THEN 'pending' ELSE 'cancelled' END"
                ),
                "referee_discount": "1200",
                "confirmed_at": (
                    "CASE WHEN b.status IN ('completed', 'confirmed') THEN b.created_at + interval '1 day' END"
                ),
                "closed_at": "CASE WHEN b.status IN ('cancelled', 'no_show') THEN b.created_at + interval '2 days' END",
                "created_at": "b.created_at",
            },
            f"FROM bookings_booking b JOIN clients_client c ON c.id = b.client_id WHERE {first_booking}",
        )
        timings["discounts"] = _insert(
            cursor,
            BookingDiscount,
            {
                "business_id": "r.business_id",
                "booking_id": "r.booking_id",
                "kind": "'referral'",
                "label": "'Referral discount'",
                "amount": "1200",
                "created_at": "r.created_at",
            },
            "FROM referrals_referral r",
        )
        cursor.execute(
            """
            INSERT INTO referrals_referrertally (business_id, client_id, successful_referrals, rewards_earned,
                                                 last_referral_at)
            SELECT business_id, referrer_id, count(*) FILTER (WHERE status = 'confirmed'),
                   count(*) FILTER (WHERE status = 'confirmed'), max(created_at)
            FROM referrals_referral GROUP BY business_id, referrer_id
            """
        )
        cursor.execute(
            f"""
            INSERT INTO {ReferralCode._meta.db_table} (business_id, client_id, code, is_current, created_at)
            SELECT business_id, id, 'B' || id, true, created_at FROM clients_client WHERE referred_clients_count > 0
            """
        )
        cursor.execute("ALTER TABLE plan ADD COLUMN codes bigint")
        cursor.execute(
            "UPDATE plan SET codes = k.n FROM (SELECT business_id, count(*) AS n FROM referrals_referralcode "
            "GROUP BY 1) k WHERE k.business_id = plan.business_id"
        )
        # Ten clicks per client on average, as rows of ten clicks per code per day over two years.
        timings["clicks"] = _insert(
            cursor,
            ClickCount,
            {
                "business_id": "k.business_id",
                "code_id": "k.id",
                "day": "current_date - mod(g * 37, 730)",
                "clicks": "10",
            },
            "FROM referrals_referralcode k JOIN plan p ON p.business_id = k.business_id "
            "CROSS JOIN LATERAL generate_series(1, greatest(1, p.n / greatest(1, p.codes))::int) g "
            "ON CONFLICT DO NOTHING",
        )
        timings["events"] = _insert(
            cursor,
            DomainEvent,
            {
                "business_id": "r.business_id",
                "kind": "CASE WHEN r.status = 'confirmed' THEN 'referral.confirmed' ELSE 'referral.created' END",
                "subject_type": "'referrals.Referral'",
                "subject_id": "r.id",
                "payload": "'{}'::jsonb",
                "created_at": "r.created_at",
            },
            "FROM referrals_referral r",
        )
        cursor.execute("SET session_replication_role = DEFAULT")
        for table in ["clients_client", "bookings_booking", "referrals_referral", "referrals_referralcode"]:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        started = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        timings["indexes"] = time.perf_counter() - started
    connection.close()
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    from django_scopes import scope

    from referrals.analytics import comparison_refresh
    from referrals.daily_stats import daily_stats_rebuild

    started = time.perf_counter()
    with scope(business=big):
        daily_stats_rebuild(business=big)
        timings["rebuild daily figures"] = time.perf_counter() - started
        started = time.perf_counter()
        comparison_refresh(business=big)
        timings["comparison"] = time.perf_counter() - started
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) referrals_referraldailystats")
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table} WHERE business_id = %s", [big.pk]).fetchone()[0]
            for table in ["clients_client", "referrals_referral", "bookings_booking"]
        }
        counts["clicks"] = conn.execute(
            "SELECT sum(clicks) FROM referrals_clickcount WHERE business_id = %s", [big.pk]
        ).fetchone()[0]
    print("  loaded (big business): " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    print("  seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    return {"business": big, "owner": owner}


def measure(context) -> list[tuple[str, float, int]]:
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from referrals.analytics import comparison_refresh

    business, owner = context["business"], context["owner"]
    if cache.get(f"referrals:overview:comparison:{business.pk}") is None:
        from django_scopes import scope

        with scope(business=business):
            comparison_refresh(business=business)
    http = HttpClient(HTTP_HOST="localhost")
    http.force_login(owner)
    slug = business.slug
    pages = [
        ("overview, last 30 days", reverse("overview", args=[slug])),
        ("overview, this year", reverse("overview", args=[slug]) + "?period=year"),
        ("leaderboard, last 30 days", reverse("referrals:leaderboard", args=[slug])),
        ("referrals board", reverse("referrals:index", args=[slug])),
        ("clients list", reverse("clients:index", args=[slug])),
    ]
    rows = []
    for label, url in pages:
        for _ in range(WARMUP):
            response = http.get(url)
            assert response.status_code == 200, (url, response.status_code)
        timings = []
        for _ in range(RUNS):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                http.get(url)
                timings.append((time.perf_counter() - start) * 1000)
        rows.append((label, statistics.median(timings), len(queries)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="clients in the big business, comma-separated")
    parser.add_argument("--businesses", type=int, default=1000, help="businesses in all, the big one included")
    parser.add_argument("--reuse", action="store_true", help="measure the existing bench database again (one size)")
    args = parser.parse_args()
    try:
        sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    except ValueError:
        fail("--sizes takes whole numbers separated by commas, e.g. 10000,100000")
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        fail(
            "bench/dashboard.py measures PostgreSQL only. Set DATABASE_URL=postgres://user@host:5432/anydb; the "
            f"bench creates and uses its own database '{BENCH_DB}' on that server."
        )
    os.environ["DJANGO_DEBUG"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "referrals_saas.settings")
    os.environ["DATABASE_URL"] = urlunparse(urlparse(url)._replace(path=f"/{BENCH_DB}"))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_scopes import scopes_disabled

    from businesses.models import Business, User

    results = []
    for size in sizes[:1] if args.reuse else sizes:
        print(f"\n{size:,} clients in the big business, {args.businesses} businesses")
        if not args.reuse:
            connection.close()
            prepare_database(url, BENCH_DB)
            started = time.perf_counter()
            call_command("migrate", verbosity=0)
            print(f"  migrated in {time.perf_counter() - started:.1f}s")
            started = time.perf_counter()
            with scopes_disabled():
                context = build(size, args.businesses)
            print(f"  built in {time.perf_counter() - started:.1f}s")
        else:
            context = {
                "business": Business.objects.get(slug="bench-0"),
                "owner": User.objects.get(email="owner@bench.example"),
            }
        for label, median, queries in measure(context):
            results.append((size, label, median, queries))

    width = max(len(label) for _, label, _, _ in results)
    print(f"\n{'clients':>9}  {'page':<{width}}  {'median ms':>9}  {'queries':>7}")
    print(f"{'-' * 9}  {'-' * width}  {'-' * 9}  {'-' * 7}")
    for size, label, median, queries in results:
        print(f"{size:>9,}  {label:<{width}}  {median:9.1f}  {queries:7d}")


if __name__ == "__main__":
    main()
