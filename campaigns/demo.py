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
    seed_webhooks(context)


def seed_webhooks(context) -> None:
    """A CRM endpoint, paused (the demo machine reaches no internet: an enabled one would only pile up retries),
    with the log of what it received before: referrals confirmed and rewards issued for the demo's referrals."""
    from referrals.models import Referral, ReferralStatus

    from .models import MessageStatus, WebhookDelivery, WebhookEndpoint
    from .webhooks import new_event_id, new_secret

    business = context.business
    with scope(business=business):
        if WebhookEndpoint.objects.filter(business=business).exists():
            return
        endpoint = WebhookEndpoint.objects.create(
            business=business,
            url="https://crm.serenity-massage.example/hooks/referrals",
            description="Our CRM: new referrals and rewards",
            events=["referral.confirmed", "reward.issued"],
            secret=new_secret(),
            enabled=False,
            disabled_reason="Paused by the owner while the CRM moves.",
        )
        confirmed = Referral.objects.filter(business=business, status=ReferralStatus.CONFIRMED, is_test=False)
        for referral in confirmed.select_related("referrer", "referee").order_by("confirmed_at")[:6]:
            moment = referral.confirmed_at or timezone.now()
            WebhookDelivery.objects.create(
                business=business,
                endpoint=endpoint,
                event_type="referral.confirmed",
                event_id=new_event_id(),
                payload={
                    "type": "referral.confirmed",
                    "timestamp": moment.isoformat(),
                    "data": {
                        "id": referral.pk,
                        "referrer": {"id": referral.referrer_id, "first_name": referral.referrer.first_name},
                        "referee": {"id": referral.referee_id, "first_name": referral.referee.first_name},
                    },
                },
                status=MessageStatus.SENT,
                attempts=1,
                last_status_code=200,
                last_response='{"ok": true}',
                last_attempt_at=moment,
                created_at=moment,
                sent_at=moment,
            )


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
