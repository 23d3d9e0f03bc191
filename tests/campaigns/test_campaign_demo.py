"""The demo business has a sent campaign with recipients and clicks, and one scheduled for next week."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_scopes import scope

from businesses.demo import DEMO_SLUG
from businesses.models import Business
from campaigns.models import Campaign, CampaignStatus
from campaigns.selectors_campaigns import campaign_counts

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_seeds_a_sent_and_a_scheduled_campaign():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # idempotent
    business = Business.objects.get(slug=DEMO_SLUG)
    with scope(business=business):
        sent = Campaign.objects.get(business=business, status=CampaignStatus.SENT)
        scheduled = Campaign.objects.get(business=business, status=CampaignStatus.SCHEDULED)
        counts = campaign_counts(business=business, campaign=sent)
    assert sent.promotion is not None and counts.recipients == sent.total_recipients > 0
    assert counts.clicked == min(3, counts.sent) > 0
    # The seed's transaction committed: the deliveries ran in-process.
    assert counts.queued == 0 and counts.sent + counts.suppressed == counts.recipients
    assert scheduled.scheduled_at > timezone.now()
