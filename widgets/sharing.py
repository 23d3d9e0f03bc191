"""What a client shares: the friend's offer in a few words, the business's share message filled in, the share
links and a QR code of the referral link."""

from __future__ import annotations

from dataclasses import dataclass

import segno
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from businesses.models import Business
from campaigns.encourage import share_links
from referrals.models import ReferralProgram, ReferralRule
from referrals.program import format_amount, format_percent
from referrals.rules import AmountKind

from .models import WidgetSettings


def friend_offer(business: Business) -> str:
    """What a new client gets from the first rule ("15% off your first visit"), or "" when the program is off or
    gives new clients nothing. Friend-facing, unlike campaigns.encourage.program_offer (the owner's summary)."""
    program = ReferralProgram.objects.filter(business=business, enabled=True).first()
    if program is None or not program.rewards_referee:
        return ""
    rule = ReferralRule.objects.filter(business=business).order_by("position", "id").first()
    if rule is None:
        return ""
    if rule.referee_kind == AmountKind.PERCENT and rule.referee_percent > 0:
        amount = format_percent(rule.referee_percent)
    elif rule.referee_kind == AmountKind.FIXED and rule.referee_amount > 0:
        amount = format_amount(rule.referee_amount, business.currency)
    else:
        return ""
    return _("%(amount)s off your first visit") % {"amount": amount}


def share_message(template: str, *, business_name: str, offer: str, link: str) -> str:
    """The owner's share message with {business_name}, {offer} and {link} filled in. Plain replacement, not
    str.format: an owner's text cannot reach attributes, and other braces stay as typed. The link is added at the
    end if the message forgot it."""
    values = {"business_name": business_name, "offer": offer or _("a warm welcome"), "link": link}
    text = template
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text if link in text else f"{text} {link}"


def qr_svg(link: str) -> SafeString:
    """The link as an inline SVG QR code (segno; only the generated markup, the title escaped by segno)."""
    code = segno.make(link, error="m")
    svg = code.svg_inline(scale=4, border=2, dark="#1f2933", light="#ffffff", svgclass="qr-code", omitsize=True)
    return mark_safe(svg)


@dataclass(frozen=True)
class ShareKit:
    link: str
    message: str
    links: dict[str, str]
    qr: SafeString


def share_kit(*, business: Business, settings: WidgetSettings, link: str, offer: str) -> ShareKit:
    message = share_message(settings.share_message, business_name=business.name, offer=offer, link=link)
    return ShareKit(
        link=link,
        message=message,
        links=share_links(business_name=business.name, link=link, message=message),
        qr=qr_svg(link),
    )
