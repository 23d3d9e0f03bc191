"""Encourage Referrals: a while after a completed visit, a marketing e-mail with the client's own referral link,
one-tap share links and what the program offers. At most one per client in `frequency_days`.

Marketing: nothing is written for a client without e-mail consent (or who could not receive it), delivery checks
consent again before sending, and adds the unsubscribe link.
Delayed through `send_after` (the sweep sends it when due); keyed per booking, so an event recorded twice writes
one message.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from django.utils import timezone

from bookings.models import Booking
from businesses.models import Business, DomainEvent
from clients.models import Client
from referrals.codes import code_for_client, link_for
from referrals.models import ReferralProgram, ReferralRule
from referrals.program import rule_summary

from .autopilots import render_or_default
from .models import AutopilotKind, MessageStatus, OutboxMessage
from .sandbox import Variables
from .services import autopilot_get, outbox_enqueue, suppression_reason


def share_links(*, business_name: str, link: str, message: str | None = None) -> dict[str, str]:
    """Pre-composed share links, every value URL-encoded. `message` (which should hold the link) replaces the
    default wording, e.g. the business's share message on the client's profile page."""
    text = quote(message if message else f"I recommend {business_name}: {link}", safe="")
    return {
        "share_email": f"mailto:?subject={quote(business_name, safe='')}&body={text}",
        "share_sms": f"sms:?body={text}",
        "share_whatsapp": f"https://wa.me/?text={text}",
        "share_facebook": f"https://www.facebook.com/sharer/sharer.php?u={quote(link, safe='')}",
        "share_x": f"https://x.com/intent/post?text={text}",
    }


def program_offer(business: Business) -> str:
    """What the first rule offers, or "" when the program is off or has no rule."""
    if not ReferralProgram.objects.filter(business=business, enabled=True).exists():
        return ""
    rule = ReferralRule.objects.filter(business=business).order_by("position", "id").first()
    return rule_summary(rule, business.currency) if rule is not None else ""


def encourage_variables(*, business: Business, client: Client) -> Variables:
    link = link_for(code_for_client(business=business, client=client))
    return {
        "first_name": client.first_name,
        "business_name": business.name,
        "referral_link": link,
        "offer": program_offer(business),
        **share_links(business_name=business.name, link=link),
    }


def on_booking_completed(event: DomainEvent) -> None:
    business = event.business
    autopilot = autopilot_get(business=business, kind=AutopilotKind.ENCOURAGE_REFERRALS)
    if not autopilot.enabled:
        return
    booking = Booking.objects.select_related("client").filter(business=business, pk=event.subject_id).first()
    if booking is None or booking.is_test:
        return
    client, key = booking.client, f"encourage:booking:{booking.pk}"
    if suppression_reason(client=client, address=client.email.strip(), marketing=True):
        # Most clients never agreed to marketing: nothing is written for them (no outbox row on every visit, no
        # referral code made for nothing). Consent is checked again when the message is sent.
        return
    if OutboxMessage.objects.filter(business=business, idempotency_key=key).exists():
        return
    due = timezone.now() + timedelta(minutes=autopilot.delay_minutes)
    # The cap counts messages that went or will go (a suppressed one reached nobody), by when they are due.
    recent = (
        OutboxMessage.objects.filter(
            business=business,
            client=client,
            template=AutopilotKind.ENCOURAGE_REFERRALS,
            send_after__gt=due - timedelta(days=autopilot.frequency_days),
        )
        .exclude(status=MessageStatus.SUPPRESSED)
        .exists()
    )
    if recent:
        return
    variables = encourage_variables(business=business, client=client)
    outbox_enqueue(
        business=business,
        key=key,
        template=AutopilotKind.ENCOURAGE_REFERRALS,
        content=render_or_default(autopilot.kind, autopilot.subject, autopilot.body, variables),
        client=client,
        marketing=True,
        send_after=due,
    )
