"""The autopilots: domain-event subscribers that write a message to the outbox in the transaction of the change.

Subscribed in CampaignsConfig.ready(). Each message has an idempotency key derived from its trigger, so an
event recorded twice (a retried confirmation, two channels) still writes one message.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.utils import dateformat, timezone

from businesses.models import Business, DomainEvent
from businesses.money import format_money
from clients.models import Client
from referrals.codes import code_for_client, link_for
from referrals.models import Referral, ReferralStatus, ReferrerTally
from rewards.milestones import milestone_reward_label
from rewards.models import Milestone, Reward
from rewards.services import coupon_label

from . import sandbox
from .models import AutopilotKind, Promotion
from .promotions import promotion_is_running, promotion_variables
from .sandbox import Rendered, Variables
from .services import autopilot_get, outbox_enqueue
from .wording import DEFAULTS

logger = logging.getLogger(__name__)


def local_date(business: Business, moment) -> str:
    if moment is None:
        return ""
    return dateformat.format(timezone.localtime(moment, ZoneInfo(business.time_zone)), "j F Y")


def thank_you_variables(
    *, business: Business, referral: Referral, reward: Reward | None, promotion: Promotion | None = None
) -> Variables:
    """The thank-you's variables for a confirmed referral: plain strings and numbers, first names only. An
    attached promotion still running adds its name, offer and link."""
    referrer, referee = referral.referrer, referral.referee
    tally = ReferrerTally.objects.filter(business=business, client_id=referrer.pk).first()
    coupon = reward.coupon if reward is not None and reward.status == "issued" else None
    return {
        "referrer_first_name": referrer.first_name,
        "friend_first_name": referee.first_name,
        "referral_count": tally.successful_referrals if tally else 1,
        "reward": coupon_label(coupon) if coupon else (reward.description if reward else ""),
        "coupon_code": coupon.code if coupon else "",
        "expires_on": local_date(business, coupon.expires_at) if coupon else "",
        "business_name": business.name,
        "referral_link": link_for(code_for_client(business=business, client=referrer)),
        **promotion_variables(promotion if promotion is not None and promotion_is_running(promotion) else None),
    }


def render_or_default(kind: str, subject: str, body: str, variables: Variables) -> Rendered:
    """The owner's wording; if it cannot render, the default wording, so a broken template never blocks the
    change that triggered it (the confirmation of a booking)."""
    try:
        return sandbox.render(subject, body, variables)
    except Exception:  # anything the owner's template does wrong must not roll back the confirmation
        logger.exception("Autopilot %s: the business's template failed, the default was used", kind)
        return sandbox.render(*DEFAULTS[kind], variables)


def on_referral_confirmed(event: DomainEvent) -> None:
    """Referral Thank You: the referrer hears who booked and what they earned (transactional: no consent needed)."""
    business = event.business
    autopilot = autopilot_get(business=business, kind=AutopilotKind.REFERRAL_THANK_YOU)
    if not autopilot.enabled:
        return
    referral = (
        Referral.objects.select_related("referrer", "referee").filter(business=business, pk=event.subject_id).first()
    )
    if referral is None:
        return
    reward_id = event.payload.get("reward_id")
    reward = (
        Reward.objects.select_related("coupon").filter(business=business, pk=reward_id).first() if reward_id else None
    )
    variables = thank_you_variables(business=business, referral=referral, reward=reward, promotion=autopilot.promotion)
    outbox_enqueue(
        business=business,
        key=f"thank-you:referral:{referral.pk}",
        template=AutopilotKind.REFERRAL_THANK_YOU,
        content=render_or_default(autopilot.kind, autopilot.subject, autopilot.body, variables),
        client=referral.referrer,
        send_after=timezone.now() + timedelta(minutes=autopilot.delay_minutes),
    )


def on_reward_revoked(event: DomainEvent) -> None:
    """A short transactional note to the referrer: their reward was withdrawn, and why."""
    business = event.business
    reward = Reward.objects.select_related("coupon").filter(business=business, pk=event.subject_id).first()
    if reward is None:
        return
    client = Client.objects.filter(business=business, pk=reward.client_id).first()
    if client is None:
        return
    context = {
        "first_name": client.first_name,
        "reward": coupon_label(reward.coupon) if reward.coupon else reward.description,
        "coupon_code": reward.coupon.code if reward.coupon else "",
        "reason": event.payload.get("reason") or reward.revoke_reason,
        "business_name": business.name,
    }
    text = render_to_string("emails/reward_revoked.txt", context).strip() + "\n"
    outbox_enqueue(
        business=business,
        key=f"reward-revoked:{reward.pk}",
        template="reward_revoked",
        content=Rendered(
            subject=" ".join(render_to_string("emails/reward_revoked_subject.txt", context).split()),
            text=text,
            html=render_to_string("emails/reward_revoked.html", context),
        ),
        client=client,
    )


def on_referral_created(event: DomainEvent) -> None:
    """Welcome: a referred new client who books hears who recommended them and the discount they got
    (transactional). Only a live referral (pending or flagged) made with a booking; never a test drive."""
    if event.payload.get("status") not in (ReferralStatus.PENDING, ReferralStatus.FLAGGED):
        return
    business = event.business
    autopilot = autopilot_get(business=business, kind=AutopilotKind.WELCOME)
    if not autopilot.enabled:
        return
    referral = (
        Referral.objects.select_related("referrer", "referee").filter(business=business, pk=event.subject_id).first()
    )
    if referral is None or referral.booking_id is None or referral.is_test:
        return
    variables: Variables = {
        "first_name": referral.referee.first_name,
        "referrer_first_name": referral.referrer.first_name,
        "discount": f"{format_money(referral.referee_discount, business.currency)} off"
        if referral.referee_discount
        else "",
        "business_name": business.name,
    }
    outbox_enqueue(
        business=business,
        key=f"welcome:referral:{referral.pk}",
        template=AutopilotKind.WELCOME,
        content=render_or_default(autopilot.kind, autopilot.subject, autopilot.body, variables),
        client=referral.referee,
        send_after=timezone.now() + timedelta(minutes=autopilot.delay_minutes),
    )


def on_milestone_reached(event: DomainEvent) -> None:
    """Milestone reached: the referrer hears which milestone they reached and what it gave them (transactional)."""
    business = event.business
    autopilot = autopilot_get(business=business, kind=AutopilotKind.MILESTONE_REACHED)
    if not autopilot.enabled:
        return
    client = Client.objects.filter(business=business, pk=event.payload.get("client_id")).first()
    reward = (
        Reward.objects.select_related("coupon").filter(business=business, pk=event.payload.get("reward_id")).first()
    )
    if client is None or reward is None:
        return
    coupon = reward.coupon
    milestone = Milestone.objects.filter(business=business, pk=event.payload.get("milestone_id")).first()
    variables: Variables = {
        "first_name": client.first_name,
        "referral_count": event.payload.get("successful_referrals") or event.payload.get("threshold") or 0,
        "reward": milestone_reward_label(milestone, business.currency) if milestone else reward.description,
        "coupon_code": coupon.code if coupon else "",
        "business_name": business.name,
    }
    outbox_enqueue(
        business=business,
        key=f"milestone:{event.subject_id}",
        template=AutopilotKind.MILESTONE_REACHED,
        content=render_or_default(autopilot.kind, autopilot.subject, autopilot.body, variables),
        client=client,
        send_after=timezone.now() + timedelta(minutes=autopilot.delay_minutes),
    )


def subscribe_autopilots() -> None:
    from businesses.events import subscribe

    subscribe("referral.confirmed", on_referral_confirmed)
    subscribe("reward.revoked", on_reward_revoked)
    subscribe("referral.created", on_referral_created)
    subscribe("milestone.reached", on_milestone_reached)

    from .encourage import on_booking_completed

    subscribe("booking.completed", on_booking_completed)
