"""Demo targeted campaigns: one sent to the studio's referrers (recipients, deliveries and a few clicks) and one
scheduled for next week. Made through the real services; idempotent (nothing is added once a campaign exists)."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django_scopes import scope

from .bulk import (
    CampaignData,
    campaign_click,
    campaign_create,
    campaign_schedule,
    campaign_send_batch,
    campaign_send_now,
)
from .models import Campaign, CampaignAudience, CampaignRecipient, MessageStatus, Promotion

SENT_BODY = """Hi {{ first_name }},

Thank you for sending your friends to {{ business_name }}: it means a lot to a small studio.
{% if promotion_name %}
As one of our referrers, you get {{ promotion_offer }} your next visit with {{ promotion_name }}: {{ promotion_link }}
{% endif %}
Your own link to share stays the same: {{ referral_link }}

Maya and the team
"""
SCHEDULED_BODY = """Hi {{ first_name }},

Spring is coming to {{ business_name }}: new hot-stone sessions and longer evening hours.
{% if promotion_name %}
{{ promotion_name }}: {{ promotion_offer }}. Book here: {{ promotion_link }}
{% endif %}
See you soon,
Maya
"""


def seed_campaigns(context) -> None:
    business = context.business
    with scope(business=business):
        if Campaign.objects.filter(business=business).exists():
            return
        promotions = Promotion.objects.filter(business=business, archived_at__isnull=True).order_by("created_at")
        referrers_treat = promotions.filter(audience="referrers").first() or promotions.first()
        sent = campaign_create(
            business=business,
            data=CampaignData(
                name="Thank you, referrers",
                audience=CampaignAudience.REFERRERS,
                subject="A thank-you from {{ business_name }}, {{ first_name }}",
                body=SENT_BODY,
                promotion=referrers_treat,
            ),
            actor=context.owner,
        )
        try:
            campaign_send_now(business=business, campaign=sent, actor=context.owner)
        except ValidationError:
            sent.delete()  # no referrer in this demo yet: nothing to show
        else:
            # The batches run here (the task sent after commit finds them written); deliveries follow the commit.
            result = campaign_send_batch(business=business, campaign_id=sent.pk, after=0)
            while result.outcome == "written":
                result = campaign_send_batch(business=business, campaign_id=sent.pk, after=result.next_after)
            reached = CampaignRecipient.objects.filter(
                business=business, campaign=sent, message__status=MessageStatus.QUEUED
            ).order_by("id")
            for recipient in reached[:3]:
                campaign_click(token=f"{recipient.token}p")
        spring = campaign_create(
            business=business,
            data=CampaignData(
                name="Spring news",
                audience=CampaignAudience.CONSENTING,
                subject="Spring at {{ business_name }}",
                body=SCHEDULED_BODY,
                promotion=promotions.first(),
            ),
            actor=context.owner,
        )
        campaign_schedule(business=business, campaign=spring, when=timezone.now() + timedelta(days=7))
