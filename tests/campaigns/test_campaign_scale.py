"""A campaign to 10,000 clients: every recipient gets one message, and a batch costs a fixed number of queries
whatever its size (500 or 50)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from campaigns.bulk import campaign_send_batch, campaign_send_now
from campaigns.models import CampaignRecipient, CampaignStatus, MessageStatus, OutboxMessage
from referrals.models import ReferralCode

from .campaign_fixtures import bulk_clients, draft, make_promotion

pytestmark = pytest.mark.django_db

# Lock, clients, recipients written, codes (read, insert, read again), outbox keys, messages, recipients,
# cursor, and the savepoint around it (the test's transaction): the same for 50 recipients as for 500.
POSTGRES_BOUND = 12
# SQLite takes at most 999 parameters per statement, so Django splits each bulk INSERT into chunks: a batch of
# 500 needs a dozen more statements, all INSERTs; every other query is the same as for 50.
SQLITE_BOUND = 32


def bound() -> int:
    return POSTGRES_BOUND if connection.vendor == "postgresql" else SQLITE_BOUND


def run_batch(business, campaign, after, size):
    with CaptureQueriesContext(connection) as captured:
        result = campaign_send_batch(business=business, campaign_id=campaign.pk, after=after, size=size)
    return result, [query["sql"] for query in captured.captured_queries]


def not_inserts(queries) -> list[str]:
    return [sql for sql in queries if not sql.lstrip().upper().startswith("INSERT")]


def test_ten_thousand_recipients_each_get_one_message_in_bounded_batches(in_scope, owner):
    business = in_scope
    bulk_clients(business, 10_000)
    promotion = make_promotion(business, owner)
    campaign = draft(business, owner, promotion=promotion)  # the default body uses the referral link too
    campaign_send_now(business=business, campaign=campaign, actor=owner)

    after, sizes = 0, []
    while True:
        result, queries = run_batch(business, campaign, after, 500)
        assert len(queries) <= bound(), queries
        sizes.append(len(queries))
        if result.outcome == "finished":
            break
        assert result.written == 500
        after = result.next_after
    # Twenty full batches, then one that finds nobody left and marks the campaign sent.
    assert len(sizes) == 21 and result.written == 0
    if connection.vendor == "postgresql":
        assert len(set(sizes[:-1])) == 1, sizes

    campaign.refresh_from_db()
    assert (campaign.status, campaign.total_recipients, campaign.written_recipients) == (
        CampaignStatus.SENT,
        10_000,
        10_000,
    )
    recipients = CampaignRecipient.objects.filter(business=business, campaign=campaign)
    assert recipients.count() == 10_000 == recipients.values("client").distinct().count()
    assert not recipients.filter(message__isnull=True).exists()
    messages = OutboxMessage.objects.filter(business=business, template="campaign")
    assert messages.count() == 10_000
    assert not messages.values("client").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert messages.filter(status=MessageStatus.QUEUED).count() == 10_000
    assert ReferralCode.objects.filter(business=business, is_current=True).count() == 10_000


def test_a_batch_of_500_costs_the_queries_of_a_batch_of_50(in_scope, owner):
    business = in_scope
    bulk_clients(business, 600)
    promotion = make_promotion(business, owner)
    small, large = draft(business, owner, promotion=promotion), draft(business, owner, promotion=promotion)
    for campaign in (small, large):
        campaign_send_now(business=business, campaign=campaign, actor=owner)
    small_result, small_queries = run_batch(business, small, 0, 50)
    # The large batch finds half of its clients' referral codes made by the small one: still the same queries.
    large_result, large_queries = run_batch(business, large, 0, 500)
    assert (small_result.written, large_result.written) == (50, 500)
    assert len(small_queries) <= bound() and len(large_queries) <= bound()
    assert len(not_inserts(small_queries)) == len(not_inserts(large_queries))
    if connection.vendor == "postgresql":
        assert len(small_queries) == len(large_queries)
