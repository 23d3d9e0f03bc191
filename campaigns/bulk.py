"""Targeted campaigns: drafts, preview, test send, send now or at a scheduled time, cancel; and the sending itself.

Sending walks the audience in client-id order, BATCH_SIZE clients per Celery task. Each batch is one transaction
under the campaign's row lock: recipients and their outbox messages are bulk-written and the cursor (the last
client id written) moves with them. A batch task carries the cursor it expects, so a task that runs twice (a
retry after a crash that had committed, a redelivery) finds the cursor moved and writes nothing; the outbox key
campaign:<id>:client:<id> and the unique (campaign, client) are the second wall. A batch costs the same number of
queries whatever its size (on SQLite the driver's 999-parameter limit splits each bulk INSERT into chunks).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django_scopes import scope, scopes_disabled

from businesses.events import event_record
from businesses.models import Business
from clients.models import Client, Segment
from clients.selectors import ClientFilters, client_queryset
from referrals.codes import code_for_client, link_for, new_code
from referrals.models import ReferralCode

from . import sandbox
from .models import (
    Campaign,
    CampaignAudience,
    CampaignRecipient,
    CampaignStatus,
    Channel,
    MessageStatus,
    OutboxMessage,
    Promotion,
)
from .promotions import promotion_link, promotion_variables
from .sandbox import Rendered, Variables
from .services import outbox_enqueue, suppression_reason

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
MIN_DAYS, MAX_DAYS = 1, 365
# A sending campaign whose last batch was handed out this long ago lost its task: the beat hands out another.
STALLED_AFTER = timedelta(minutes=5)
MAX_SCHEDULE_AHEAD = timedelta(days=365)
TEMPLATE = "campaign"
TEST_TEMPLATE = "campaign_test"
# Tracked links end in one letter naming the target: the attached promotion or the client's referral link.
TARGET_PROMOTION, TARGET_REFERRAL = "p", "r"
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22}$")
# Never a real code: referral codes have no 0 and no L.
SAMPLE_LINK_CODE = "SAMPLE00"

DEFAULT_SUBJECT = "News from {{ business_name }}"
DEFAULT_BODY = """Hi {{ first_name }},

We have something for you at {{ business_name }}.
{% if promotion_name %}
{{ promotion_name }}: {{ promotion_offer }}. Book with it here: {{ promotion_link }}
{% endif %}
Know someone who would like us? Share your own link: {{ referral_link }}

See you soon,
{{ business_name }}
"""
VARIABLES: dict[str, str] = {
    "first_name": "Anna",
    "business_name": "",
    "referral_link": "",
    "promotion_name": "Spring offer",
    "promotion_offer": "20% off",
    "promotion_link": "",
}


@dataclass(frozen=True)
class CampaignData:
    """What the owner writes in a draft."""

    name: str
    audience: str = CampaignAudience.CONSENTING
    segment: Segment | None = None
    audience_days: int = 30
    subject: str = DEFAULT_SUBJECT
    body: str = DEFAULT_BODY
    promotion: Promotion | None = None


# --- The audience -------------------------------------------------------------------------------------------


def audience_queryset(
    *, business: Business, audience: str, segment: Segment | None = None, days: int = 30
) -> QuerySet[Client]:
    """The clients an audience reaches, through the clients list's own filters (test and erased clients are never
    in it), with an e-mail address. Unconsented clients stay in a segment or preset: their messages are kept as
    suppressed, so the owner sees who was left out and why. Raises ValidationError (by field) for an audience that
    cannot be resolved: no segment, or a segment whose stored filters no longer parse (sending to more clients than
    the owner chose is the one mistake a campaign must not make)."""
    extra = Q()
    if audience == CampaignAudience.CONSENTING:
        filters, extra = ClientFilters(), Q(email_consent=True)
    elif audience == CampaignAudience.SEGMENT:
        if segment is None:
            raise ValidationError({"segment": "Choose a segment."})
        if segment.business_id != business.pk:
            raise ValidationError({"segment": "That segment belongs to another business."})
        filters = ClientFilters.from_dict(segment.filters)
        if filters.errors:
            problems = " ".join(filters.errors)
            raise ValidationError(
                {"segment": f"The segment “{segment.name}” has filters that no longer apply: {problems}"}
            )
    elif audience == CampaignAudience.REFERRERS:
        filters = ClientFilters(referrer=True)
    elif audience == CampaignAudience.RECENT_REFERRED:
        if not MIN_DAYS <= days <= MAX_DAYS:
            raise ValidationError({"audience_days": f"Choose between {MIN_DAYS} and {MAX_DAYS} days."})
        # Exactly one completed visit, within the last `days` days: the clients list's own filters.
        filters, extra = (
            ClientFilters(last_visit_less_than=days, visits_more_than=0, visits_less_than=2),
            Q(referred_by__isnull=False),
        )
    else:
        raise ValidationError({"audience": "Choose who gets the campaign."})
    # Days in the filters are the business's days, also in a Celery task (which runs in UTC).
    with timezone.override(ZoneInfo(business.time_zone)):
        return client_queryset(business=business, filters=filters).filter(extra).exclude(email="")


def campaign_audience(*, business: Business, campaign: Campaign) -> QuerySet[Client]:
    return audience_queryset(
        business=business, audience=campaign.audience, segment=campaign.segment, days=campaign.audience_days
    )


# --- Drafts -------------------------------------------------------------------------------------------------


def sample_variables(business: Business, promotion: Promotion | None = None) -> Variables:
    variables: Variables = {**VARIABLES, "business_name": business.name, "referral_link": link_for(SAMPLE_LINK_CODE)}
    if promotion is not None:
        variables.update(promotion_variables(promotion))
    return variables


def campaign_check(*, business: Business, data: CampaignData) -> None:
    """Raise ValidationError by field for what a draft cannot hold."""
    errors: dict[str, list[str]] = {}
    if not data.name.strip():
        errors["name"] = ["Give the campaign a name (only you see it)."]
    for field, source in (("subject", data.subject), ("body", data.body)):
        if not source.strip():
            errors[field] = ["This cannot be empty."]
            continue
        try:
            sandbox.check(source, sample_variables(business, data.promotion))
        except sandbox.TemplateSyntaxError as exc:
            errors[field] = [str(exc)]
    if data.promotion is not None and (data.promotion.business_id != business.pk or data.promotion.archived_at):
        errors["promotion"] = ["Choose one of your current promotions."]
    try:
        audience_queryset(business=business, audience=data.audience, segment=data.segment, days=data.audience_days)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _apply(campaign: Campaign, data: CampaignData) -> None:
    campaign.name = data.name.strip()
    campaign.audience = data.audience
    campaign.segment = data.segment if data.audience == CampaignAudience.SEGMENT else None
    campaign.audience_days = data.audience_days
    campaign.subject, campaign.body, campaign.promotion = data.subject, data.body, data.promotion
    campaign.updated_at = timezone.now()


def campaign_unsaved(*, business: Business, data: CampaignData) -> Campaign:
    """The campaign `data` describes, not saved: what the form's preview renders."""
    campaign = Campaign(business=business)
    _apply(campaign, data)
    return campaign


@transaction.atomic
def campaign_create(*, business: Business, data: CampaignData, actor=None) -> Campaign:
    """A new draft. Refuses (ValidationError by field) a template that does not compile and an audience that
    cannot be resolved."""
    campaign_check(business=business, data=data)
    campaign = Campaign(business=business, created_by=actor if getattr(actor, "pk", None) else None)
    _apply(campaign, data)
    campaign.save()
    return campaign


def _lock(business: Business, campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update(of=("self",)).get(business=business, pk=campaign.pk)


@transaction.atomic
def campaign_update(*, business: Business, campaign: Campaign, data: CampaignData) -> Campaign:
    """Change a draft or a scheduled campaign (it keeps its time). Locks the row: a campaign that started
    sending meanwhile is refused."""
    locked = _lock(business, campaign)
    if not locked.is_editable:
        raise ValidationError("This campaign has started: it can no longer be changed.")
    campaign_check(business=business, data=data)
    _apply(locked, data)
    locked.save()
    return locked


# --- Preview and test send ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    content: Rendered
    client: Client | None


def _current_link(business: Business, client: Client) -> str:
    # A preview writes nothing: a client without a code yet is shown the sample link.
    code = ReferralCode.objects.filter(business=business, client=client, is_current=True).first()
    return link_for(code if code is not None else SAMPLE_LINK_CODE)


def campaign_preview(*, business: Business, campaign: Campaign) -> Preview:
    """The message as its first recipient (by client id) would read it, with untracked links; with the sample
    client when the audience is empty or cannot be resolved. Raises TemplateSyntaxError for a broken template."""
    variables = sample_variables(business, campaign.promotion)
    try:
        client = campaign_audience(business=business, campaign=campaign).order_by("pk").first()
    except ValidationError:
        client = None
    if client is not None:
        variables.update(first_name=client.first_name, referral_link=_current_link(business, client))
    return Preview(sandbox.render(campaign.subject, campaign.body, variables), client)


@transaction.atomic
def campaign_test_send(*, business: Business, campaign: Campaign, user) -> OutboxMessage:
    """The preview, marked as a test, to the signed-in owner's own address only (transactional: no consent, no
    unsubscribe link). A fresh key per call, so each test goes out."""
    if not getattr(user, "email", ""):
        raise ValidationError("Your account has no e-mail address to send the test to.")
    try:
        content = campaign_preview(business=business, campaign=campaign).content
    except sandbox.TemplateSyntaxError as exc:
        raise ValidationError(f"The message cannot be filled in: {exc}") from None
    return outbox_enqueue(
        business=business,
        key=f"campaign:{campaign.pk}:test:{secrets.token_hex(8)}",
        template=TEST_TEMPLATE,
        content=Rendered(subject=f"[Test] {content.subject}"[:200], text=content.text, html=content.html),
        to_address=user.email,
        marketing=False,
    )


# --- Starting, scheduling, cancelling -----------------------------------------------------------------------


def _dispatch_batch(business_id: int, campaign_id: int, after: int) -> None:
    # After commit and robust: a broker that is down leaves batch_at behind, and the beat resumes the campaign.
    def send() -> None:
        from .tasks import campaign_batch

        campaign_batch.delay(business_id, campaign_id, after)

    transaction.on_commit(send, robust=True)


def _start(business: Business, locked: Campaign, actor=None) -> Campaign:
    """Move a locked draft or scheduled campaign to sending and hand out its first batch after commit."""
    try:
        sandbox.compile_message(locked.subject, locked.body)
    except sandbox.TemplateSyntaxError as exc:
        raise ValidationError(f"The message cannot be filled in: {exc}") from None
    total = campaign_audience(business=business, campaign=locked).count()
    if total == 0:
        raise ValidationError("No client matches this audience: nobody would get the campaign.")
    now = timezone.now()
    locked.status, locked.started_at, locked.batch_at, locked.updated_at = CampaignStatus.SENDING, now, now, now
    locked.total_recipients, locked.written_recipients, locked.cursor, locked.problem = total, 0, 0, ""
    locked.save()
    event_record(business=business, kind="campaign.started", subject=locked, actor=actor, recipients=total)
    _dispatch_batch(business.pk, locked.pk, 0)
    return locked


@transaction.atomic
def campaign_send_now(*, business: Business, campaign: Campaign, actor=None) -> Campaign:
    """Start sending a draft or scheduled campaign. Locks the row: sending twice starts once."""
    locked = _lock(business, campaign)
    if not locked.is_editable:
        raise ValidationError("This campaign was already sent or cancelled.")
    return _start(business, locked, actor)


@transaction.atomic
def campaign_schedule(*, business: Business, campaign: Campaign, when: datetime, now: datetime | None = None):
    """Send a draft (or a scheduled campaign) at `when`, a future moment; the beat starts it when it is due."""
    now = now or timezone.now()
    locked = _lock(business, campaign)
    if not locked.is_editable:
        raise ValidationError("This campaign was already sent or cancelled.")
    if when <= now:
        raise ValidationError({"scheduled_at": "Choose a time in the future."})
    if when > now + MAX_SCHEDULE_AHEAD:
        raise ValidationError({"scheduled_at": "Choose a time within the next year."})
    campaign_audience(business=business, campaign=locked)
    locked.status, locked.scheduled_at, locked.updated_at, locked.problem = CampaignStatus.SCHEDULED, when, now, ""
    locked.save()
    return locked


@transaction.atomic
def campaign_cancel(*, business: Business, campaign: Campaign, actor=None) -> Campaign:
    """Stop a draft, scheduled or sending campaign. Waits for a running batch's lock; batches not yet written are
    never written. Messages already written are still delivered."""
    locked = _lock(business, campaign)
    if locked.status in (CampaignStatus.SENT, CampaignStatus.CANCELLED):
        raise ValidationError("This campaign has already finished.")
    now = timezone.now()
    if locked.status == CampaignStatus.SENDING:
        locked.total_recipients, locked.finished_at = locked.written_recipients, now
    locked.status, locked.updated_at = CampaignStatus.CANCELLED, now
    locked.save()
    event_record(business=business, kind="campaign.cancelled", subject=locked, actor=actor)
    return locked


def campaigns_start_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Beat, every minute, across businesses: start the scheduled campaigns that are due, and hand a new batch
    task to sending campaigns whose task was lost. A campaign that cannot start is cancelled with the reason.
    Returns how many campaigns were started or resumed."""
    now = now or timezone.now()
    with scopes_disabled():
        due = list(
            Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now)
            .order_by("scheduled_at", "id")
            .values_list("business_id", "id")[:limit]
        )
        stalled = list(
            Campaign.objects.filter(status=CampaignStatus.SENDING, batch_at__lte=now - STALLED_AFTER)
            .order_by("batch_at", "id")
            .values_list("business_id", "id", "batch_at", "cursor")[:limit]
        )
        businesses = Business.objects.in_bulk({row[0] for row in due + stalled})
    handled = 0
    for business_id, campaign_id in due:
        business = businesses.get(business_id)
        if business is None:  # deleted meanwhile, its campaigns with it
            continue
        with scope(business=business):
            handled += _start_scheduled(business, campaign_id, now)
    for business_id, campaign_id, batch_at, cursor in stalled:
        business = businesses.get(business_id)
        if business is None:
            continue
        with scope(business=business), transaction.atomic():
            # Conditional on the batch time read: of two overlapping beats, one resumes it.
            if Campaign.objects.filter(
                business=business, pk=campaign_id, status=CampaignStatus.SENDING, batch_at=batch_at
            ).update(batch_at=now):
                _dispatch_batch(business.pk, campaign_id, cursor)
                handled += 1
    return handled


def _start_scheduled(business: Business, campaign_id: int, now: datetime) -> int:
    with transaction.atomic():
        locked = (
            Campaign.objects.select_for_update(of=("self",))
            .select_related("segment")
            .filter(business=business, pk=campaign_id, status=CampaignStatus.SCHEDULED, scheduled_at__lte=now)
            .first()
        )
        if locked is None:
            return 0
        try:
            with transaction.atomic():
                _start(business, locked)
            return 1
        except ValidationError as exc:
            locked.status, locked.problem = CampaignStatus.CANCELLED, f"Not sent: {' '.join(exc.messages)}"[:300]
            locked.updated_at = locked.finished_at = now
            locked.save(update_fields=["status", "problem", "updated_at", "finished_at"])
            return 0


# --- Sending in batches -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkMessage:
    key: str
    client: Client
    content: Rendered


def _deliver_all(business_id: int, message_ids: list[int]) -> None:
    from .tasks import deliver_message

    for message_id in message_ids:
        try:
            deliver_message.delay(business_id, message_id)
        except Exception:  # the broker is down: the rows stay queued and the sweep sends them once stale
            logger.exception("Could not hand %s campaign messages to the broker", len(message_ids))
            return


def outbox_enqueue_many(
    *, business: Business, template: str, items: Sequence[BulkMessage], marketing: bool
) -> dict[str, OutboxMessage]:
    """The bulk form of services.outbox_enqueue: write many messages in the caller's transaction with one query for
    the keys already written and one bulk INSERT, and deliver the queued ones after commit. Idempotent on the key
    per business; the caller serializes writers of the same keys (a campaign holds its row lock). Each row gets
    the same suppression check as a single message. Returns the messages by key, earlier ones included."""
    found = {
        message.idempotency_key: message
        for message in OutboxMessage.objects.filter(business=business, idempotency_key__in=[item.key for item in items])
    }
    now = timezone.now()
    rows = []
    for item in items:
        if item.key in found:
            continue
        address = item.client.email.strip()
        reason = suppression_reason(client=item.client, address=address, marketing=marketing)
        rows.append(
            OutboxMessage(
                business=business,
                channel=Channel.EMAIL,
                client=item.client,
                to_address=address,
                template=template,
                marketing=marketing,
                subject=item.content.subject,
                body_text=item.content.text,
                body_html=item.content.html,
                status=MessageStatus.SUPPRESSED if reason else MessageStatus.QUEUED,
                suppressed_reason=reason,
                idempotency_key=item.key,
                send_after=now,
                dispatched_at=None if reason else now,
                created_at=now,
            )
        )
    created = OutboxMessage.objects.bulk_create(rows)
    found.update((message.idempotency_key, message) for message in created)
    queued = [message.pk for message in created if message.status == MessageStatus.QUEUED]
    if queued:
        business_id = business.pk
        transaction.on_commit(lambda: _deliver_all(business_id, queued), robust=True)
    return found


def _referral_links(business: Business, clients: Sequence[Client]) -> dict[int, str]:
    """Each client's referral link, making missing codes in bulk: three queries for a batch (a random code that
    happens to be taken falls back to the one-by-one path, which tries again)."""
    ids = [client.pk for client in clients]
    current = ReferralCode.objects.filter(business=business, is_current=True)
    codes = dict(current.filter(client_id__in=ids).values_list("client_id", "code"))
    missing = [client for client in clients if client.pk not in codes]
    if missing:
        # Ignoring conflicts: another request that made a client's code first, or a code already in use.
        ReferralCode.objects.bulk_create(
            [ReferralCode(business=business, client=client, code=new_code()) for client in missing],
            ignore_conflicts=True,
        )
        codes.update(current.filter(client_id__in=[c.pk for c in missing]).values_list("client_id", "code"))
        for client in missing:
            if client.pk not in codes:
                codes[client.pk] = code_for_client(business=business, client=client).code
    return {pk: link_for(code) for pk, code in codes.items()}


def tracked_url(token: str, target: str) -> str:
    return settings.SITE_URL + reverse("campaign_click", args=[token + target])


@dataclass(frozen=True)
class BatchResult:
    outcome: str  # written, finished, stale, stopped
    written: int = 0
    next_after: int | None = None


def campaign_send_batch(*, business: Business, campaign_id: int, after: int, size: int | None = None) -> BatchResult:
    """Write the next `size` recipients after client id `after` and their messages, in one transaction under the
    campaign's row lock, in a fixed number of queries. A batch whose `after` is not the campaign's cursor was
    already written (a task run twice) and writes nothing; a campaign no longer sending (cancelled) writes nothing.
    The last batch marks the campaign sent."""
    size = size or BATCH_SIZE
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(of=("self",))
            .select_related("promotion__business", "segment")
            .filter(business=business, pk=campaign_id)
            .first()
        )
        if campaign is None or campaign.status != CampaignStatus.SENDING:
            return BatchResult("stopped")
        if campaign.cursor != after:
            return BatchResult("stale")
        now = timezone.now()
        rows = Campaign.objects.filter(business=business, pk=campaign.pk)
        try:
            audience = campaign_audience(business=business, campaign=campaign)
            compiled = sandbox.compile_message(campaign.subject, campaign.body)
        except (ValidationError, sandbox.TemplateSyntaxError) as exc:
            # The segment was deleted or changed under a sending campaign: stop rather than guess.
            problem = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            rows.update(
                status=CampaignStatus.CANCELLED,
                problem=f"Stopped: {problem}"[:300],
                finished_at=now,
                total_recipients=F("written_recipients"),
            )
            return BatchResult("stopped")
        clients = list(audience.filter(pk__gt=after).order_by("pk")[:size])
        fresh = _fresh_clients(business, campaign, clients)
        base: Variables = {**promotion_variables(campaign.promotion), "business_name": business.name}
        plain_promotion_link = str(base["promotion_link"])
        messages = outbox_enqueue_many(
            business=business,
            template=TEMPLATE,
            items=[
                BulkMessage(
                    _key(campaign, client),
                    client,
                    _render(compiled, {**base, "first_name": client.first_name, **links}, plain_promotion_link),
                )
                for client, links in _recipient_links(business, campaign, fresh)
            ],
            marketing=True,
        )
        CampaignRecipient.objects.bulk_create(
            [
                CampaignRecipient(
                    business=business,
                    campaign=campaign,
                    client=client,
                    message=messages[_key(campaign, client)],
                    token=token,
                    created_at=now,
                )
                for client, token in fresh
            ]
        )
        finished = len(clients) < size
        changes = {
            "cursor": clients[-1].pk if clients else after,
            "written_recipients": F("written_recipients") + len(fresh),
            "batch_at": now,
        }
        if finished:
            changes.update(
                status=CampaignStatus.SENT,
                finished_at=now,
                total_recipients=F("written_recipients") + len(fresh),
            )
        rows.update(**changes)
    if finished:
        return BatchResult("finished", len(fresh))
    return BatchResult("written", len(fresh), changes["cursor"])


def _key(campaign: Campaign, client: Client) -> str:
    return f"campaign:{campaign.pk}:client:{client.pk}"


def _fresh_clients(business: Business, campaign: Campaign, clients: list[Client]) -> list[tuple[Client, str]]:
    """The clients of the batch without a recipient row yet, each with a new link token."""
    if not clients:
        return []
    written = set(
        CampaignRecipient.objects.filter(
            business=business, campaign=campaign, client_id__in=[c.pk for c in clients]
        ).values_list("client_id", flat=True)
    )
    return [(client, secrets.token_urlsafe(16)) for client in clients if client.pk not in written]


def _recipient_links(business: Business, campaign: Campaign, fresh: list[tuple[Client, str]]):
    """(client, {variable: link}) for each fresh client: tracked promotion and referral links for those the
    message will reach (no referral code is made for a client it never reaches)."""
    uses_referral_link = "referral_link" in campaign.subject + campaign.body
    reachable = [
        client
        for client, _ in fresh
        if not suppression_reason(client=client, address=client.email.strip(), marketing=True)
    ]
    referral = _referral_links(business, reachable) if uses_referral_link and reachable else {}
    for client, token in fresh:
        links = {"referral_link": tracked_url(token, TARGET_REFERRAL) if client.pk in referral else ""}
        if campaign.promotion is not None:
            links["promotion_link"] = tracked_url(token, TARGET_PROMOTION)
        yield client, links


def _render(compiled: sandbox.Compiled, variables: Variables, plain_promotion_link: str) -> Rendered:
    content = compiled.render(variables)
    tracked = str(variables.get("promotion_link", ""))
    if plain_promotion_link and tracked != plain_promotion_link:
        # The owner may also have pasted the promotion's address itself: it is tracked the same way.
        content = Rendered(
            subject=content.subject,
            text=content.text.replace(plain_promotion_link, tracked),
            html=content.html.replace(escape(plain_promotion_link), escape(tracked)),
        )
    return content


# --- Tracked links ------------------------------------------------------------------------------------------


def campaign_click(*, token: str, now: datetime | None = None) -> str | None:
    """Where a tracked link leads, recording the recipient's first click (a conditional UPDATE: later clicks keep
    the first time); None for a token that names no recipient (forged, damaged, or its campaign deleted)."""
    raw, target = token[:-1], token[-1:]
    if target not in (TARGET_PROMOTION, TARGET_REFERRAL) or not TOKEN_PATTERN.match(raw):
        return None
    with scopes_disabled():
        found = CampaignRecipient.objects.filter(token=raw).values_list("business_id", "pk").first()
    if found is None:
        return None
    business = Business.objects.get(pk=found[0])
    with scope(business=business):
        recipient = CampaignRecipient.objects.select_related("campaign__promotion__business", "client").get(
            business=business, pk=found[1]
        )
        CampaignRecipient.objects.filter(business=business, pk=recipient.pk, clicked_at__isnull=True).update(
            clicked_at=now or timezone.now()
        )
        promotion, client = recipient.campaign.promotion, recipient.client
        if target == TARGET_PROMOTION and promotion is not None:
            return promotion_link(promotion)
        if target == TARGET_REFERRAL and client.erased_at is None:
            return link_for(code_for_client(business=business, client=client))
    # The promotion was deleted, or the client erased: the business's booking page is the next best place.
    return settings.SITE_URL + reverse("widget_public:landing", kwargs={"business_slug": business.slug})
