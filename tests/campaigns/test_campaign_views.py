"""The campaign pages as owner, staff and outsider: list, form (count, preview), actions, progress and recipients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from campaigns.bulk import campaign_schedule, campaign_send_now
from campaigns.models import Campaign, CampaignRecipient, CampaignStatus, MessageStatus, OutboxMessage
from clients.models import Segment

from .campaign_fixtures import bulk_clients, draft, make_promotion, run_batches, send_all

pytestmark = pytest.mark.django_db


def url(name, business, *args):
    return reverse(f"campaigns:{name}", args=[business.slug, *args])


@pytest.fixture
def clients_(business):
    with scope(business=business):
        return bulk_clients(business, 3)


@pytest.fixture
def campaign(business, owner, clients_):
    with scope(business=business):
        return draft(business, owner, subject="Hello {{ first_name }}")


@pytest.fixture
def sent_campaign(business, owner, clients_):
    with scope(business=business):
        bulk_clients(business, 60, prefix="more")
        campaign = send_all(business, draft(business, owner, name="Sent one"))
        # Some went out, one failed, one clicked.
        messages = OutboxMessage.objects.filter(template="campaign").order_by("id")
        OutboxMessage.objects.filter(pk__in=[m.pk for m in messages[:10]]).update(
            status=MessageStatus.SENT, sent_at=timezone.now()
        )
        OutboxMessage.objects.filter(pk=messages[10].pk).update(status=MessageStatus.FAILED, last_error="SMTP 550")
        CampaignRecipient.objects.filter(message=messages[0]).update(clicked_at=timezone.now())
        return campaign


def test_the_owner_creates_a_draft_from_the_form(owner_client, business, clients_):
    with scope(business=business):
        segment = Segment.objects.create(business=business, name="All", filters={})
        promotion = make_promotion(business)
    form = owner_client.get(url("campaign_new", business))
    assert form.status_code == 200 and "Insert promotion link" in form.content.decode()
    response = owner_client.post(
        url("campaign_new", business),
        {
            "name": "Spring",
            "audience": "segment",
            "segment": segment.pk,
            "audience_days": 30,
            "promotion": promotion.pk,
            "subject": "Hi {{ first_name }}",
            "body": "Book: {{ promotion_link }}",
            "action": "save",
        },
    )
    with scope(business=business):
        saved = Campaign.objects.get(business=business)
    assert response.status_code == 302 and response["Location"] == url("campaign", business, saved.pk)
    assert (saved.audience, saved.segment, saved.promotion, saved.status) == ("segment", segment, promotion, "draft")


def test_the_form_shows_field_errors_and_saves_nothing(owner_client, business):
    response = owner_client.post(
        url("campaign_new", business),
        {"name": "Bad", "audience": "segment", "audience_days": 30, "subject": "Hi", "body": "{% load x %}"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Choose a segment." in page and "is not available in messages" in page
    with scope(business=business):
        assert not Campaign.objects.exists()


def test_the_preview_renders_for_the_first_recipient_without_saving(owner_client, business, clients_):
    response = owner_client.post(
        url("campaign_new", business),
        {
            "name": "P",
            "audience": "consenting",
            "audience_days": 30,
            "subject": "Hi {{ first_name }}",
            "body": "x",
            "action": "preview",
        },
        HTTP_HX_REQUEST="true",
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="preview"' in page and "Hi Client0" in page and "<html" not in page
    with scope(business=business):
        assert not Campaign.objects.exists()


def test_the_audience_count_counts_clients_and_consent(owner_client, business, clients_):
    with scope(business=business):
        bulk_clients(business, 2, prefix="no", consent=False)
        segment = Segment.objects.create(business=business, name="All", filters={})
    response = owner_client.get(
        url("campaign_audience_count", business), {"audience": "segment", "segment": segment.pk}
    )
    text = " ".join(response.content.decode().split())
    assert "5 clients" in text and "3 of whom agreed" in text
    response = owner_client.get(url("campaign_audience_count", business), {"audience": "segment"})
    assert "Choose a segment." in response.content.decode()
    response = owner_client.get(url("campaign_audience_count", business), {"audience": "consenting"})
    assert "3 clients" in " ".join(response.content.decode().split())


def test_test_send_then_send_now_from_the_campaign_page(
    owner_client, owner, business, campaign, mailoutbox, django_capture_on_commit_callbacks
):
    page = owner_client.get(url("campaign", business, campaign.pk)).content.decode()
    assert "Hello Client0" in page and "Send now" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url("campaign_test_send", business, campaign.pk), follow=True)
    assert f"A test is on its way to {owner.email}" in response.content.decode()
    assert [m.to for m in mailoutbox] == [[owner.email]]
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(url("campaign_send", business, campaign.pk))
    with scope(business=business):
        campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert sorted(m.to[0] for m in mailoutbox[1:]) == ["c0@example.com", "c1@example.com", "c2@example.com"]
    again = owner_client.post(url("campaign_send", business, campaign.pk), follow=True)
    assert "already sent or cancelled" in again.content.decode()


def test_schedule_in_the_business_time_zone_and_cancel(owner_client, business, campaign):
    # The business is in Europe/London: 10:00 in January is 10:00 UTC, in July 09:00 UTC.
    year = timezone.now().year + 1
    response = owner_client.post(
        url("campaign_schedule", business, campaign.pk), {"scheduled_at": f"{year}-07-01T10:00"}
    )
    assert response.status_code == 302
    with scope(business=business):
        campaign.refresh_from_db()
    assert campaign.status == "scheduled"
    assert campaign.scheduled_at == datetime(year, 7, 1, 9, 0, tzinfo=UTC)
    past = owner_client.post(
        url("campaign_schedule", business, campaign.pk), {"scheduled_at": "2001-01-01T10:00"}, follow=True
    )
    assert "Choose a time in the future." in past.content.decode()
    owner_client.post(url("campaign_cancel", business, campaign.pk))
    with scope(business=business):
        campaign.refresh_from_db()
    assert campaign.status == "cancelled"


def test_staff_see_campaigns_but_cannot_create_or_send(staff_client, business, campaign):
    assert staff_client.get(url("campaigns", business)).status_code == 200
    page = staff_client.get(url("campaign", business, campaign.pk)).content.decode()
    assert "Send now" not in page
    for name in ("campaign_send", "campaign_test_send", "campaign_cancel", "campaign_schedule"):
        assert staff_client.post(url(name, business, campaign.pk)).status_code == 403
    assert staff_client.get(url("campaign_new", business)).status_code == 403
    with scope(business=business):
        campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_the_outsider_gets_404(outsider_client, business, campaign):
    assert outsider_client.get(url("campaign", business, campaign.pk)).status_code == 404
    assert outsider_client.post(url("campaign_send", business, campaign.pk)).status_code == 404


def test_the_list_shows_status_and_counts(
    owner_client, business, sent_campaign, campaign, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        response = owner_client.get(url("campaigns", business))
    page = " ".join(response.content.decode().split())
    assert "Sent one" in page and "Spring news" in page
    assert '<td class="num">63</td> <td class="num">10</td> <td class="num">1</td>' in page


def test_the_progress_partial_counts_and_stops_polling_when_done(owner_client, business, sent_campaign):
    response = owner_client.get(url("campaign_progress", business, sent_campaign.pk), HTTP_HX_REQUEST="true")
    page = " ".join(response.content.decode().split())
    assert response.status_code == 200 and "<html" not in page
    assert 'hx-trigger="every 2s"' in page  # 52 messages are still queued: it keeps polling
    assert 'data-count="sent">10<' in page and 'data-count="failed">1<' in page and 'data-count="clicked">1<' in page
    with scope(business=business):
        OutboxMessage.objects.filter(status=MessageStatus.QUEUED).update(
            status=MessageStatus.SENT, sent_at=timezone.now()
        )
    done = owner_client.get(url("campaign_progress", business, sent_campaign.pk), HTTP_HX_REQUEST="true")
    text = " ".join(done.content.decode().split())
    assert "every 2s" not in text and "100%" in text and done["HX-Trigger"] == "campaign-finished"


def test_a_sending_campaign_polls_while_its_batches_are_written(owner_client, business, campaign):
    with scope(business=business):
        campaign_send_now(business=business, campaign=campaign)
    page = owner_client.get(url("campaign", business, campaign.pk)).content.decode()
    assert "Sending…" in page and "every 2s" in page
    with scope(business=business):
        run_batches(business, campaign)
    progress = owner_client.get(url("campaign_progress", business, campaign.pk), HTTP_HX_REQUEST="true")
    assert "0 of 3 messages handled" in " ".join(progress.content.decode().split())


def test_the_recipients_table_pages_and_filters(owner_client, business, sent_campaign, django_assert_max_num_queries):
    first = owner_client.get(url("campaign", business, sent_campaign.pk) + "?table=1", HTTP_HX_REQUEST="true")
    page = first.content.decode()
    assert page.count("<tr>") == 51 and "Next →" in page  # header and 50 rows
    with django_assert_max_num_queries(8):
        second = owner_client.get(
            url("campaign", business, sent_campaign.pk) + "?table=1&page=2", HTTP_HX_REQUEST="true"
        )
    assert second.content.decode().count("<tr>") == 14 and "← Previous" in second.content.decode()
    failed = owner_client.get(
        url("campaign", business, sent_campaign.pk) + "?table=1&status=failed", HTTP_HX_REQUEST="true"
    )
    assert failed.content.decode().count("<tr>") == 2 and "SMTP 550" in failed.content.decode()
    clicked = owner_client.get(url("campaign", business, sent_campaign.pk) + "?status=clicked")
    assert clicked.status_code == 200 and "Clicked" in clicked.content.decode()


def test_a_started_campaign_cannot_be_edited(owner_client, business, sent_campaign):
    response = owner_client.get(url("campaign_edit", business, sent_campaign.pk))
    assert response.status_code == 302
    assert owner_client.post(url("campaign_edit", business, sent_campaign.pk), {"name": "x"}).status_code == 302
    with scope(business=business):
        sent_campaign.refresh_from_db()
    assert sent_campaign.name == "Sent one"


def test_editing_a_scheduled_campaign_keeps_its_time(owner_client, business, campaign):
    when = timezone.now() + timedelta(days=2)
    with scope(business=business):
        campaign_schedule(business=business, campaign=campaign, when=when)
    response = owner_client.post(
        url("campaign_edit", business, campaign.pk),
        {
            "name": "Renamed",
            "audience": "consenting",
            "audience_days": 30,
            "subject": "S",
            "body": "B",
            "action": "save",
        },
    )
    assert response.status_code == 302
    with scope(business=business):
        campaign.refresh_from_db()
    assert (campaign.name, campaign.status, campaign.scheduled_at) == ("Renamed", "scheduled", when)
