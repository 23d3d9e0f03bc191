"""What a client's page shows about them as a referrer: their link and codes, clicks, referrals and coupons."""

from __future__ import annotations

from dataclasses import dataclass

from businesses.models import Business
from clients.models import Client
from rewards.models import Coupon

from .clicks import clicks_total
from .codes import code_for_client, link_for
from .models import Referral, ReferralCode, ReferrerTally

PANEL_ROWS = 10


@dataclass
class ClientReferralPanel:
    code: ReferralCode
    link: str
    older_codes: list[ReferralCode]
    clicks: int
    referrals_made: list[Referral]
    referral_received: Referral | None
    coupons: list[Coupon]
    successful_referrals: int = 0
    rewards_earned: int = 0


def client_referral_panel(*, business: Business, client: Client) -> ClientReferralPanel:
    """Everything in a fixed number of queries, whatever the client's history."""
    current = code_for_client(business=business, client=client)
    codes = list(ReferralCode.objects.filter(business=business, client=client))
    tally = ReferrerTally.objects.filter(business=business, client=client).first()
    return ClientReferralPanel(
        code=current,
        link=link_for(current),
        older_codes=[c for c in codes if c.pk != current.pk],
        clicks=clicks_total(business=business, client=client),
        referrals_made=list(
            Referral.objects.filter(business=business, referrer=client)
            .select_related("referee", "booking__service")
            .order_by("-created_at", "-id")[:PANEL_ROWS]
        ),
        referral_received=Referral.objects.filter(business=business, referee=client)
        .select_related("referrer")
        .order_by("-created_at", "-id")
        .first(),
        coupons=list(
            Coupon.objects.filter(business=business, client=client).order_by("-created_at", "-id")[:PANEL_ROWS]
        ),
        successful_referrals=tally.successful_referrals if tally else 0,
        rewards_earned=tally.rewards_earned if tally else 0,
    )
