"""Inviting a friend by e-mail from the client profile: one invitation per friend, plain refusals, a daily cap, and
exactly one reminder a few days later unless the friend booked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_scopes import scope

from bookings.services import booking_create
from businesses.models import DomainEvent
from campaigns.models import OutboxMessage
from clients.privacy import client_erase
from clients.services import client_merge
from referrals.codes import code_for_client, link_for
from referrals.models import FriendInvitation, ReferralProgram, ReferralSource
from referrals.services import ReferralClaim, booking_create_with_referral
from widgets import invitations
from widgets.invitations import friend_invite, friend_reminders_send
from widgets.tasks import remind_invited_friends

from ..threads import needs_postgres, run_at_once
from ..widgets.profile_helpers import profile_url, referrer_setup, sign_in
from .conftest import make_client, soon

pytestmark = pytest.mark.django_db


@pytest.fixture
def anna(business):
    return referrer_setup(business)[0]


@pytest.fixture
def massage(business, anna):
    from businesses.models import Service

    with scope(business=business):
        return Service.objects.get(business=business)


def invite(business, referrer, first_name="Bob", email="bob@example.com", **kwargs):
    with scope(business=business):
        return friend_invite(business=business, referrer=referrer, first_name=first_name, email=email, **kwargs)


def messages_of(business, template):
    with scope(business=business):
        return list(OutboxMessage.objects.filter(business=business, template=template).order_by("id"))


def remind(business, now, **kwargs):
    with scope(business=business):
        return friend_reminders_send(business=business, now=now, **kwargs)


def test_a_signed_in_client_invites_a_friend_who_gets_their_link(client, business, anna):
    sign_in(client, business, "anna.berg@gmail.com")
    response = client.post(
        f"/w/{business.slug}/me/invite/", {"first_name": " Bob ", "email": "Bob.Stone+x@Gmail.com"}, follow=True
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Invitation sent to Bob." in html
    assert 'data-friend="Bob" data-status="invited"' in html
    with scope(business=business):
        invitation = FriendInvitation.objects.get(business=business)
        link = link_for(code_for_client(business=business, client=anna))
        assert DomainEvent.objects.filter(kind="friend.invited", subject_id=invitation.pk).exists()
    assert (invitation.referrer_id, invitation.first_name, invitation.email) == (
        anna.pk,
        "Bob",
        "Bob.Stone+x@Gmail.com",
    )
    assert invitation.email_canonical == "bobstone@gmail.com"
    [message] = messages_of(business, "friend_invitation")
    assert (message.to_address, message.client_id, message.marketing) == ("Bob.Stone+x@Gmail.com", None, False)
    assert message.subject == f"Anna invites you to {business.name}"
    assert "Hi Bob" in message.body_text and link in message.body_text
    assert "get 15% off your first visit" in message.body_text
    assert "at most one reminder" in message.body_text


@pytest.mark.parametrize(
    "first_name,email,words",
    [
        ("Bob", "not-an-address", "Enter your friend's e-mail address"),
        ("", "bob@example.com", "This field is required."),
        ("Anna", "annaberg@gmail.com", "That is your own address"),
        ("Cleo", "cleo@example.com", "Cleo is already a client of"),
    ],
    ids=["bad-address", "no-name", "herself", "existing-client"],
)
def test_refusals_are_plain_and_write_nothing(client, business, anna, first_name, email, words):
    with scope(business=business):
        make_client(business, "Cleo", email="cleo@example.com")
    sign_in(client, business, "anna.berg@gmail.com")
    response = client.post(f"/w/{business.slug}/me/invite/", {"first_name": first_name, "email": email})
    assert response.status_code == 400
    assert words in response.content.decode().replace("&#x27;", "'")
    with scope(business=business):
        assert not FriendInvitation.objects.exists()
    assert messages_of(business, "friend_invitation") == []


def test_a_friend_is_invited_once_per_referrer(business, anna):
    invite(business, anna)
    with pytest.raises(ValidationError, match="You already invited this friend"):
        invite(business, anna, "Bobby", "BOB@example.com")
    assert len(messages_of(business, "friend_invitation")) == 1
    # Another client may invite the same friend.
    with scope(business=business):
        cleo = make_client(business, "Cleo", email="cleo@example.com")
    invite(business, cleo)
    assert len(messages_of(business, "friend_invitation")) == 2


def test_nobody_is_invited_while_the_program_is_off(business, anna):
    with scope(business=business):
        ReferralProgram.objects.filter(business=business).update(enabled=False)
    with pytest.raises(ValidationError, match="not running"):
        invite(business, anna)


def test_a_referrer_invites_at_most_ten_friends_a_day(business, anna):
    start = timezone.now() - timedelta(days=2)
    for number in range(invitations.INVITES_PER_DAY):
        invite(business, anna, f"F{number}", f"f{number}@example.com", now=start + timedelta(minutes=number))
    with pytest.raises(ValidationError, match="up to 10 friends a day"):
        invite(business, anna, "Late", "late@example.com", now=start + timedelta(hours=23))
    invite(business, anna, "Late", "late@example.com", now=start + timedelta(days=1, minutes=1))
    assert len(messages_of(business, "friend_invitation")) == invitations.INVITES_PER_DAY + 1


def test_attempts_on_the_invite_form_are_limited(client, business, anna, monkeypatch):
    from widgets import views_profile

    monkeypatch.setattr(views_profile, "INVITE_ATTEMPTS_PER_DAY", 2)
    sign_in(client, business, "anna.berg@gmail.com")
    url = f"/w/{business.slug}/me/invite/"
    assert client.post(url, {"first_name": "A", "email": "a@example.com"}).status_code == 302
    assert client.post(url, {"first_name": "A", "email": "a@example.com"}).status_code == 400
    refused = client.post(url, {"first_name": "B", "email": "b@example.com"})
    assert refused.status_code == 429 and "a lot of invitations for one day" in refused.content.decode()


def test_inviting_needs_a_signed_in_client(client, business, anna):
    response = client.post(f"/w/{business.slug}/me/invite/", {"first_name": "Bob", "email": "bob@example.com"})
    assert response.status_code == 302 and response["Location"] == profile_url(business)
    with scope(business=business):
        assert not FriendInvitation.objects.exists()


def test_exactly_one_reminder_a_few_days_later_and_never_a_second(business, anna, settings):
    settings.FRIEND_INVITATION_REMINDER_DAYS = 3
    start = timezone.now() - timedelta(days=20)
    invitation = invite(business, anna, now=start)
    assert remind(business, start + timedelta(days=2, hours=23)) == 0
    assert remind(business, start + timedelta(days=3)) == 1
    for later in (3, 4, 10, 19):
        assert remind(business, start + timedelta(days=later)) == 0
    [message] = messages_of(business, "friend_reminder")
    assert message.idempotency_key == f"friend-reminder:{invitation.pk}"
    assert (message.to_address, message.marketing) == ("bob@example.com", False)
    assert "only reminder" in message.body_text and "Anna invited you" in message.body_text
    with scope(business=business):
        assert link_for(code_for_client(business=business, client=anna)) in message.body_text
        invitation.refresh_from_db()
    assert invitation.reminded_at == start + timedelta(days=3)


def test_no_reminder_once_the_friend_booked_through_the_link(business, anna, massage):
    start = timezone.now() - timedelta(days=5)
    invitation = invite(business, anna, now=start)
    with scope(business=business):
        bob = make_client(business, "Bob", email="bob@example.com")
        claim = ReferralClaim(code=code_for_client(business=business, client=anna).code, source=ReferralSource.LINK)
        booking = booking_create_with_referral(
            business=business, client=bob, service=massage, starts_at=soon(), claim=claim
        )
    assert remind(business, timezone.now()) == 0
    assert messages_of(business, "friend_reminder") == []
    with scope(business=business):
        invitation.refresh_from_db()
    assert invitation.booked_at is not None and invitation.referral_id == booking.referral.pk
    assert invitation.reminded_at is None


def test_no_reminder_when_the_friend_booked_without_the_link(business, anna, massage):
    start = timezone.now() - timedelta(days=5)
    invite(business, anna, email="Bob@Example.com", now=start)
    with scope(business=business):
        bob = make_client(business, "Bob", email="bob@example.com")
        booking_create(business=business, client=bob, service=massage, starts_at=soon())
    assert remind(business, timezone.now()) == 0
    assert messages_of(business, "friend_reminder") == []


def test_a_friend_who_is_a_client_without_a_booking_is_still_reminded(business, anna):
    start = timezone.now() - timedelta(days=5)
    invite(business, anna, now=start)
    with scope(business=business):
        make_client(business, "Bob", email="bob@example.com")  # added by staff, never booked
    assert remind(business, timezone.now()) == 1


def test_old_invitations_are_not_dug_up(business, anna):
    invite(business, anna, now=timezone.now() - invitations.REMINDER_WINDOW - timedelta(minutes=1))
    assert remind(business, timezone.now()) == 0


def test_reminders_go_out_in_batches(business, anna):
    start = timezone.now() - timedelta(days=4)
    for number in range(5):
        invite(business, anna, f"F{number}", f"f{number}@example.com", now=start + timedelta(minutes=number))
    assert remind(business, timezone.now(), size=2) == 5
    assert len(messages_of(business, "friend_reminder")) == 5


def test_the_periodic_task_is_idempotent_across_businesses(business, other_business, anna):
    other_anna = referrer_setup(other_business, email="anna@other.example")[0]
    four_days_ago = timezone.now() - timedelta(days=4)
    invite(business, anna, now=four_days_ago)
    invite(other_business, other_anna, now=four_days_ago)
    invite(business, anna, "Fresh", "fresh@example.com")  # not due yet
    assert remind_invited_friends() == 2
    assert remind_invited_friends() == 0
    assert len(messages_of(business, "friend_reminder")) == 1
    assert len(messages_of(other_business, "friend_reminder")) == 1


def test_erasing_the_referrer_removes_their_invitations(business, anna):
    invite(business, anna)
    with scope(business=business):
        client_erase(business=business, client=anna, actor=None)
        assert not FriendInvitation.objects.filter(business=business).exists()


def test_merging_two_referrers_keeps_one_invitation_per_friend(business, anna):
    with scope(business=business):
        keep = make_client(business, "Anna", "Work", email="anna@work.example")
    invite(business, anna, "Bob", "bob@example.com")
    invite(business, anna, "Cleo", "cleo@example.com")
    invite(business, keep, "Bobby", "bob@example.com")
    with scope(business=business):
        client_merge(business=business, keep=keep, merge=anna)
        names = sorted(
            FriendInvitation.objects.filter(business=business, referrer=keep).values_list("first_name", flat=True)
        )
    assert names == ["Bobby", "Cleo"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_daily_cap_holds_under_simultaneous_invitations(business):
    needs_postgres()
    anna = referrer_setup(business)[0]
    for number in range(invitations.INVITES_PER_DAY - 3):
        invite(business, anna, f"F{number}", f"f{number}@example.com")

    def work(index: int):
        try:
            invite(business, anna, f"G{index}", f"g{index}@example.com")
            return "invited"
        except ValidationError:
            return "refused"

    outcomes, errors = run_at_once(work, threads=8)
    assert errors == []
    assert sorted(outcomes) == ["invited"] * 3 + ["refused"] * 5
    with scope(business=business):
        assert FriendInvitation.objects.filter(business=business).count() == invitations.INVITES_PER_DAY
