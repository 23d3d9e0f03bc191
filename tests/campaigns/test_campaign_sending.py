"""Sending a campaign: consent, batches that never write twice, cancel, the scheduled start by the beat, a stalled
campaign resumed, the test send to the owner, and a full run through Celery (in-process) to the mailbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_scopes import scope

from campaigns import tasks
from campaigns.bulk import (
    CampaignData,
    campaign_cancel,
    campaign_schedule,
    campaign_send_batch,
    campaign_send_now,
    campaign_test_send,
    campaign_update,
    campaigns_start_due,
)
from campaigns.models import Campaign, CampaignRecipient, CampaignStatus, MessageStatus, OutboxMessage
from campaigns.selectors_campaigns import campaign_counts
from clients.models import Client, Segment

from .campaign_fixtures import bulk_clients, draft, make_promotion, run_batches, send_all

pytestmark = pytest.mark.django_db


def messages_of(campaign):
    return OutboxMessage.objects.filter(idempotency_key__startswith=f"campaign:{campaign.pk}:client:")


def test_unconsented_clients_are_written_as_suppressed_and_never_sent(in_scope):
    business = in_scope
    bulk_clients(business, 3, prefix="yes")
    bulk_clients(business, 2, prefix="no", consent=False)
    segment = Segment.objects.create(business=business, name="Everyone", filters={})
    campaign = send_all(business, draft(business, audience="segment", segment=segment))
    rows = messages_of(campaign)
    assert rows.count() == 5 and campaign.total_recipients == 5
    suppressed = rows.filter(status=MessageStatus.SUPPRESSED)
    assert sorted(m.to_address for m in suppressed) == ["no0@example.com", "no1@example.com"]
    assert {m.suppressed_reason for m in suppressed} == {"No consent to marketing e-mail."}
    assert all(m.marketing and m.template == "campaign" for m in rows)
    counts = campaign_counts(business=business, campaign=campaign)
    assert (counts.recipients, counts.queued, counts.suppressed) == (5, 3, 2)


def test_each_message_is_rendered_for_its_client_with_tracked_links(in_scope, settings):
    business = in_scope
    promotion = make_promotion(business)
    (client,) = bulk_clients(business, 1)
    body = (
        "Hi {{ first_name }}! {{ promotion_name }} ({{ promotion_offer }}): {{ promotion_link }} / {{ referral_link }}"
    )

    campaign = send_all(business, draft(business, body=body, subject="For {{ first_name }}", promotion=promotion))
    recipient = CampaignRecipient.objects.get(campaign=campaign)
    message = recipient.message
    token = recipient.token
    assert message.subject == "For Client0"
    assert message.body_text.strip() == (
        f"Hi Client0! Spring offer (20% off): {settings.SITE_URL}/c/{token}p/ / {settings.SITE_URL}/c/{token}r/"
    )
    assert "SPRING20" not in message.body_text  # the promotion's own link never appears untracked
    assert f"/c/{token}p/" in message.body_html
    assert client.referral_codes.filter(is_current=True).exists()


def test_a_batch_retried_after_a_crash_writes_nothing_twice(in_scope):
    business = in_scope
    bulk_clients(business, 7)
    campaign = draft(business)
    campaign_send_now(business=business, campaign=campaign)
    first = campaign_send_batch(business=business, campaign_id=campaign.pk, after=0, size=3)
    assert (first.outcome, first.written) == ("written", 3)
    # The same task delivered again (it had committed before the worker died): the cursor moved, nothing written.
    again = campaign_send_batch(business=business, campaign_id=campaign.pk, after=0, size=3)
    assert again.outcome == "stale"
    # The cursor rolled back as if the commit had been lost while the rows stayed: the keys still hold.
    Campaign.objects.filter(pk=campaign.pk).update(cursor=0, written_recipients=0)
    replay = campaign_send_batch(business=business, campaign_id=campaign.pk, after=0, size=3)
    assert (replay.outcome, replay.written) == ("written", 0)
    run_batches(business, campaign, size=3)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert messages_of(campaign).count() == 7 == CampaignRecipient.objects.filter(campaign=campaign).count()
    assert set(CampaignRecipient.objects.filter(campaign=campaign).values_list("message__status", flat=True)) == {
        "queued"
    }


def test_cancel_stops_the_batches_not_yet_written(in_scope):
    business = in_scope
    bulk_clients(business, 10)
    campaign = draft(business)
    campaign_send_now(business=business, campaign=campaign)
    result = campaign_send_batch(business=business, campaign_id=campaign.pk, after=0, size=4)
    campaign_cancel(business=business, campaign=campaign)
    after_cancel = campaign_send_batch(business=business, campaign_id=campaign.pk, after=result.next_after, size=4)
    assert after_cancel.outcome == "stopped"
    campaign.refresh_from_db()
    assert (campaign.status, campaign.total_recipients, campaign.written_recipients) == ("cancelled", 4, 4)
    assert messages_of(campaign).count() == 4
    with pytest.raises(ValidationError):
        campaign_send_now(business=business, campaign=campaign)
    with pytest.raises(ValidationError):
        campaign_cancel(business=business, campaign=campaign)


def test_a_started_campaign_can_no_longer_be_changed_or_sent_again(in_scope):
    business = in_scope
    bulk_clients(business, 2)
    campaign = draft(business)
    campaign_send_now(business=business, campaign=campaign)
    with pytest.raises(ValidationError, match="started"):
        campaign_update(business=business, campaign=campaign, data=CampaignData(name="Changed"))
    with pytest.raises(ValidationError, match="already sent"):
        campaign_send_now(business=business, campaign=campaign)


def test_an_empty_audience_is_refused(in_scope):
    with pytest.raises(ValidationError, match="No client matches"):
        campaign_send_now(business=in_scope, campaign=draft(in_scope))


def test_the_beat_starts_a_scheduled_campaign_when_it_is_due(business, django_capture_on_commit_callbacks):
    with scope(business=business):
        bulk_clients(business, 3)
        campaign = draft(business)
        now = timezone.now()
        with pytest.raises(ValidationError, match="future"):
            campaign_schedule(business=business, campaign=campaign, when=now - timedelta(minutes=1))
        campaign_schedule(business=business, campaign=campaign, when=now + timedelta(hours=2))
    assert campaigns_start_due(now=now + timedelta(hours=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.campaigns_start_due.apply(kwargs={}).get() == 0  # the real task: nothing due yet either
        assert campaigns_start_due(now=now + timedelta(hours=2, seconds=1)) == 1
    with scope(business=business):
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.SENT  # the batch task ran in-process
        assert messages_of(campaign).count() == 3
    assert campaigns_start_due(now=now + timedelta(hours=3)) == 0  # started once


def test_a_scheduled_campaign_that_cannot_start_is_cancelled_with_the_reason(business):
    with scope(business=business):
        segment = Segment.objects.create(business=business, name="Gone soon", filters={})
        campaign = draft(business, audience="segment", segment=segment)
        campaign_schedule(business=business, campaign=campaign, when=timezone.now() + timedelta(minutes=5))
        segment.delete()
    assert campaigns_start_due(now=timezone.now() + timedelta(minutes=6)) == 0
    with scope(business=business):
        campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert campaign.problem.startswith("Not sent: Choose a segment")


def test_a_sending_campaign_whose_task_was_lost_is_resumed_once(business, django_capture_on_commit_callbacks):
    with scope(business=business):
        bulk_clients(business, 5)
        campaign = draft(business)
        campaign_send_now(business=business, campaign=campaign)  # its task is never run: lost with the broker
        campaign_send_batch(business=business, campaign_id=campaign.pk, after=0, size=2)
    later = timezone.now() + timedelta(minutes=6)
    with django_capture_on_commit_callbacks(execute=True):
        assert campaigns_start_due(now=later) == 1
    assert campaigns_start_due(now=later) == 0  # batch_at moved: not resumed twice
    with scope(business=business):
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.SENT and messages_of(campaign).count() == 5


def test_the_test_send_goes_only_to_the_signed_in_owner(
    in_scope, owner, mailoutbox, django_capture_on_commit_callbacks
):
    business = in_scope
    bulk_clients(business, 3)
    campaign = draft(business, subject="Hello {{ first_name }}")
    with django_capture_on_commit_callbacks(execute=True):
        first = campaign_test_send(business=business, campaign=campaign, user=owner)
        second = campaign_test_send(business=business, campaign=campaign, user=owner)
    assert first.pk != second.pk and not first.marketing
    assert [m.to for m in mailoutbox] == [[owner.email], [owner.email]]
    assert mailoutbox[0].subject == "[Test] Hello Client0"
    assert "List-Unsubscribe" not in mailoutbox[0].extra_headers
    assert not CampaignRecipient.objects.exists()
    assert OutboxMessage.objects.filter(client__isnull=False).count() == 0
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_send_now_runs_every_batch_through_celery_and_delivers(
    in_scope, owner, mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    business = in_scope
    monkeypatch.setattr("campaigns.bulk.BATCH_SIZE", 2)
    bulk_clients(business, 5)
    bulk_clients(business, 1, prefix="no", consent=False)
    segment = Segment.objects.create(business=business, name="Everyone", filters={})
    campaign = draft(business, subject="Spring at {{ business_name }}", audience="segment", segment=segment)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_send_now(business=business, campaign=campaign, actor=owner)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.total_recipients, campaign.written_recipients) == ("sent", 6, 6)
    assert sorted(m.to[0] for m in mailoutbox) == [f"c{i}@example.com" for i in range(5)]
    assert all("List-Unsubscribe" in m.extra_headers for m in mailoutbox)
    counts = campaign_counts(business=business, campaign=campaign)
    assert (counts.sent, counts.suppressed, counts.queued) == (5, 1, 0)


def test_unsubscribed_counts_suppressions_made_after_the_message(in_scope):
    from campaigns.services import client_unsubscribe

    business = in_scope
    clients = bulk_clients(business, 3)
    earlier = Client.objects.get(pk=clients[2].pk)
    client_unsubscribe(business=business, client=earlier)  # before the campaign: not counted
    Client.objects.filter(pk=earlier.pk).update(email_consent=True)
    campaign = send_all(business, draft(business))
    client_unsubscribe(business=business, client=clients[0])
    counts = campaign_counts(business=business, campaign=campaign)
    assert counts.unsubscribed == 1
