"""The read model of a client's profile page: their link and share kit, friends and their statuses, rewards,
milestone progress and upcoming bookings, in a fixed number of queries whatever the client's history.

Friends are shown by first name only. A referral's status is said in the client's words: booked, visited,
rewarded, or not rewarded and why (the reason the referral engine or staff recorded).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bookings.models import Booking, BookingStatus
from businesses.models import Business
from businesses.money import format_money
from clients.models import Client
from clients.privacy import ERASED_NAME
from referrals.codes import code_for_client, link_for
from referrals.models import FriendInvitation, Referral, ReferralProgram, ReferralStatus, ReferrerTally
from rewards.credits import service_credit_label, service_credits_for_client
from rewards.ledger import client_wallet
from rewards.milestones import milestone_reward_label
from rewards.models import Coupon, CouponStatus, Milestone, Reward, RewardStatus, ServiceCredit
from rewards.services import coupon_label

from .invitations import booked_emails
from .selectors import widget_settings_for
from .sharing import ShareKit, friend_offer, share_kit

FRIEND_ROWS = 50
COUPON_ROWS = 30
CREDIT_ROWS = 20
UPCOMING_ROWS = 10

STATUS_LABELS = {
    "invited": gettext_lazy("Invited"),
    "booked": gettext_lazy("Booked"),
    "visited": gettext_lazy("Visited"),
    "rewarded": gettext_lazy("Rewarded"),
    "not_rewarded": gettext_lazy("Not rewarded"),
}


@dataclass(frozen=True)
class FriendRow:
    first_name: str
    status: str
    detail: str
    when: datetime

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class CouponRow:
    code: str
    value: str
    state: str  # active, used, expired, revoked
    state_label: str
    expires_at: datetime | None
    used_at: datetime | None


@dataclass(frozen=True)
class CreditRow:
    label: str
    remaining: int
    quantity: int
    status: str
    expires_at: datetime | None


@dataclass(frozen=True)
class MilestoneProgress:
    successful: int
    threshold: int
    reward: str

    @property
    def to_go(self) -> int:
        return max(self.threshold - self.successful, 0)


@dataclass(frozen=True)
class ClientProfile:
    client: Client
    program_running: bool
    share: ShareKit
    successful_referrals: int
    friends: list[FriendRow]
    coupons: list[CouponRow]
    store_credit: str
    has_store_credit: bool
    points: int
    points_value: str
    points_enabled: bool
    credits: list[CreditRow]
    milestone: MilestoneProgress | None
    upcoming: list[Booking]


def _first_name(client: Client) -> str:
    return _("A friend") if client.erased_at or client.first_name == ERASED_NAME else client.first_name


def _why_no_reward(program: ReferralProgram | None, rewards_earned: int) -> str:
    if program is not None and not program.rewards_referrer:
        return _("This program rewards the new client only.")
    maximum = program.max_rewards_per_referrer if program is not None else 0
    if maximum and rewards_earned >= maximum:
        return _("You reached the maximum of %(count)s rewards.") % {"count": maximum}
    return ""


def _referral_row(referral: Referral, business: Business, program, rewards_earned: int) -> FriendRow:
    name, when = _first_name(referral.referee), referral.created_at
    visited = referral.booking is not None and referral.booking.status == BookingStatus.COMPLETED
    if referral.status == ReferralStatus.INELIGIBLE:
        return FriendRow(name, "not_rewarded", referral.reason or _("Not eligible for the referral program."), when)
    if referral.status == ReferralStatus.CANCELLED:
        return FriendRow(name, "not_rewarded", referral.reason or _("The booking was cancelled."), when)
    if referral.status == ReferralStatus.REJECTED:
        why = _("Not approved by %(business)s.") % {"business": business.name}
        return FriendRow(name, "not_rewarded", f"{why} {referral.reason}".strip(), when)
    if referral.status == ReferralStatus.CONFIRMED:
        rewards = list(referral.rewards.all())
        issued = [r for r in rewards if r.status == RewardStatus.ISSUED]
        if issued:
            return FriendRow(name, "rewarded", "; ".join(r.description for r in issued), when)
        revoked = [r for r in rewards if r.status == RewardStatus.REVOKED]
        if revoked:
            why = _("Your reward was withdrawn.")
            return FriendRow(name, "not_rewarded", f"{why} {revoked[0].revoke_reason}".strip(), when)
        why = _why_no_reward(program, rewards_earned)
        return FriendRow(name, "not_rewarded" if why else ("visited" if visited else "booked"), why, when)
    # Pending or held for review (a review is the business's matter, not shown to the client).
    return FriendRow(name, "visited" if visited else "booked", "", when)


def _friends(business: Business, client: Client, program, rewards_earned: int) -> list[FriendRow]:
    """Referrals made and invitations sent, newest first. An invitation whose friend came through a referral of this
    client is shown once, as the referral. Three queries."""
    referrals = list(
        Referral.objects.filter(business=business, referrer=client, is_test=False)
        .select_related("referee", "booking")
        .prefetch_related(Prefetch("rewards", queryset=Reward.objects.filter(business=business).order_by("-id")))
        .order_by("-created_at", "-id")[:FRIEND_ROWS]
    )
    rows = [_referral_row(referral, business, program, rewards_earned) for referral in referrals]
    referred = {r.referee.email_canonical for r in referrals if r.referee.email_canonical}
    shown = {r.pk for r in referrals}
    invitations = [
        invitation
        for invitation in FriendInvitation.objects.filter(business=business, referrer=client).order_by(
            "-created_at", "-id"
        )[:FRIEND_ROWS]
        if invitation.email_canonical not in referred and invitation.referral_id not in shown
    ]
    booked = booked_emails(business=business, emails={invitation.email_canonical for invitation in invitations})
    for invitation in invitations:
        if invitation.email_canonical in booked or invitation.booked_at:
            detail = _("Booked without your link, so it does not count as your referral.")
            rows.append(FriendRow(invitation.first_name, "booked", detail, invitation.created_at))
        else:
            rows.append(FriendRow(invitation.first_name, "invited", "", invitation.created_at))
    rows.sort(key=lambda row: row.when, reverse=True)
    return rows[:FRIEND_ROWS]


def _coupon_row(coupon: Coupon, now: datetime) -> CouponRow:
    if coupon.status == CouponStatus.REVOKED:
        state, label = "revoked", _("Withdrawn")
    elif coupon.status == CouponStatus.REDEEMED:
        state, label = "used", _("Used")
    elif coupon.is_expired(now):
        state, label = "expired", _("Expired")
    else:
        state, label = "active", _("Ready to use")
    return CouponRow(coupon.code, coupon_label(coupon), state, label, coupon.expires_at, coupon.redeemed_at)


def _credit_row(credit: ServiceCredit) -> CreditRow:
    return CreditRow(
        service_credit_label(credit), credit.remaining, credit.quantity, credit.display_status, credit.expires_at
    )


def _next_milestone(business: Business, successful: int) -> MilestoneProgress | None:
    milestone = (
        Milestone.objects.filter(business=business, active=True, threshold__gt=successful)
        .select_related("service")
        .order_by("threshold")
        .first()
    )
    if milestone is None:
        return None
    return MilestoneProgress(successful, milestone.threshold, milestone_reward_label(milestone, business.currency))


def client_profile(*, business: Business, client: Client, now: datetime | None = None) -> ClientProfile:
    """Everything the profile page shows, in a fixed number of queries (about twenty) whatever the number of
    referrals, invitations, coupons and credits; each list is capped."""
    now = now or timezone.now()
    currency = business.currency
    program = ReferralProgram.objects.filter(business=business).first()
    tally = ReferrerTally.objects.filter(business=business, client=client).first()
    successful = tally.successful_referrals if tally else 0
    link = link_for(code_for_client(business=business, client=client))
    wallet = client_wallet(business, client, limit=0)
    points_enabled = wallet.program is not None and wallet.program.enabled
    coupons = Coupon.objects.filter(business=business, client=client, is_test=False).order_by("-created_at", "-id")
    upcoming = (
        Booking.objects.filter(
            business=business,
            client=client,
            is_test=False,
            starts_at__gte=now,
            status__in=(BookingStatus.REQUESTED, BookingStatus.CONFIRMED),
        )
        .select_related("service")
        .order_by("starts_at", "id")[:UPCOMING_ROWS]
    )
    return ClientProfile(
        client=client,
        program_running=program is not None and program.enabled,
        share=share_kit(
            business=business, settings=widget_settings_for(business), link=link, offer=friend_offer(business)
        ),
        successful_referrals=successful,
        friends=_friends(business, client, program, tally.rewards_earned if tally else 0),
        coupons=[_coupon_row(coupon, now) for coupon in coupons[:COUPON_ROWS]],
        store_credit=format_money(wallet.store_credit, currency),
        has_store_credit=wallet.store_credit > 0,
        points=wallet.points,
        points_value=format_money(wallet.points_value, currency),
        points_enabled=points_enabled or wallet.points > 0,
        credits=[
            _credit_row(credit)
            for credit in service_credits_for_client(business=business, client=client, limit=CREDIT_ROWS)
        ],
        milestone=_next_milestone(business, successful),
        upcoming=list(upcoming),
    )
