"""A client invites a friend by e-mail from their profile; one reminder follows a few days later if the friend has
not booked, and never more.

The invitation is a message to someone who is not a client, written on the client's request: transactional (no
marketing consent exists for a stranger), which is why it is tightly bounded: one invitation per friend per
referrer (a unique constraint and the outbox key), none to an existing client or to the referrer themselves, and
a daily cap per referrer that holds under concurrent requests (the referrer's client row is locked).

The reminders are written by a periodic task (widgets.tasks) that reads the due invitations in batches through a
partial index, locks them with SKIP LOCKED so overlapping runs share the work, and stamps `reminded_at` in the
same transaction as the outbox row keyed "friend-reminder:<id>": a rerun writes nothing twice.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from bookings.models import Booking
from businesses.events import event_record
from businesses.models import Business
from campaigns.services import outbox_enqueue
from clients.identity import canonical_email
from clients.models import Client
from referrals.codes import code_for_client, link_for
from referrals.models import FriendInvitation, Referral, ReferralCode, ReferralProgram
from referrals.rules import Refusal

from .emails import render_email
from .sharing import friend_offer

INVITES_PER_DAY = 10
# Invitations older than this get no reminder at all (after an outage the sweep does not dig up old ones).
REMINDER_WINDOW = timedelta(days=30)
BATCH_SIZE = 200
FIRST_NAME_MAX = FriendInvitation._meta.get_field("first_name").max_length
EMAIL_MAX = FriendInvitation._meta.get_field("email").max_length


def reminder_after() -> timedelta:
    return timedelta(days=getattr(settings, "FRIEND_INVITATION_REMINDER_DAYS", 3))


def _clean(first_name: str, email: str) -> tuple[str, str]:
    errors: dict[str, str] = {}
    first_name = " ".join((first_name or "").split())
    email = (email or "").strip()
    if not first_name:
        errors["first_name"] = _("Enter your friend's first name.")
    elif len(first_name) > FIRST_NAME_MAX:
        errors["first_name"] = _("Use at most %(max)s characters.") % {"max": FIRST_NAME_MAX}
    try:
        if len(email) > EMAIL_MAX:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        errors["email"] = _("Enter your friend's e-mail address, e.g. name@example.com.")
    if errors:
        raise ValidationError(errors)
    return first_name, email


def _idempotency_key(referrer: Client, email_canonical: str) -> str:
    # One invitation e-mail per friend per referrer, even if the invitation row were ever recreated.
    digest = hashlib.sha256(email_canonical.encode()).hexdigest()[:32]
    return f"friend-invitation:{referrer.pk}:{digest}"


def _email_context(business: Business, invitation: FriendInvitation, link: str) -> dict:
    return {
        "business_name": business.name,
        "friend_first_name": invitation.first_name,
        "referrer_first_name": invitation.referrer.first_name,
        "offer": friend_offer(business),
        "link": link,
    }


@transaction.atomic
def friend_invite(
    *, business: Business, referrer: Client, first_name: str, email: str, now: datetime | None = None
) -> FriendInvitation:
    """Invite a friend of `referrer` and write the invitation e-mail (with the referrer's link) to the outbox.
    Raises ValidationError (by field where one is at fault) and writes nothing for: bad input, the program off,
    the referrer's own address, an existing client, a friend already invited by this referrer, the daily cap.
    Locks the referrer's client row, so the cap and the once-per-friend rule hold under concurrent requests."""
    first_name, email = _clean(first_name, email)
    email_canonical = canonical_email(email)
    now = now or timezone.now()
    if not ReferralProgram.objects.filter(business=business, enabled=True).exists():
        raise ValidationError(str(Refusal.PROGRAM_OFF))
    referrer = Client.objects.select_for_update().get(business=business, pk=referrer.pk)
    if email_canonical == referrer.email_canonical:
        raise ValidationError({"email": _("That is your own address: enter your friend's e-mail address.")})
    if Client.objects.filter(business=business, email_canonical=email_canonical, is_test=False).exists():
        raise ValidationError(
            {
                "email": _("%(name)s is already a client of %(business)s: invitations are for new clients.")
                % {"name": first_name, "business": business.name}
            }
        )
    earlier = FriendInvitation.objects.filter(business=business, referrer=referrer, email_canonical=email_canonical)
    if earlier.exists():
        raise ValidationError(
            {"email": _("You already invited this friend. They get one reminder if they don't book.")}
        )
    today = FriendInvitation.objects.filter(
        business=business, referrer=referrer, created_at__gt=now - timedelta(days=1)
    )
    if today.count() >= INVITES_PER_DAY:
        raise ValidationError(
            _("You can invite up to %(count)s friends a day. Please try again tomorrow.") % {"count": INVITES_PER_DAY}
        )
    try:
        with transaction.atomic():
            invitation = FriendInvitation.objects.create(
                business=business,
                referrer=referrer,
                first_name=first_name,
                email=email,
                email_canonical=email_canonical,
                created_at=now,
            )
    except IntegrityError as exc:  # the constraint behind the check above
        raise ValidationError({"email": _("You already invited this friend.")}) from exc
    link = link_for(code_for_client(business=business, client=referrer))
    outbox_enqueue(
        business=business,
        key=_idempotency_key(referrer, email_canonical),
        template="friend_invitation",
        content=render_email("friend_invitation", _email_context(business, invitation, link)),
        to_address=email,
        marketing=False,
    )
    event_record(business=business, kind="friend.invited", subject=invitation, referrer_id=referrer.pk)
    return invitation


def booked_emails(*, business: Business, emails: set[str]) -> set[str]:
    """Which of these canonical addresses belong to someone who has booked: a client with a real booking, or the
    referee of a referral. One query."""
    if not emails:
        return set()
    has_booking = Exists(Booking.objects.filter(business=business, client=OuterRef("pk"), is_test=False))
    has_referral = Exists(Referral.objects.filter(business=business, referee=OuterRef("pk"), is_test=False))
    return set(
        Client.objects.filter(business=business, email_canonical__in=emails)
        .filter(Q(has_booking) | Q(has_referral))
        .values_list("email_canonical", flat=True)
    )


def _due(business: Business, now: datetime):
    return FriendInvitation.objects.filter(
        business=business,
        reminded_at__isnull=True,
        booked_at__isnull=True,
        created_at__gt=now - REMINDER_WINDOW,
        created_at__lte=now - reminder_after(),
    )


def businesses_with_due_reminders(now: datetime | None = None) -> list[Business]:
    """The businesses that have an invitation waiting for its reminder: one query on the partial index."""
    now = now or timezone.now()
    with scopes_disabled():
        due = FriendInvitation.objects.filter(
            reminded_at__isnull=True,
            booked_at__isnull=True,
            created_at__gt=now - REMINDER_WINDOW,
            created_at__lte=now - reminder_after(),
        ).values("business_id")
        return list(Business.objects.filter(pk__in=due).order_by("pk"))


def _current_links(business: Business, referrer_ids: set[int]) -> dict[int, str]:
    codes = ReferralCode.objects.filter(business=business, client_id__in=referrer_ids, is_current=True)
    return {code.client_id: link_for(code) for code in codes}


def _remind_batch(business: Business, now: datetime, size: int) -> tuple[int, int]:
    """One transaction: lock up to `size` due invitations (skipping those another run holds), stamp the booked ones
    and remind the others. Returns (rows handled, reminders written)."""
    with transaction.atomic():
        batch = list(
            _due(business, now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("referrer")
            .order_by("created_at", "pk")[:size]
        )
        if not batch:
            return 0, 0
        booked = booked_emails(business=business, emails={inv.email_canonical for inv in batch})
        referrals = dict(
            ((referrer_id, email), pk)
            for referrer_id, email, pk in Referral.objects.filter(
                business=business,
                referrer_id__in={inv.referrer_id for inv in batch},
                referee__email_canonical__in=booked,
            ).values_list("referrer_id", "referee__email_canonical", "pk")
        )
        links = _current_links(business, {inv.referrer_id for inv in batch})
        written = 0
        for invitation in batch:
            if invitation.email_canonical in booked:
                invitation.booked_at = now
                invitation.referral_id = referrals.get((invitation.referrer_id, invitation.email_canonical))
                invitation.save(update_fields=["booked_at", "referral"])
                continue
            link = links.get(invitation.referrer_id) or link_for(
                code_for_client(business=business, client=invitation.referrer)
            )
            context = {
                **_email_context(business, invitation, link),
                "invited_on": formats.date_format(timezone.localtime(invitation.created_at), "j F"),
            }
            outbox_enqueue(
                business=business,
                key=f"friend-reminder:{invitation.pk}",
                template="friend_reminder",
                content=render_email("friend_reminder", context),
                to_address=invitation.email,
                marketing=False,
            )
            invitation.reminded_at = now
            invitation.save(update_fields=["reminded_at"])
            written += 1
        return len(batch), written


def friend_reminders_send(*, business: Business, now: datetime | None = None, size: int = BATCH_SIZE) -> int:
    """Remind, once, every friend invited `reminder_after()` ago (and within REMINDER_WINDOW) who has not booked;
    returns how many reminders were written. Each batch is its own transaction; handled rows leave the due set."""
    now = now or timezone.now()
    written = 0
    while True:
        handled, reminded = _remind_batch(business, now, size)
        written += reminded
        if handled < size:
            return written


def merge_invitations(*, business: Business, keep: Client, merge: Client) -> None:
    """Both records invited the same friend: the kept client's invitation stays, the other goes (one per friend per
    referrer); the rest are then moved to the kept client by the merge."""
    kept = FriendInvitation.objects.filter(business=business, referrer=keep).values("email_canonical")
    FriendInvitation.objects.filter(business=business, referrer=merge, email_canonical__in=kept).delete()
