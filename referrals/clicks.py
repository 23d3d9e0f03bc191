"""Clicks on referral links: the cached code lookup behind /r/<code>, the click counters and their flush.

The click is the product's hottest request, so it never writes to the database and never touches the session:
the code is looked up in this process's recent lookups, then in the shared cache (the database only on a
miss), the click is counted in Redis with one command, or in this process when there is no Redis, and
`clicks_flush` (beat, every minute) moves the counts into ClickCount.

Redis layout, under `counter_prefix()`:

    <prefix>:day:<YYYY-MM-DD>      hash "<business id>:<code id>" -> clicks on that local day so far
    <prefix>:flushed:<YYYY-MM-DD>  hash, the same fields -> the figure last written to ClickCount
    <prefix>:days                  set of the days that have a hash still to flush (each process adds
                                   its current day once a minute; the flush also visits the days around today)

Code id 0 counts an unknown or retired code of that business (ClickCount.code NULL); business id 0 counts a
code that no business knows (logged when its day is flushed for the last time: there is no business to own it).

Why running totals and GREATEST instead of moving deltas with GETDEL/RENAME: the flush writes to Redis and to
the database, and no transaction spans both. A flush that takes a delta and crashes after the database commit
but before deleting the taken batch counts it twice on retry; one that deletes first loses it. A running total
makes the database write idempotent instead: `clicks = GREATEST(clicks, total)` gives the same row whether a
flush runs once, twice at the same time, or again after crashing anywhere, and a total only grows, so a late
writer can never lower a figure. The "flushed" hash only spares rewriting rows that did not change; it is
written after the commit, so at worst a row is written again. The limit: if Redis loses its data mid-day (it
runs with append-only persistence in docker-compose), that day's later clicks stay invisible until they pass
the figure already stored.

Without Redis (the embedded default) each process counts deltas under a lock and adds them to ClickCount,
from a background thread every CLICKS_LOCAL_FLUSH_SECONDS and from `clicks_flush`; a failed write puts the
deltas back. A process that dies loses its unflushed minute, which the embedded default accepts.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection, transaction
from django.db.models import Sum
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from businesses.models import Business
from clients.models import Client

# A module import, not `from .codes import ...`: codes.py may import this module back to call forget_code.
from . import codes
from .models import ClickCount, ReferralCode

logger = logging.getLogger(__name__)

CACHE_SECONDS = 15 * 60
# A code that nobody has is cached too, briefly, so that a flood of made-up codes costs one query per code per
# minute; a code created since is found at the latest after this long (or at once, see forget_code).
UNKNOWN_CACHE_SECONDS = 60
CACHE_KEY = "refclick:{code}"
FLUSH_CHUNK = 1000
# A local day D is over in every time zone (UTC+14 to UTC-12) at D+1 12:00 UTC; the margin covers clock skew.
LAST_FLUSH_AFTER = timedelta(days=1, hours=13)
FINISHED_DAY_KEPT = 2 * 24 * 3600
NO_ID = 0


@dataclass(frozen=True, slots=True)
class Target:
    """Where a click on one code goes and how it is counted."""

    location: str
    business_id: int  # NO_ID: no business has this code
    code_id: int  # NO_ID: the code is unknown to the business or no longer attributes
    time_zone: str = "UTC"

    @property
    def is_referral(self) -> bool:
        return self.code_id != NO_ID


# --------------------------------------------------------------------------------------------- the lookup


def with_ref(url: str, code: str) -> str:
    """`url` with `ref=<code>` as its last query parameter, keeping its other parameters and fragment as written."""
    base, hash_mark, fragment = url.partition("#")
    path, _, query = base.partition("?")
    kept = [part for part in query.split("&") if part and part.split("=", 1)[0] != "ref"]
    kept.append(f"ref={code}")
    return f"{path}?{'&'.join(kept)}{hash_mark}{fragment}"


def booking_page(*, slug: str, booking_url: str) -> str:
    """The business's booking page: the URL the owner set, or the hosted page."""
    return booking_url or reverse("widget_public:landing", args=[slug])


def _load(code: str) -> tuple[Target, int]:
    # Codes are unique across businesses (the link carries no business), so this one lookup crosses tenants.
    with scopes_disabled():
        row = (
            ReferralCode.objects.filter(code=code)
            .values_list(
                "pk",
                "business_id",
                "retired_at",
                "client__erased_at",
                "business__slug",
                "business__time_zone",
                "business__referral_program__booking_url",
            )
            .first()
        )
    if row is None:
        return Target(location=reverse("home"), business_id=NO_ID, code_id=NO_ID), UNKNOWN_CACHE_SECONDS
    code_id, business_id, retired_at, erased_at, slug, time_zone, booking_url = row
    page = booking_page(slug=slug, booking_url=booking_url or "")
    if retired_at is None and erased_at is None:
        return Target(with_ref(page, code), business_id, code_id, time_zone), CACHE_SECONDS
    return Target(page, business_id, NO_ID, time_zone), CACHE_SECONDS


# The process's own copy of recent lookups, in front of the shared cache. Measured, the shared cache's read is
# the larger half of a click's cost (bench/click.py, docs/PERFORMANCE.md). Its price: another web process may
# use a forgotten entry for up to these seconds (forget_* drops the shared entry and this process's copy). It is
# off in development and tests (DEBUG), where nothing needs it and a stale copy would only surprise.
PROCESS_CACHE_SECONDS = 5
PROCESS_CACHE_SIZE = 10_000
_process_cache: dict[str, tuple[float, Target]] = {}


def _process_cache_seconds() -> float:
    return getattr(settings, "CLICKS_PROCESS_CACHE_SECONDS", 0 if settings.DEBUG else PROCESS_CACHE_SECONDS)


def _shared_lookup(code: str) -> Target:
    key = CACHE_KEY.format(code=code)
    try:
        cached = cache.get(key)
    except Exception:  # the cache is an optimisation: whatever its client raises, the database answers
        logger.warning("Referral click: cache unavailable, looking %s up in the database", code, exc_info=True)
        cached = None
    if cached is not None:
        return Target(*cached)
    target, seconds = _load(code)
    try:
        cache.set(key, (target.location, target.business_id, target.code_id, target.time_zone), seconds)
    except Exception:  # as above
        logger.warning("Referral click: could not cache %s", code, exc_info=True)
    return target


def lookup(raw: str) -> Target:
    """Where a click on `raw` goes. Zero queries on a warm cache; a cache outage falls back to the database."""
    code = codes.normalise(raw)
    if not code:
        return Target(location=reverse("home"), business_id=NO_ID, code_id=NO_ID)
    seconds = _process_cache_seconds()
    if not seconds:
        return _shared_lookup(code)
    now = time.monotonic()
    recent = _process_cache.get(code)
    if recent is not None and recent[0] > now:
        return recent[1]
    target = _shared_lookup(code)
    if len(_process_cache) >= PROCESS_CACHE_SIZE:
        _process_cache.clear()  # crude, but bounded, and refilled from the shared cache at one read per code
    _process_cache[code] = (now + seconds, target)
    return target


def _forget_now(code_strings: list[str]) -> None:
    for code in code_strings:
        _process_cache.pop(code, None)
    try:
        cache.delete_many([CACHE_KEY.format(code=code) for code in code_strings])
    except Exception:  # an entry that could not be dropped still expires after CACHE_SECONDS
        logger.warning("Referral click: could not drop cached codes %s", code_strings[:5], exc_info=True)


def _forget_on_commit(code_strings: Iterable[str]) -> None:
    # After the commit: dropped any earlier, a click in between could cache the old state again.
    normalised = sorted({codes.normalise(code) for code in code_strings} - {""})
    for start in range(0, len(normalised), 500):
        chunk = normalised[start : start + 500]
        transaction.on_commit(lambda chunk=chunk: _forget_now(chunk))


def forget_code(code: ReferralCode | str) -> None:
    """Drop the cached lookup of one code once the caller's transaction commits (created, retired, deleted)."""
    _forget_on_commit([str(code)])


def forget_client(*, business: Business, client: Client) -> None:
    """Drop the cached lookups of every code of a client (erased, deleted, merged)."""
    with scope(business=business):
        _forget_on_commit(ReferralCode.objects.filter(business=business, client=client).values_list("code", flat=True))


def forget_business(business: Business) -> None:
    """Drop the cached lookups of every code of a business (booking page, slug or time zone changed)."""
    with scope(business=business):
        every_code = ReferralCode.objects.filter(business=business).values_list("code", flat=True)
        _forget_on_commit(every_code.iterator(chunk_size=2000))


# --------------------------------------------------------------------------------------------- counting


def counter_prefix() -> str:
    configured = getattr(settings, "CLICKS_KEY_PREFIX", "")
    if configured:
        return configured
    return f"{settings.CACHES['default'].get('KEY_PREFIX') or 'rs'}:clicks"


def _redis_url() -> str:
    return getattr(settings, "CLICKS_REDIS_URL", None) or settings.REDIS_URL or ""


@lru_cache(maxsize=4)
def _client_for(url: str):
    import redis

    # Short timeouts: a Redis that stalls must not hold the click; the click is then counted in this process.
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=30)


def redis_client():
    """The Redis that counts clicks, or None on the embedded default."""
    url = _redis_url()
    return _client_for(url) if url else None


def local_day(time_zone: str, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(_zone(time_zone)).date()


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class LocalCounter:
    """Per-process click deltas for when there is no Redis, or Redis fails: (day, business, code) -> clicks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: defaultdict[tuple[date, int, int], int] = defaultdict(int)
        self._flusher: threading.Thread | None = None
        self._stopped = threading.Event()

    def add(self, day: date, business_id: int, code_id: int, clicks: int = 1) -> None:
        with self._lock:
            self._counts[(day, business_id, code_id)] += clicks
            if self._flusher is None:
                self._start_flusher()

    def take(self) -> dict[tuple[date, int, int], int]:
        with self._lock:
            taken, self._counts = self._counts, defaultdict(int)
        return dict(taken)

    def put_back(self, counts: dict[tuple[date, int, int], int]) -> None:
        with self._lock:
            for key, clicks in counts.items():
                self._counts[key] += clicks

    def pending(self, business_id: int, code_ids: set[int], since: date | None = None) -> int:
        with self._lock:
            return sum(
                clicks
                for (day, business, code), clicks in self._counts.items()
                if business == business_id and code in code_ids and (since is None or day >= since)
            )

    def _start_flusher(self) -> None:
        seconds = getattr(settings, "CLICKS_LOCAL_FLUSH_SECONDS", 60)
        if not seconds:
            self._flusher = threading.current_thread()  # switched off (tests): remember not to try again
            return
        self._flusher = threading.Thread(target=self._flush_forever, args=(seconds,), name="clicks-flush", daemon=True)
        self._flusher.start()
        atexit.register(self.flush_quietly)

    def _flush_forever(self, seconds: float) -> None:
        while not self._stopped.wait(seconds):
            self.flush_quietly()

    def stop_flusher(self) -> None:
        self._stopped.set()

    def flush_quietly(self) -> None:
        try:
            flush_local(self)
        except Exception:  # the deltas were put back; the next round tries again
            logger.exception("Referral clicks: in-process flush failed")
        finally:
            close_old_connections()


local_counter = LocalCounter()
_last_warning = 0.0


# When this process last added a day to the set of days to flush. Re-added every minute rather than on every
# click: one command per click instead of two; the flush also looks at the days around today by itself.
_days_announced: dict[tuple[str, str], float] = {}
ANNOUNCE_EVERY = 60.0


def count(target: Target, now: datetime | None = None) -> None:
    """Count one click: one round trip to Redis, or a dictionary update without it. Never raises."""
    day = local_day(target.time_zone, now).isoformat()
    client = redis_client()
    if client is not None:
        prefix = counter_prefix()
        field = f"{target.business_id}:{target.code_id}"
        try:
            announced = _days_announced.get((prefix, day), 0.0)
            if time.monotonic() - announced < ANNOUNCE_EVERY:
                client.hincrby(f"{prefix}:day:{day}", field, 1)
                return
            pipe = client.pipeline(transaction=False)
            pipe.hincrby(f"{prefix}:day:{day}", field, 1)
            pipe.sadd(f"{prefix}:days", day)
            pipe.execute()
            _days_announced[(prefix, day)] = time.monotonic()
            return
        except Exception:  # any Redis failure: count here instead of losing the click or failing the redirect
            _warn_redis_down()
    local_counter.add(date.fromisoformat(day), target.business_id, target.code_id)


def _warn_redis_down() -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning > 60:
        _last_warning = now
        logger.warning("Referral clicks: Redis unavailable, counting in this process", exc_info=True)


# --------------------------------------------------------------------------------------------- the flush


def _upsert(rows: list[tuple[int, int | None, date, int]], *, additive: bool) -> None:
    """Insert or update ClickCount rows (business id, code id or None, day, clicks), in one statement per kind.

    `additive` adds the clicks (in-process deltas); otherwise the stored figure becomes the larger of the two
    (Redis running totals). Rows are sorted, so concurrent flushes lock them in the same order.
    """
    table = connection.ops.quote_name(ClickCount._meta.db_table)
    larger = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    new_value = f"{table}.clicks + excluded.clicks" if additive else f"{larger}({table}.clicks, excluded.clicks)"
    with_code = sorted(row for row in rows if row[1] is not None)
    without_code = sorted((row for row in rows if row[1] is None), key=lambda row: (row[0], row[2]))
    targets = [
        (with_code, "(business_id, code_id, day) WHERE code_id IS NOT NULL"),
        (without_code, "(business_id, day) WHERE code_id IS NULL"),
    ]
    with connection.cursor() as cursor:
        for batch_rows, conflict in targets:
            for start in range(0, len(batch_rows), 500):
                batch = batch_rows[start : start + 500]
                values = ", ".join(["(%s, %s, %s, %s)"] * len(batch))
                cursor.execute(
                    f"INSERT INTO {table} (business_id, code_id, day, clicks) VALUES {values} "
                    f"ON CONFLICT {conflict} DO UPDATE SET clicks = {new_value}",
                    [value for row in batch for value in row],
                )


def _existing(pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """The (business id, code id) pairs that still exist; code id NO_ID stands for the business alone.

    A code deleted since its click took its ClickCount rows with it (CASCADE), so its clicks are dropped too.
    """
    code_ids = {code for _, code in pairs if code != NO_ID}
    business_ids = {business for business, code in pairs if code == NO_ID and business != NO_ID}
    with scopes_disabled():
        found = set(ReferralCode.objects.filter(pk__in=code_ids).values_list("business_id", "pk"))
        businesses = set(Business.objects.filter(pk__in=business_ids).values_list("pk", flat=True))
    return found | {(business, NO_ID) for business in businesses}


def _rows(counts: Iterable[tuple[date, int, int, int]]) -> list[tuple[int, int | None, date, int]]:
    counts = list(counts)
    existing = _existing({(business, code) for _, business, code, _ in counts if business != NO_ID})
    return [
        (business, code if code != NO_ID else None, day, clicks)
        for day, business, code, clicks in counts
        if (business, code) in existing
    ]


def flush_local(counter: LocalCounter | None = None) -> int:
    """Add this process's click deltas to ClickCount; on failure they are put back. Returns the rows written."""
    counter = counter or local_counter
    taken = counter.take()
    if not taken:
        return 0
    unknown = sum(clicks for (_, business, _), clicks in taken.items() if business == NO_ID)
    if unknown:
        logger.info("Referral clicks: %d clicks on codes that no business has", unknown)
    try:
        rows = _rows((day, business, code, clicks) for (day, business, code), clicks in taken.items())
        with transaction.atomic():
            _upsert(rows, additive=True)
    except BaseException:
        counter.put_back(taken)
        raise
    return len(rows)


def _parse_field(field: bytes) -> tuple[int, int]:
    business, _, code = field.decode().partition(":")
    return int(business), int(code)


def _scan(client, key: str) -> Iterator[tuple[bytes, int]]:
    for field, value in client.hscan_iter(key, count=FLUSH_CHUNK):
        yield field, int(value)


def flush_redis(now: datetime | None = None) -> int:
    """Write Redis's running totals into ClickCount; idempotent (see the module docstring). Returns rows written."""
    client = redis_client()
    if client is None:
        return 0
    now = now or datetime.now(UTC)
    prefix = counter_prefix()
    written = 0
    announced = {member.decode() for member in client.smembers(f"{prefix}:days")}
    # Today's neighbours too, in case the set lost a day that the click path believes it announced.
    days = announced | {(now.date() + timedelta(days=offset)).isoformat() for offset in (-1, 0, 1)}
    for day_text in sorted(days):
        day = date.fromisoformat(day_text)
        day_key, flushed_key = f"{prefix}:day:{day_text}", f"{prefix}:flushed:{day_text}"
        # Decided before reading the totals: a day found over has had its last click already.
        last_flush = now >= datetime.combine(day, datetime.min.time(), tzinfo=UTC) + LAST_FLUSH_AFTER
        flushed = dict(_scan(client, flushed_key))
        totals = dict(_scan(client, day_key))
        changed = sorted((field, total) for field, total in totals.items() if flushed.get(field) != total)
        for start in range(0, len(changed), FLUSH_CHUNK):
            chunk = changed[start : start + FLUSH_CHUNK]
            rows = _rows((day, *_parse_field(field), total) for field, total in chunk)
            with transaction.atomic():
                _upsert(rows, additive=False)
            written += len(rows)
            client.hset(flushed_key, mapping=dict(chunk))
        if last_flush:
            unknown = totals.get(f"{NO_ID}:{NO_ID}".encode(), 0) if day_text in announced else 0
            if unknown:
                logger.info("Referral clicks: %d clicks on %s on codes that no business has", unknown, day_text)
            pipe = client.pipeline(transaction=False)
            pipe.expire(day_key, FINISHED_DAY_KEPT)
            pipe.expire(flushed_key, FINISHED_DAY_KEPT)
            pipe.srem(f"{prefix}:days", day_text)
            pipe.execute()
    return written


def clicks_flush(now: datetime | None = None) -> int:
    """Move every counted click into ClickCount: this process's deltas, then Redis's totals. Safe to run at once.

    The deltas go first: they are what was counted while Redis failed, and Redis may be failing still.
    """
    written = flush_local()
    return written + flush_redis(now)


# --------------------------------------------------------------------------------------------- reading


def _pending_in_redis(business_id: int, code_ids: list[int], since: date | None) -> dict[tuple[int, date], int]:
    """Redis's running totals of these codes for the days not flushed for the last time: (code id, day) -> total."""
    client = redis_client()
    if client is None or not code_ids:
        return {}
    prefix = counter_prefix()
    try:
        days = sorted(date.fromisoformat(member.decode()) for member in client.smembers(f"{prefix}:days"))
        days = [day for day in days if since is None or day >= since]
        pipe = client.pipeline(transaction=False)
        for day in days:
            pipe.hmget(f"{prefix}:day:{day.isoformat()}", [f"{business_id}:{code_id}" for code_id in code_ids])
        answers = pipe.execute()
    except Exception:  # figures for a page: without Redis they show what the database has
        logger.warning("Referral clicks: Redis unavailable for the unflushed figures", exc_info=True)
        return {}
    return {
        (code_id, day): int(value)
        for day, values in zip(days, answers, strict=True)
        for code_id, value in zip(code_ids, values, strict=True)
        if value is not None
    }


def _clicks(business: Business, code_ids: list[int], since: date | None) -> int:
    if not code_ids:
        return 0
    stored = ClickCount.objects.filter(business=business, code_id__in=code_ids)
    if since is not None:
        stored = stored.filter(day__gte=since)
    pending = _pending_in_redis(business.pk, code_ids, since)
    total = 0
    if pending:
        recent_days = {day for _, day in pending}
        older = stored.exclude(day__in=recent_days).aggregate(total=Sum("clicks"))["total"] or 0
        recent = dict(
            ((code_id, day), clicks)
            for code_id, day, clicks in stored.filter(day__in=recent_days).values_list("code_id", "day", "clicks")
        )
        for key in recent.keys() | pending.keys():
            total += max(recent.get(key, 0), pending.get(key, 0))
        total += older
    else:
        total = stored.aggregate(total=Sum("clicks"))["total"] or 0
    return total + local_counter.pending(business.pk, set(code_ids), since)


def clicks_for_code(*, business: Business, code: ReferralCode, since: date | None = None) -> int:
    """Clicks on one code's link since a local day (or ever), counting what the next flush will write."""
    return _clicks(business, [code.pk], since)


def clicks_total(*, business: Business, client: Client) -> int:
    """Clicks on all of a client's links, old codes included, counting what the next flush will write."""
    code_ids = list(ReferralCode.objects.filter(business=business, client=client).values_list("pk", flat=True))
    return _clicks(business, code_ids, None)
