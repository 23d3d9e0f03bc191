"""Helpers of the targeted-campaign tests: clients made in bulk, a promotion, and a campaign run to its end."""

from __future__ import annotations

from django.utils import timezone

from campaigns.bulk import CampaignData, campaign_create, campaign_send_batch, campaign_send_now
from campaigns.models import Campaign, CampaignStatus
from campaigns.promotions import PromotionData, promotion_create
from clients.models import Client


def bulk_clients(business, count, *, prefix="c", consent=True, start=0, **fields) -> list[Client]:
    """`count` clients in one INSERT (the client services write one at a time: too slow for 10,000)."""
    now = timezone.now()
    rows = [
        Client(
            business=business,
            first_name=f"Client{i}",
            last_name="Bulk",
            email=f"{prefix}{i}@example.com",
            email_canonical=f"{prefix}{i}@example.com",
            email_consent=consent,
            created_at=now,
            **fields,
        )
        for i in range(start, start + count)
    ]
    return Client.objects.bulk_create(rows, batch_size=2000)


def make_promotion(business, owner=None, code="SPRING20"):
    data = PromotionData(name="Spring offer", code=code, kind="percent", value="20")
    return promotion_create(business=business, data=data, actor=owner)


def draft(business, owner=None, **fields) -> Campaign:
    return campaign_create(business=business, data=CampaignData(**{"name": "Spring news", **fields}), actor=owner)


def run_batches(business, campaign, *, size=500, limit=1000) -> list[str]:
    """Run a sending campaign's batches in this process, as the chained tasks would; the outcomes in order."""
    outcomes = []
    after = Campaign.objects.get(pk=campaign.pk).cursor
    for _ in range(limit):
        result = campaign_send_batch(business=business, campaign_id=campaign.pk, after=after, size=size)
        outcomes.append(result.outcome)
        if result.outcome != "written":
            return outcomes
        after = result.next_after
    raise AssertionError("the campaign never finished")


def send_all(business, campaign, owner=None, size=500) -> Campaign:
    """Start the campaign and write every batch (deliveries are not run: the test transaction never commits)."""
    campaign_send_now(business=business, campaign=campaign, actor=owner)
    run_batches(business, campaign, size=size)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    return campaign
