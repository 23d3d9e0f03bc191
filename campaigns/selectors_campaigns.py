"""Reads for the campaign pages: the list with its figures, one campaign's counts and its recipients page by page."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q

from businesses.models import Business

from .models import Campaign, CampaignRecipient, CampaignStatus, MessageStatus, Suppression

LIST_SIZE = 50
RECIPIENTS_PAGE_SIZE = 50
RECIPIENT_FILTERS = {
    "sent": ("Sent", Q(message__status=MessageStatus.SENT)),
    "queued": ("Queued", Q(message__status=MessageStatus.QUEUED)),
    "failed": ("Failed", Q(message__status=MessageStatus.FAILED)),
    "suppressed": ("Suppressed", Q(message__status=MessageStatus.SUPPRESSED)),
    "clicked": ("Clicked", Q(clicked_at__isnull=False)),
}


@dataclass(frozen=True)
class CampaignCounts:
    recipients: int = 0
    queued: int = 0
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    unsubscribed: int = 0
    clicked: int = 0

    @property
    def done(self) -> int:
        """Recipients whose message reached its end: sent, failed for good, or never to be sent."""
        return self.sent + self.failed + self.suppressed


def _unsubscribed_after_message():
    # "Unsubscribed": the client's suppression is newer than this campaign's message to them.
    return Exists(
        Suppression.objects.filter(
            business=OuterRef("business"), client=OuterRef("client"), created_at__gte=OuterRef("message__created_at")
        )
    )


def campaign_counts(*, business: Business, campaign: Campaign) -> CampaignCounts:
    """Every figure of one campaign in one aggregate over its recipients (served by (business, campaign, id))."""
    figures = CampaignRecipient.objects.filter(business=business, campaign=campaign).aggregate(
        recipients=Count("pk"),
        queued=Count("pk", filter=Q(message__status=MessageStatus.QUEUED)),
        sent=Count("pk", filter=Q(message__status=MessageStatus.SENT)),
        failed=Count("pk", filter=Q(message__status=MessageStatus.FAILED)),
        suppressed=Count("pk", filter=Q(message__status=MessageStatus.SUPPRESSED)),
        unsubscribed=Count("pk", filter=Q(_unsubscribed_after_message())),
        clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
    )
    return CampaignCounts(**figures)


@dataclass(frozen=True)
class Progress:
    """What the progress bar shows: messages that reached their end out of the campaign's recipients."""

    counts: CampaignCounts
    total: int
    sending: bool

    @property
    def percent(self) -> int:
        if self.total <= 0:
            return 100 if self.counts.recipients else 0
        return min(100, self.counts.done * 100 // self.total)

    @property
    def running(self) -> bool:
        """Batches still to write, or messages still to deliver (a cancelled campaign delivers what it wrote)."""
        return self.sending or self.counts.queued > 0


def campaign_progress(*, business: Business, campaign: Campaign) -> Progress:
    counts = campaign_counts(business=business, campaign=campaign)
    if campaign.status == CampaignStatus.SENDING:
        total = max(campaign.total_recipients, counts.recipients)
    else:
        # Sent or cancelled: what was written is all there will be.
        total = counts.recipients
    return Progress(counts, total, campaign.status == CampaignStatus.SENDING)


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    sent: int
    clicked: int


@dataclass(frozen=True)
class CampaignListPage:
    rows: list[CampaignRow]
    number: int
    has_next: bool


def campaign_list(*, business: Business, page: int = 1, size: int = LIST_SIZE) -> CampaignListPage:
    """Campaigns newest first with their sent and clicked figures: two queries whatever the page size."""
    page = max(1, page)
    campaigns = list(
        Campaign.objects.filter(business=business)
        .select_related("segment", "promotion")
        .order_by("-created_at", "-id")[(page - 1) * size : page * size + 1]
    )
    has_next = len(campaigns) > size
    campaigns = campaigns[:size]
    figures = {
        row["campaign_id"]: row
        for row in CampaignRecipient.objects.filter(business=business, campaign__in=[c.pk for c in campaigns])
        .order_by()
        .values("campaign_id")
        .annotate(
            sent=Count("pk", filter=Q(message__status=MessageStatus.SENT)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        )
    }
    rows = [
        CampaignRow(c, figures.get(c.pk, {}).get("sent", 0), figures.get(c.pk, {}).get("clicked", 0)) for c in campaigns
    ]
    return CampaignListPage(rows, page, has_next)


@dataclass(frozen=True)
class RecipientPage:
    recipients: list[CampaignRecipient]
    number: int
    has_next: bool
    status: str

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def recipient_page(
    *, business: Business, campaign: Campaign, page: int = 1, status: str = "", size: int = RECIPIENTS_PAGE_SIZE
) -> RecipientPage:
    """One page of a campaign's recipients in the order they were written, optionally one status (or clicked):
    one query, whatever the page size (client and message come in the same join)."""
    page = max(1, page)
    rows = (
        CampaignRecipient.objects.filter(business=business, campaign=campaign)
        .select_related("client", "message")
        .annotate(unsubscribed=_unsubscribed_after_message())
        .order_by("id")
    )
    if status in RECIPIENT_FILTERS:
        rows = rows.filter(RECIPIENT_FILTERS[status][1])
    else:
        status = ""
    found = list(rows[(page - 1) * size : page * size + 1])
    return RecipientPage(found[:size], page, len(found) > size, status)
