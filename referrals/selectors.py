"""Reads for the referral screens: the board, the review queue, a referral's page and the leaderboard.

Every read filters on the business first and walks an index that starts with it: the board's columns and the
review queue are keyset pages over (business, status, created_at), the leaderboard aggregates one period of a
partial index of confirmed referrals or reads the referrers' running tallies, and the rows a page shows are joined
or prefetched in a fixed number of queries, whatever the number of cards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import (
    BigIntegerField,
    Count,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    prefetch_related_objects,
)

from bookings.models import Booking, BookingStatus
from bookings.selectors import day_end, day_start
from businesses.models import Business, DomainEvent
from clients.models import Client
from clients.selectors import CappedCount, capped_count, client_matches
from rewards.models import Reward, RewardStatus

from .models import Referral, ReferralFlag, ReferralStatus, ReferrerTally

CARDS_PER_COLUMN = 10
REVIEW_PAGE_SIZE = 20
# A column's count stops at this many rows ("1,000+"): counting 150,000 confirmed referrals would read them all,
# heap included (test records are filtered out), on every visit to the board.
COLUMN_COUNT_CAP = 1_000
# A name search on the board takes the referrals of at most this many matching clients.
SEARCH_CLIENTS = 1_000
LEADERBOARD_SIZE = 25
REVENUE_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED)


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    statuses: tuple[str, ...]
    hint: str


BOARD_COLUMNS = (
    Column(
        "pending", "Pending", (ReferralStatus.PENDING,), "Waiting for the referred booking to reach the reward moment."
    ),
    Column("flagged", "Flagged", (ReferralStatus.FLAGGED,), "Held for review: no reward until approved."),
    Column(
        "confirmed",
        "Confirmed",
        (ReferralStatus.CONFIRMED,),
        "The referrer was rewarded (if the program rewards them).",
    ),
    Column(
        "rejected",
        "Rejected or not eligible",
        (ReferralStatus.REJECTED, ReferralStatus.INELIGIBLE),
        "Rejected after review, or refused when the booking was made.",
    ),
    Column(
        "cancelled",
        "Cancelled",
        (ReferralStatus.CANCELLED,),
        "The referred booking was cancelled or the new client did not show up.",
    ),
)
COLUMNS_BY_KEY = {column.key: column for column in BOARD_COLUMNS}


# ---------------------------------------------------------------------------------------------------- keyset cursor


_CURSOR = re.compile(r"(-?[0-9]{1,20})\.([0-9]{1,19})")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Cursor:
    """A position in a list ordered on (created_at, id): the last row shown. Written as "<microseconds>.<id>"."""

    created_at: datetime
    id: int

    @classmethod
    def after(cls, referral: Referral) -> Cursor:
        return cls(referral.created_at, referral.pk)

    def encode(self) -> str:
        return f"{(self.created_at - _EPOCH) // timedelta(microseconds=1)}.{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        """The cursor `raw` spells, or None for anything else (never raises)."""
        match = _CURSOR.fullmatch((raw or "").strip())
        if match is None:
            return None
        try:
            created_at = _EPOCH + timedelta(microseconds=int(match.group(1)))
        except OverflowError:
            return None
        pk = int(match.group(2))
        return cls(created_at, pk) if 0 < pk <= 2**63 - 1 else None

    def older(self) -> Q:
        return Q(created_at__lt=self.created_at) | Q(created_at=self.created_at, pk__lt=self.id)

    def newer(self) -> Q:
        return Q(created_at__gt=self.created_at) | Q(created_at=self.created_at, pk__gt=self.id)


# ---------------------------------------------------------------------------------------------------- board


@dataclass(frozen=True)
class BoardFilters:
    """Created between two days (inclusive, in the business's time zone), a client's name, and test records."""

    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    include_test: bool = False

    @property
    def is_empty(self) -> bool:
        return self == BoardFilters(include_test=self.include_test)

    def to_query(self) -> dict[str, str]:
        query = {}
        if self.date_from:
            query["date_from"] = self.date_from.isoformat()
        if self.date_to:
            query["date_to"] = self.date_to.isoformat()
        if self.q:
            query["q"] = self.q
        if self.include_test:
            query["test"] = "1"
        return query


def _referrals(business: Business, filters: BoardFilters) -> QuerySet[Referral]:
    referrals = Referral.objects.filter(business=business)
    if not filters.include_test:
        referrals = referrals.filter(is_test=False)
    if filters.date_from:
        referrals = referrals.filter(created_at__gte=day_start(filters.date_from))
    if filters.date_to:
        referrals = referrals.filter(created_at__lt=day_end(filters.date_to))
    if filters.q:
        # The matching clients are read once, by the trigram index, and their ids given to each column's query:
        # as a subquery, PostgreSQL would re-run the search in every query and walk whole status ranges.
        clients = list(
            client_matches(business=business, q=filters.q).order_by().values_list("pk", flat=True)[:SEARCH_CLIENTS]
        )
        referrals = referrals.filter(Q(referrer_id__in=clients) | Q(referee_id__in=clients))
    return referrals


def _with_card_rows(referrals: QuerySet[Referral]) -> QuerySet[Referral]:
    return referrals.select_related("referrer", "referee", "booking__service", "code")


def _prefetch_card_extras(business: Business, referrals: list[Referral]) -> None:
    """Flags and rewards (with their coupons) for every card at once: two queries, whatever the number of cards."""
    prefetch_related_objects(
        referrals,
        Prefetch("flags", queryset=ReferralFlag.objects.filter(business=business).order_by("id")),
        Prefetch(
            "rewards",
            queryset=Reward.objects.filter(business=business).select_related("coupon").order_by("id"),
        ),
    )


@dataclass
class ColumnPage:
    column: Column
    cards: list[Referral]
    next_cursor: Cursor | None
    count: CappedCount | None = None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


def _column_rows(base: QuerySet[Referral], column: Column, after: Cursor | None, limit: int) -> ColumnPage:
    """Newest first. A column of two statuses reads `limit + 1` rows of each (one index range apiece) and merges
    them, rather than asking the database to sort the union of both ranges."""
    if after is not None:
        base = base.filter(after.older())
    rows: list[Referral] = []
    for status in column.statuses:
        rows += list(_with_card_rows(base.filter(status=status)).order_by("-created_at", "-id")[: limit + 1])
    rows.sort(key=lambda r: (r.created_at, r.pk), reverse=True)
    shown = rows[:limit]
    next_cursor = Cursor.after(shown[-1]) if len(rows) > limit and shown else None
    return ColumnPage(column=column, cards=shown, next_cursor=next_cursor)


def board_column(
    *,
    business: Business,
    column: Column,
    filters: BoardFilters,
    after: Cursor | None = None,
    limit: int = CARDS_PER_COLUMN,
) -> ColumnPage:
    """One page of one column: the cards after `after`, with everything a card shows."""
    page = _column_rows(_referrals(business, filters), column, after, limit)
    _prefetch_card_extras(business, page.cards)
    return page


def board(*, business: Business, filters: BoardFilters, limit: int = CARDS_PER_COLUMN) -> list[ColumnPage]:
    """Every column's count (capped) and first page of cards, in a fixed number of queries."""
    base = _referrals(business, filters)
    pages = [_column_rows(base, column, None, limit) for column in BOARD_COLUMNS]
    _prefetch_card_extras(business, [card for page in pages for card in page.cards])
    for page in pages:
        counts = [capped_count(base.filter(status=status), COLUMN_COUNT_CAP) for status in page.column.statuses]
        page.count = CappedCount(value=sum(c.value for c in counts), capped=any(c.capped for c in counts))
    return pages


# ---------------------------------------------------------------------------------------------------- review queue


@dataclass
class ReviewPage:
    referrals: list[Referral]
    next_cursor: Cursor | None
    count: CappedCount | None = None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


def review_queue(
    *,
    business: Business,
    include_test: bool = False,
    after: Cursor | None = None,
    limit: int = REVIEW_PAGE_SIZE,
    with_count: bool = True,
) -> ReviewPage:
    """Flagged referrals, the longest waiting first, with their flags, both clients and the booking."""
    flagged = Referral.objects.filter(business=business, status=ReferralStatus.FLAGGED)
    if not include_test:
        flagged = flagged.filter(is_test=False)
    count = capped_count(flagged, COLUMN_COUNT_CAP) if with_count else None
    if after is not None:
        flagged = flagged.filter(after.newer())
    rows = list(_with_card_rows(flagged).order_by("created_at", "id")[: limit + 1])
    shown = rows[:limit]
    _prefetch_card_extras(business, shown)
    next_cursor = Cursor.after(shown[-1]) if len(rows) > limit and shown else None
    return ReviewPage(referrals=shown, next_cursor=next_cursor, count=count)


def review_card(*, business: Business, referral_id: int) -> Referral | None:
    """One referral as a card shows it, or None if this business has no such referral."""
    referral = _with_card_rows(Referral.objects.filter(business=business, pk=referral_id)).first()
    if referral is not None:
        _prefetch_card_extras(business, [referral])
    return referral


# ---------------------------------------------------------------------------------------------------- one referral


def referral_detail(*, business: Business, referral_id: int) -> Referral | None:
    """One referral with everything its page shows, or None if this business has no such referral."""
    referral = (
        _with_card_rows(Referral.objects.filter(business=business, pk=referral_id))
        .select_related("rule", "reviewed_by", "created_by")
        .first()
    )
    if referral is not None:
        _prefetch_card_extras(business, [referral])
    return referral


EVENT_LABELS = {
    "referral.created": "Referral recorded",
    "referral.confirmed": "Referral confirmed",
    "referral.rejected": "Rejected after review",
    "referral.cancelled": "Referral cancelled",
    "reward.issued": "Reward issued to the referrer",
    "reward.revoked": "Reward revoked",
    "reward.kept": "Reward kept: it had already been used",
    "coupon.redeemed": "The referrer used the coupon",
}


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    kind: str
    label: str
    detail: str = ""
    actor: object | None = None


def _event_detail(event: DomainEvent) -> str:
    payload = event.payload or {}
    if event.kind == "referral.created" and payload.get("status"):
        return (
            f"Status: {ReferralStatus(payload['status']).label}" if payload["status"] in ReferralStatus.values else ""
        )
    return str(payload.get("reason") or payload.get("description") or "")


def referral_history(*, business: Business, referral: Referral) -> list[HistoryEntry]:
    """The referral's events and those of its rewards and coupons, oldest first, plus its review.

    One query over the (business, subject_type, subject_id) index; the rewards come prefetched with the referral.
    """
    rewards = list(referral.rewards.all())
    subjects = Q(subject_type="referrals.Referral", subject_id=referral.pk)
    if rewards:
        subjects |= Q(subject_type="rewards.Reward", subject_id__in=[r.pk for r in rewards])
        coupon_ids = [r.coupon_id for r in rewards if r.coupon_id]
        if coupon_ids:
            subjects |= Q(subject_type="rewards.Coupon", subject_id__in=coupon_ids)
    events = (
        DomainEvent.objects.filter(subjects, business=business).select_related("actor").order_by("created_at", "id")
    )
    history = [
        HistoryEntry(
            at=event.created_at,
            kind=event.kind,
            label=EVENT_LABELS.get(event.kind, event.kind),
            detail=_event_detail(event),
            actor=event.actor,
        )
        for event in events
    ]
    # Approval is recorded on the row and in the audit log, not as an event.
    if referral.reviewed_at and referral.status != ReferralStatus.REJECTED:
        history.append(
            HistoryEntry(
                at=referral.reviewed_at,
                kind="referral.approved",
                label="Approved after review",
                actor=referral.reviewed_by,
            )
        )
        history.sort(key=lambda entry: entry.at)
    return history


# ---------------------------------------------------------------------------------------------------- leaderboard


@dataclass(frozen=True)
class Period:
    """Days from `start` to `end`, inclusive, in the business's time zone; both None for all time."""

    key: str
    label: str
    start: date | None = None
    end: date | None = None

    @property
    def is_all_time(self) -> bool:
        return self.start is None and self.end is None


PERIODS = {
    "month": "This month",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "year": "This year",
    "all": "All time",
    "custom": "Chosen dates",
}
DEFAULT_PERIOD = "30d"


def period_for(key: str, today: date, date_from: date | None = None, date_to: date | None = None) -> Period:
    """The period `key` names as seen on `today` (the business's date); "custom" takes `date_from`/`date_to`."""
    if key == "month":
        start = today.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return Period(key, f"{start:%B %Y}", start, end)
    if key in ("30d", "90d"):
        days = int(key[:-1])
        return Period(key, PERIODS[key], today - timedelta(days=days - 1), today)
    if key == "year":
        return Period(key, str(today.year), date(today.year, 1, 1), date(today.year, 12, 31))
    if key == "custom" and date_from and date_to:
        return Period(key, f"{date_from.day} {date_from:%b %Y} to {date_to.day} {date_to:%b %Y}", date_from, date_to)
    if key == "all":
        return Period(key, PERIODS[key])
    raise ValueError(f"Unknown period {key!r}")


@dataclass
class LeaderRow:
    rank: int
    client: Client
    successful_referrals: int
    revenue: int
    rewards_earned: int
    last_referral_at: datetime | None = None


@dataclass
class Leaderboard:
    period: Period
    rows: list[LeaderRow] = field(default_factory=list)


def _revenue(business: Business, referrer_ids: list[int], period: Period) -> dict[int, int]:
    """Sum of the totals of confirmed and completed bookings, starting in the period, of the clients each
    referrer successfully referred: one query, for these referrers only.

    It walks the referrers' confirmed referrals from the index alone (referral_confirmed_referrer) and sums each
    referee's bookings over (business, client, starts_at): a referee has at most one confirmed referral, so each
    booking counts once, and no client row is read."""
    if not referrer_ids:
        return {}
    bookings = Booking.objects.filter(business=business, client_id=OuterRef("referee_id"), status__in=REVENUE_STATUSES)
    if period.start:
        bookings = bookings.filter(starts_at__gte=day_start(period.start))
    if period.end:
        bookings = bookings.filter(starts_at__lt=day_end(period.end))
    per_referee = Subquery(
        bookings.order_by().values("client_id").annotate(total=Sum("total")).values("total"),
        output_field=BigIntegerField(),
    )
    rows = (
        Referral.objects.filter(
            business=business, referrer_id__in=referrer_ids, status=ReferralStatus.CONFIRMED, is_test=False
        )
        .order_by()
        .values("referrer_id")
        .annotate(revenue=Sum(per_referee))
        .values_list("referrer_id", "revenue")
    )
    return {referrer: revenue or 0 for referrer, revenue in rows}


def leaderboard(*, business: Business, period: Period, limit: int = LEADERBOARD_SIZE) -> Leaderboard:
    """The top referrers of a period: successful (confirmed) referrals made in it, the revenue their referees
    brought in it, and the rewards they were issued in it. Test records are left out.

    All time reads ReferrerTally in index order; a period counts confirmed referrals from the partial indexes of
    migration 0008 alone (no heap). Either way revenue and names are read for the `limit` rows only: four queries
    at most.
    """
    if period.is_all_time:
        tallies = list(
            ReferrerTally.objects.filter(business=business, successful_referrals__gt=0, client__is_test=False)
            .select_related("client")
            .order_by("-successful_referrals", "client_id")[:limit]
        )
        ids = [t.client_id for t in tallies]
        revenue = _revenue(business, ids, period)
        rows = [
            LeaderRow(
                rank=index,
                client=t.client,
                successful_referrals=t.successful_referrals,
                revenue=revenue.get(t.client_id, 0),
                rewards_earned=t.rewards_earned,
                last_referral_at=t.last_referral_at,
            )
            for index, t in enumerate(tallies, start=1)
        ]
        return Leaderboard(period=period, rows=rows)

    confirmed = Referral.objects.filter(
        business=business,
        status=ReferralStatus.CONFIRMED,
        is_test=False,
        created_at__gte=day_start(period.start),
        created_at__lt=day_end(period.end),
    )
    top = list(
        confirmed.order_by()
        .values("referrer_id")
        .annotate(successful=Count("*"), last=Max("created_at"))  # from the index alone
        .order_by("-successful", "-last", "referrer_id")[:limit]
    )
    ids = [row["referrer_id"] for row in top]
    clients = Client.objects.filter(business=business, pk__in=ids).in_bulk() if ids else {}
    revenue = _revenue(business, ids, period)
    rewards = (
        dict(
            Reward.objects.filter(
                business=business,
                client_id__in=ids,
                status=RewardStatus.ISSUED,
                is_test=False,
                created_at__gte=day_start(period.start),
                created_at__lt=day_end(period.end),
            )
            .order_by()
            .values("client_id")
            .annotate(n=Count("id"))
            .values_list("client_id", "n")
        )
        if ids
        else {}
    )
    rows = [
        LeaderRow(
            rank=index,
            client=clients[row["referrer_id"]],
            successful_referrals=row["successful"],
            revenue=revenue.get(row["referrer_id"], 0),
            rewards_earned=rewards.get(row["referrer_id"], 0),
            last_referral_at=row["last"],
        )
        for index, row in enumerate(top, start=1)
        if row["referrer_id"] in clients
    ]
    return Leaderboard(period=period, rows=rows)


@dataclass(frozen=True)
class ReferrerCandidate:
    """What a new client sees when they search for who referred them: never more than a first name and an
    initial, so the search cannot be used to look up the business's clients."""

    id: int
    display: str


def referrer_candidates(*, business: Business, first_name: str, last_initial: str = "") -> list[ReferrerCandidate]:
    """The "who referred you?" search: clients whose first name is what was typed (case-insensitive, whole name)
    and, if given, whose last name starts with that letter; at most 5, only when the first name has 2+ letters."""
    first_name = " ".join((first_name or "").split())[:100]
    initial = (last_initial or "").strip()[:1]
    if len(first_name) < 2:
        return []
    matches = Client.objects.filter(
        business=business, first_name__iexact=first_name, erased_at__isnull=True, is_test=False
    )
    if initial:
        matches = matches.filter(last_name__istartswith=initial)
    rows = matches.order_by("-referred_clients_count", "id").values_list("pk", "first_name", "last_name")[:5]
    return [ReferrerCandidate(pk, f"{first} {last[:1].upper()}." if last else first) for pk, first, last in rows]
