"""Benchmark of the dashboard's clients list with one big business among many, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/referrals_saas \\
        .venv/bin/python bench/clients_list.py --clients 1000000 --businesses 50

It never touches the database DATABASE_URL names: it drops and recreates its own database (`referrals_bench` on
the same server, through the `postgres` maintenance database), migrates it, loads the clients with COPY, runs
VACUUM ANALYZE, then requests the list page as the owner through Django's test client, with no filter and with
each filter, and prints the median and p90 server time and the number of queries per page.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ itself is first on sys.path, where bench/click.py would shadow the click package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from bench.common import fail, prepare_database  # noqa: E402  (needs ROOT on sys.path)

BENCH_DB = "referrals_bench"
COUNT_SHOWN = re.compile(r"<strong>([\d,+]+)</strong> client")
RUNS = 15
WARMUP = 3
FIRST_NAMES = [
    "Anna",
    "Ben",
    "Chloe",
    "Daniel",
    "Emma",
    "Finn",
    "Grace",
    "Harry",
    "Isla",
    "Jack",
    "Katie",
    "Liam",
    "Mia",
    "Noah",
    "Olivia",
    "Peter",
    "Quinn",
    "Ruby",
    "Sam",
    "Tara",
    "Umar",
    "Violet",
    "Will",
    "Xena",
    "Yusuf",
    "Zoe",
    "Aisha",
    "Bilal",
    "Carmen",
    "Diego",
    "Elena",
    "Farah",
    "Gustav",
    "Hana",
    "Ivan",
    "Jun",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Rosa",
    "Sofia",
    "Tomas",
    "Uma",
    "Vikram",
    "Wen",
    "Yara",
    "Zaid",
    "Alice",
    "Bruno",
    "Clara",
    "Dmitri",
    "Eva",
    "Felix",
    "Greta",
    "Hugo",
]
LAST_NAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Patel",
    "Khan",
    "Lewis",
    "James",
    "Phillips",
    "Mason",
    "Mitchell",
    "Rose",
    "Davis",
    "Rodriguez",
    "Cox",
    "Alexander",
    "Garcia",
    "Martin",
    "Murphy",
    "Kelly",
    "Novak",
    "Schmidt",
    "Rossi",
    "Muller",
    "Dubois",
    "Silva",
    "Kowalski",
    "Nguyen",
    "Kim",
    "Okafor",
    "Haddad",
    "Svensson",
    "Moreau",
    "Fischer",
    "Costa",
    "Ivanova",
    "Tanaka",
    "Chen",
    "Singh",
    "Ahmed",
    "Hughes",
    "Edwards",
    "Baker",
    "Turner",
    "Hill",
]
DOMAINS = ["example.com", "mail.example", "inbox.example", "post.example", "studio-mail.example"]
TAG_NAMES = [
    "VIP",
    "Sports massage",
    "Prenatal",
    "Deep tissue",
    "Gift voucher",
    "Corporate",
    "Student",
    "Senior",
    "Newsletter",
    "Moved away",
    "Allergies noted",
    "Weekend only",
]
SOURCES = [
    ("online_booking", 40),
    ("walk_in", 20),
    ("heard_about", 15),
    ("promotion", 8),
    ("import", 10),
    ("other", 7),
]


def secondary_indexes(cursor, tables: list[str]) -> list[tuple[str, str]]:
    """(name, definition) of every index on `tables` that does not back a constraint: safe to drop and rebuild."""
    cursor.execute(
        """
        SELECT c.relname, pg_get_indexdef(c.oid)
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relname = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        """,
        [tables],
    )
    return list(cursor.fetchall())


class ClientRows:
    """Realistic clients for one business: names, contacts, sources, visits, spend, ~30% referred by earlier ones."""

    def __init__(self, rng: random.Random, business_id: int, count: int, first_id: int, now: datetime, tag_ids):
        self.rng, self.business_id, self.count, self.first_id, self.now = rng, business_id, count, first_id, now
        self.tag_ids = tag_ids
        # Referrers are earlier clients, skewed so that a few regulars refer many friends.
        self.referrer = [None] * count
        self.referred_count = [0] * count
        # Erasure removes a client's tags (clients.privacy), so erased clients get none here either.
        self.erased = {i for i in range(count) if rng.random() < 0.002}
        for i in range(1, count):
            if rng.random() < 0.3:
                r = int(i * rng.random() ** 3)
                self.referrer[i] = r
                self.referred_count[r] += 1

    def clients(self, columns: list[str], defaults: dict):
        rng, now = self.rng, self.now
        sources, weights = zip(*SOURCES, strict=True)
        five_years = 5 * 365 * 86400
        for i in range(self.count):
            first = rng.choice(FIRST_NAMES)
            last = rng.choice(LAST_NAMES)
            email = f"{first}.{last}{self.first_id + i}@{rng.choice(DOMAINS)}".lower() if rng.random() < 0.92 else ""
            phone = f"+447{(self.first_id + i) % 1_000_000_000:09d}" if rng.random() < 0.8 else ""
            created = now - timedelta(seconds=rng.randrange(five_years))
            referrer = self.referrer[i]
            source = "client_referral" if referrer is not None else rng.choices(sources, weights)[0]
            roll = rng.random()
            visits = 0 if roll < 0.25 else 1 + int(rng.expovariate(1 / 4))
            first_visit = last_visit = None
            if visits:
                span = max(1, int((now - created).total_seconds()))
                first_visit = created + timedelta(seconds=rng.randrange(span))
                recent = max(1, int((now - first_visit).total_seconds()))
                last_visit = now - timedelta(seconds=int(recent * rng.random() ** 2))
            values = {
                "id": self.first_id + i,
                "business_id": self.business_id,
                "first_name": first,
                "last_name": last,
                "email": email,
                "email_canonical": email,
                "phone": phone,
                "source": source,
                "referred_by_id": self.first_id + referrer if referrer is not None else None,
                "created_at": created,
                "completed_visits": visits,
                "first_visit_at": first_visit,
                "last_visit_at": last_visit,
                "lifetime_spend": sum(rng.randrange(3000, 9000, 10) for _ in range(min(visits, 5)))
                * max(1, visits // 5),
                "referred_clients_count": self.referred_count[i],
                "erased_at": now if i in self.erased else None,
                "email_consent": rng.random() < 0.6,
                "sms_consent": rng.random() < 0.3,
            }
            yield tuple(values[c] if c in values else defaults[c] for c in columns)

    def client_tags(self):
        rng = self.rng
        for i in range(self.count):
            roll = rng.random()
            if i in self.erased:
                continue
            n = 0 if roll < 0.4 else 1 if roll < 0.75 else 2 if roll < 0.92 else 3
            for tag_id in rng.sample(self.tag_ids, n):
                yield (self.business_id, self.first_id + i, tag_id)


def build(args) -> dict:
    import psycopg
    from django.db import connection

    from businesses.models import Business, Membership, Role, User
    from clients.models import Client, Tag

    rng = random.Random(20260401)
    now = datetime.now(UTC)
    owner = User.objects.create_user(email="owner@bench.example", password=None)
    businesses = Business.objects.bulk_create(
        [
            Business(
                name=f"Bench studio {n}", slug=f"bench-{n}", time_zone="Europe/London", currency="GBP", country="GB"
            )
            for n in range(args.businesses)
        ]
    )
    big = businesses[0]
    Membership.objects.create(business=big, user=owner, role=Role.OWNER)
    tags = Tag.objects.bulk_create([Tag(business=b, name=name) for b in businesses for name in TAG_NAMES])
    tags_by_business: dict[int, list[int]] = {}
    for tag in tags:
        tags_by_business.setdefault(tag.business_id, []).append(tag.pk)

    others = max(0, args.businesses - 1)
    small = max(50, args.clients // 5 // others) if others else 0
    plan = [(big, args.clients)] + [(b, small) for b in businesses[1:]]

    fields = [f for f in Client._meta.concrete_fields]
    columns = [f.column for f in fields]
    defaults = {f.column: (None if f.null else f.get_default()) for f in fields}

    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        indexes = secondary_indexes(raw, ["clients_client", "clients_clienttag"])
        for name, _ in indexes:
            raw.execute(f'DROP INDEX "{name}"')
        try:
            # Rows are consistent by construction; skipping the per-row foreign-key triggers halves the load.
            raw.execute("SET session_replication_role = replica")
        except psycopg.errors.InsufficientPrivilege:
            print("Not a superuser: loading with foreign-key checks (slower).")
        next_id = 1
        total = 0
        for business, count in plan:
            rows = ClientRows(rng, business.pk, count, next_id, now, tags_by_business[business.pk])
            with raw.copy(f"COPY clients_client ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows.clients(columns, defaults):
                    copy.write_row(row)
            with raw.copy("COPY clients_clienttag (business_id, client_id, tag_id) FROM STDIN") as copy:
                for row in rows.client_tags():
                    copy.write_row(row)
            next_id += count
            total += count
        raw.execute("SET session_replication_role = DEFAULT")
        raw.execute("SELECT setval(pg_get_serial_sequence('clients_client', 'id'), %s)", [next_id])
        loaded = time.perf_counter()
        raw.execute("SET maintenance_work_mem = '1GB'")
        for _, definition in indexes:
            raw.execute(definition)
        indexed = time.perf_counter()
    connection.close()
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) clients_client")
        conn.execute("VACUUM (ANALYZE) clients_clienttag")
    print(
        f"Loaded {total:,} clients ({args.clients:,} in the big business, {others} others with {small:,} each) "
        f"in {loaded - started:.1f}s; rebuilt {len(indexes)} indexes in {indexed - loaded:.1f}s; "
        f"vacuum/analyze {time.perf_counter() - indexed:.1f}s"
    )
    return {"business": big, "owner": owner}


def scenarios(business) -> list[tuple[str, dict]]:
    from django_scopes import scope

    from clients.models import Client, Tag

    with scope(business=business):
        vip = Tag.objects.get(business=business, name="VIP").pk
        prenatal = Tag.objects.get(business=business, name="Prenatal").pk
        top = Client.objects.filter(business=business).order_by("-referred_clients_count").first()
        sample = Client.objects.filter(business=business, phone__gt="", email__gt="").order_by("id")[1000]
    today = datetime.now(UTC).date()
    return [
        ("no filter", {}),
        ("no filter, page 20", {"page": 20}),
        ("search last name “garcia”", {"q": "garcia"}),
        ("search two words “mia patel”", {"q": "mia patel"}),
        ("search e-mail fragment", {"q": sample.email.split("@")[0]}),
        ("search phone (national)", {"q": "0" + sample.phone[3:]}),
        ("search, no match", {"q": "zzqx"}),
        ("is a referrer", {"referrer": 1}),
        ("source client referral", {"source": "client_referral"}),
        ("referred by top referrer", {"referred_by": top.pk}),
        ("last visit > 90 days", {"last_visit_more_than": 90}),
        ("last visit < 30 days", {"last_visit_less_than": 30}),
        ("never visited", {"never_visited": 1}),
        ("visits > 10", {"visits_more_than": 10}),
        ("visits < 2", {"visits_less_than": 2}),
        ("tag VIP", {"tag": vip}),
        (
            "created in one quarter",
            {"created_from": today - timedelta(days=400), "created_to": today - timedelta(days=310)},
        ),
        ("referrer + > 90 days + tag", {"referrer": 1, "last_visit_more_than": 90, "tag": prenatal}),
        ("search + referrer + visits > 3", {"q": "ann", "referrer": 1, "visits_more_than": 3}),
        ("htmx partial, tag + < 30 days", {"tag": vip, "last_visit_less_than": 30, "_htmx": 1}),
    ]


def measure(context, explain: bool, only: str = "") -> None:
    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    business, owner = context["business"], context["owner"]
    http = HttpClient(HTTP_HOST="localhost")
    http.force_login(owner)
    base = reverse("clients:index", args=[business.slug])
    extra_pages = [
        ("tags page", reverse("clients:tags", args=[business.slug])),
    ]
    rows = []
    plans = []
    cases = [(label, params) for label, params in scenarios(business)]
    for label, params in [*cases, *[(label, {"_url": url}) for label, url in extra_pages]]:
        if only and only.lower() not in label.lower():
            continue
        params = dict(params)
        url = params.pop("_url", base)
        headers = {"HX-Request": "true"} if params.pop("_htmx", None) else {}
        full = f"{url}?{urlencode(params)}" if params else url
        for _ in range(WARMUP):
            response = http.get(full, headers=headers)
            assert response.status_code == 200, (full, response.status_code)
        timings = []
        for _ in range(RUNS):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = http.get(full, headers=headers)
                timings.append((time.perf_counter() - start) * 1000)
        found = COUNT_SHOWN.search(response.content.decode())
        shown = found.group(1) if found else ""
        timings.sort()
        p90 = timings[min(len(timings) - 1, round(0.9 * (len(timings) - 1)))]
        rows.append((label, statistics.median(timings), p90, len(queries), shown))
        if explain:
            slow = [q for q in queries.captured_queries if float(q["time"]) > 0.010]
            plans.extend((label, q["sql"]) for q in slow)

    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'page':<{width}}  {'median ms':>9}  {'p90 ms':>7}  {'queries':>7}  matches shown")
    print(f"{'-' * width}  {'-' * 9}  {'-' * 7}  {'-' * 7}  {'-' * 13}")
    for label, median, p90, n, shown in rows:
        print(f"{label:<{width}}  {median:9.1f}  {p90:7.1f}  {n:7d}  {shown}")
    worst = max(rows, key=lambda r: r[1])
    print(f"\nSlowest: {worst[0]} at {worst[1]:.1f} ms median (budget: 100 ms).")
    if plans:
        with connection.cursor() as cursor:
            for label, sql in plans:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                print(f"\n--- {label}: {sql[:300]}")
                print("\n".join(line for (line,) in cursor.fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1_000_000, help="clients in the big business")
    parser.add_argument("--businesses", type=int, default=50, help="businesses in all, the big one included")
    parser.add_argument("--explain", action="store_true", help="print the plans of queries slower than 10 ms")
    parser.add_argument("--only", default="", help="measure only the pages whose label contains this text")
    parser.add_argument("--reuse", action="store_true", help="measure the existing bench database again")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        fail(
            "bench/clients_list.py measures PostgreSQL only (SQLite says nothing about production). Set "
            "DATABASE_URL=postgres://user@host:5432/anydb; the bench creates and uses its own database "
            f"'{BENCH_DB}' on that server."
        )
    bench_url = (
        urlunparse(urlparse(url)._replace(path=f"/{BENCH_DB}")) if args.reuse else prepare_database(url, BENCH_DB)
    )
    os.environ["DATABASE_URL"] = bench_url
    os.environ["DJANGO_DEBUG"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "referrals_saas.settings")

    import django

    django.setup()
    from django.core.management import call_command
    from django_scopes import scopes_disabled

    if args.reuse:
        from businesses.models import Business, User

        context = {
            "business": Business.objects.get(slug="bench-0"),
            "owner": User.objects.get(email="owner@bench.example"),
        }
    else:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"Migrated {BENCH_DB} in {time.perf_counter() - started:.1f}s")
        with scopes_disabled():
            context = build(args)
    measure(context, args.explain, args.only)


if __name__ == "__main__":
    main()
