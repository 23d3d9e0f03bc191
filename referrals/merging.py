"""How a client merge treats referral rows that cannot simply be repointed (see clients.services.client_merge)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.utils import timezone

from .models import LIVE_STATUSES, Referral, ReferralCode, ReferralStatus, ReferrerTally


def merge_codes(*, business, keep, merge) -> None:
    """The kept client's code stays current; the merged client's codes keep attributing, as old codes do."""
    if ReferralCode.objects.filter(business=business, client=keep, is_current=True).exists():
        ReferralCode.objects.filter(business=business, client=merge).update(is_current=False)


def merge_tallies(*, business, keep, merge) -> None:
    merged = ReferrerTally.objects.filter(business=business, client=merge).first()
    if merged is None:
        return
    kept, _ = ReferrerTally.objects.get_or_create(business=business, client=keep)
    ReferrerTally.objects.filter(business=business, pk=kept.pk).update(
        successful_referrals=F("successful_referrals") + merged.successful_referrals,
        rewards_earned=F("rewards_earned") + merged.rewards_earned,
    )
    merged.delete()


def merge_referrals(*, business, keep, merge) -> None:
    """Refuse to merge a referrer with their own referee; a second live referral of the merged pair is closed."""
    between = Q(referrer=keep, referee=merge) | Q(referrer=merge, referee=keep)
    if Referral.objects.filter(Q(business=business) & between).exists():
        raise ValidationError("One of these clients referred the other; they cannot be merged into one client.")
    if Referral.objects.filter(business=business, referee=keep, status__in=LIVE_STATUSES).exists():
        # Only referrals that earned nothing yet are closed; two confirmed ones stop the merge (see client_merge).
        Referral.objects.filter(
            business=business, referee=merge, status__in=(ReferralStatus.PENDING, ReferralStatus.FLAGGED)
        ).update(
            status=ReferralStatus.CANCELLED,
            reason="Closed when this client was merged into a client who already had a referral.",
            closed_at=timezone.now(),
        )
