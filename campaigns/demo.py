"""Demo campaigns data: promotions (one attached to the Referral Thank You) and the sender settings. Idempotent."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_scopes import scope

from businesses.models import Service

from .demo_campaigns import seed_campaigns
from .models import AutopilotKind, Promotion
from .promotions import PromotionData, promotion_create
from .services import autopilot_get, autopilot_save, messaging_settings_save


def seed(context) -> None:
    seed_promotions(context)
    seed_campaigns(context)


def seed_promotions(context) -> None:
    business = context.business
    with scope(business=business):
        if Promotion.objects.filter(business=business).exists():
            return
        today = timezone.localdate()
        massages = Service.objects.filter(business=business, is_active=True, name__icontains="massage")
        promotion_create(
            business=business,
            data=PromotionData(
                name="Winter warm-up",
                code="WARMUP20",
                kind="percent",
                value="20",
                service_ids=tuple(massages.values_list("pk", flat=True)),
                starts_on=today - timedelta(days=7),
                ends_on=today + timedelta(days=60),
                max_uses=40,
                audience="new_clients",
            ),
            actor=context.owner,
        )
        thanks = promotion_create(
            business=business,
            data=PromotionData(
                name="Referrers' treat", code="THANKYOU10", kind="fixed", value="10", audience="referrers"
            ),
            actor=context.owner,
        )
        thank_you = autopilot_get(business=business, kind=AutopilotKind.REFERRAL_THANK_YOU)
        autopilot_save(
            business=business,
            kind=AutopilotKind.REFERRAL_THANK_YOU,
            enabled=thank_you.enabled,
            subject=thank_you.subject,
            body=thank_you.body,
            promotion=thanks,
        )
        messaging_settings_save(
            business=business, sender_name=f"Maya at {business.name}", reply_to="hello@serenity-massage.example"
        )
