"""Tracked links of campaign e-mail: /c/<token>/ records the first click and redirects; anything else is 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope

from campaigns.bulk import campaign_click
from campaigns.models import CampaignRecipient
from campaigns.promotions import promotion_link
from campaigns.selectors_campaigns import campaign_counts
from referrals.codes import code_for_client, link_for

from .campaign_fixtures import bulk_clients, draft, make_promotion, send_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(business, owner):
    with scope(business=business):
        bulk_clients(business, 2)
        promotion = make_promotion(business, owner)
        campaign = send_all(business, draft(business, owner, promotion=promotion))
        recipient = CampaignRecipient.objects.select_related("client").order_by("id").first()
    return {"business": business, "campaign": campaign, "recipient": recipient, "promotion": promotion}


def test_a_click_is_recorded_once_and_redirects_to_the_promotion(client, sent):
    recipient, business = sent["recipient"], sent["business"]
    response = client.get(f"/c/{recipient.token}p/")
    assert response.status_code == 302
    with scope(business=business):
        assert response["Location"] == promotion_link(sent["promotion"])
        recipient.refresh_from_db()
    first = recipient.clicked_at
    assert first is not None
    # A second click, later, through the other link: the first time stays.
    response = client.get(f"/c/{recipient.token}r/")
    with scope(business=business):
        assert response["Location"] == link_for(code_for_client(business=business, client=recipient.client))
        recipient.refresh_from_db()
        assert recipient.clicked_at == first
        assert campaign_counts(business=business, campaign=sent["campaign"]).clicked == 1


def test_the_first_click_wins_with_a_conditional_update(sent):
    recipient = sent["recipient"]
    early, late = timezone.now(), timezone.now() + timedelta(hours=1)
    assert campaign_click(token=f"{recipient.token}p", now=early)
    assert campaign_click(token=f"{recipient.token}p", now=late)
    with scope(business=sent["business"]):
        recipient.refresh_from_db()
    assert recipient.clicked_at == early


@pytest.mark.parametrize(
    "token",
    [
        "AAAAAAAAAAAAAAAAAAAAAAp",  # well formed, names nobody
        "short",
        "x" * 200,
        "../../etc/passwd",
    ],
)
def test_a_forged_or_damaged_token_answers_404(client, sent, token):
    assert client.get(f"/c/{token}/").status_code == 404
    with scope(business=sent["business"]):
        assert not CampaignRecipient.objects.filter(clicked_at__isnull=False).exists()


def test_a_real_token_with_an_unknown_target_answers_404(client, sent):
    assert client.get(f"/c/{sent['recipient'].token}x/").status_code == 404


def test_a_deleted_promotion_sends_the_click_to_the_booking_page(client, sent):
    business = sent["business"]
    with scope(business=business):
        sent["promotion"].delete()
    response = client.get(f"/c/{sent['recipient'].token}p/")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/w/{business.slug}/")


def test_the_link_only_answers_get(client, sent):
    assert client.post(f"/c/{sent['recipient'].token}p/").status_code == 405
