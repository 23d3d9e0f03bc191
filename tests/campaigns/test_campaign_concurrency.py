"""Campaign writes under real concurrency on PostgreSQL: one start, and one batch however many tasks run it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope

from campaigns.bulk import campaign_cancel, campaign_send_batch, campaign_send_now
from campaigns.models import Campaign, CampaignRecipient, CampaignStatus, OutboxMessage

from ..threads import needs_postgres, run_at_once
from .campaign_fixtures import bulk_clients, draft

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    needs_postgres()


@pytest.fixture
def sending(business):
    """A campaign marked as sending without its first task: the threads below are its tasks."""
    with scope(business=business):
        bulk_clients(business, 30)
        campaign = draft(business)
        Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING, total_recipients=30)
    return campaign


def test_eight_tasks_running_the_same_batch_at_once_write_it_once(business, sending):
    def work(_):
        with scope(business=business):
            return campaign_send_batch(business=business, campaign_id=sending.pk, after=0, size=10).outcome

    outcomes, errors = run_at_once(work, threads=8)
    assert errors == []
    assert sorted(outcomes) == ["stale"] * 7 + ["written"]
    with scope(business=business):
        assert CampaignRecipient.objects.filter(campaign=sending).count() == 10
        assert OutboxMessage.objects.filter(template="campaign").count() == 10
        assert Campaign.objects.get(pk=sending.pk).written_recipients == 10


def test_send_now_clicked_five_times_at_once_starts_once(business, owner, monkeypatch):
    monkeypatch.setattr("campaigns.bulk._dispatch_batch", lambda *args: None)
    with scope(business=business):
        bulk_clients(business, 3)
        campaign = draft(business)

    def work(_):
        with scope(business=business):
            try:
                campaign_send_now(business=business, campaign=campaign, actor=owner)
                return "started"
            except ValidationError:
                return "refused"

    outcomes, errors = run_at_once(work, threads=5)
    assert errors == [] and sorted(outcomes) == ["refused"] * 4 + ["started"]


def test_a_cancel_during_a_batch_waits_for_it_and_stops_the_next(business, sending):
    def work(index):
        with scope(business=business):
            if index == 0:
                return campaign_send_batch(business=business, campaign_id=sending.pk, after=0, size=10).outcome
            campaign_cancel(business=business, campaign=sending)
            return "cancelled"

    outcomes, errors = run_at_once(work, threads=2)
    assert errors == [] and "cancelled" in outcomes
    with scope(business=business):
        campaign = Campaign.objects.get(pk=sending.pk)
        written = CampaignRecipient.objects.filter(campaign=sending).count()
        assert campaign.status == CampaignStatus.CANCELLED and campaign.written_recipients == written in (0, 10)
        after = campaign_send_batch(business=business, campaign_id=sending.pk, after=campaign.cursor, size=10)
    assert after.outcome == "stopped"
