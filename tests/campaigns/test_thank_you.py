"""The Referral Thank You and the reward-revoked note, through the real referral flow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from campaigns.models import Autopilot, AutopilotKind, MessageStatus, OutboxMessage
from campaigns.wording import THANK_YOU_BODY, THANK_YOU_SUBJECT
from clients.privacy import client_erase
from referrals.codes import code_for_client, link_for
from referrals.models import Referral
from referrals.testdrive import program_test_drive
from rewards.models import Reward
from rewards.services import reward_revoke

from .conftest import confirm, make_client, referred_booking

pytestmark = pytest.mark.django_db


def autopilot(business, **fields):
    values = {"subject": THANK_YOU_SUBJECT, "body": THANK_YOU_BODY, **fields}
    return Autopilot.objects.create(business=business, kind=AutopilotKind.REFERRAL_THANK_YOU, **values)


def test_the_referrer_is_thanked_with_the_friend_count_and_reward(
    in_scope, program, massage, anna, owner, mailoutbox, django_capture_on_commit_callbacks
):
    confirm(in_scope, referred_booking(in_scope, anna, massage, "Carl"))
    mailoutbox.clear()
    booking = referred_booking(in_scope, anna, massage, "Bob")
    with django_capture_on_commit_callbacks(execute=True):
        confirm(in_scope, booking, actor=owner)

    referral = Referral.objects.get(booking=booking)
    coupon = Reward.objects.get(referral=referral).coupon
    message = OutboxMessage.objects.get(idempotency_key=f"thank-you:referral:{referral.pk}")
    assert (message.client, message.to_address, message.marketing) == (anna, "anna.berg@gmail.com", False)
    assert message.status == MessageStatus.SENT
    assert message.subject == f"Thank you for recommending {in_scope.name}!"
    text = message.body_text
    assert text.startswith("Hi Anna,\n\n")
    assert "Bob has booked their first visit with us — that makes 2 friends you have sent our way." in text
    expires = timezone.localtime(coupon.expires_at).strftime("%-d %B %Y")
    assert f"here is £20.00 off your next visit: use the code {coupon.code} when you book before {expires}." in text
    assert link_for(code_for_client(business=in_scope, client=anna)) in text
    assert "Stone" not in text  # the friend's first name only
    [email] = [m for m in mailoutbox if m.subject == message.subject and coupon.code in m.body]
    assert email.to == ["anna.berg@gmail.com"]


def test_the_first_referral_does_not_mention_a_count(in_scope, program, massage, anna):
    confirm(in_scope, referred_booking(in_scope, anna, massage, "Bob"))
    message = OutboxMessage.objects.get(template=AutopilotKind.REFERRAL_THANK_YOU)
    assert "Bob has booked their first visit with us.\n" in message.body_text


def test_confirming_twice_writes_one_thank_you(in_scope, program, massage, anna):
    booking = referred_booking(in_scope, anna, massage)
    confirm(in_scope, booking)
    confirm(in_scope, booking)
    assert OutboxMessage.objects.filter(template=AutopilotKind.REFERRAL_THANK_YOU).count() == 1


def test_a_rolled_back_confirmation_leaves_no_thank_you(in_scope, program, massage, anna):
    booking = referred_booking(in_scope, anna, massage)
    with pytest.raises(RuntimeError), transaction.atomic():
        confirm(in_scope, booking)
        assert OutboxMessage.objects.filter(template=AutopilotKind.REFERRAL_THANK_YOU).count() == 1
        raise RuntimeError("the request failed after the confirmation")
    assert (
        not OutboxMessage.objects.filter(template=AutopilotKind.REFERRAL_THANK_YOU).exists()
        and not Reward.objects.exists()
    )


def test_a_switched_off_thank_you_writes_nothing(in_scope, program, massage, anna):
    autopilot(in_scope, enabled=False)
    confirm(in_scope, referred_booking(in_scope, anna, massage))
    assert not OutboxMessage.objects.filter(template=AutopilotKind.REFERRAL_THANK_YOU).exists()


def test_a_delay_holds_the_thank_you_for_the_sweep(
    in_scope, program, massage, anna, django_capture_on_commit_callbacks
):
    autopilot(in_scope, delay_minutes=90)
    Autopilot.objects.create(business=in_scope, kind=AutopilotKind.WELCOME, enabled=False)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        confirm(in_scope, referred_booking(in_scope, anna, massage))
    message = OutboxMessage.objects.get(template=AutopilotKind.REFERRAL_THANK_YOU)
    assert message.status == MessageStatus.QUEUED and message.dispatched_at is None
    assert message.send_after > timezone.now() + timedelta(minutes=89)
    assert not [c for c in callbacks if c.__name__ == "deliver_after_commit"]


def test_the_owners_wording_is_used_and_names_are_escaped_in_html(in_scope, program, massage, anna):
    autopilot(
        in_scope, subject="Cheers {{ referrer_first_name }}", body="{{ friend_first_name }} booked. {{ nothing }}!"
    )
    confirm(in_scope, referred_booking(in_scope, anna, massage, "<b>Bo</b>", email="bo@outlook.com"))
    message = OutboxMessage.objects.get(template=AutopilotKind.REFERRAL_THANK_YOU)
    assert message.subject == "Cheers Anna"
    assert message.body_text == "<b>Bo</b> booked. !\n"
    assert "&lt;b&gt;Bo&lt;/b&gt; booked." in message.body_html and "<b>" not in message.body_html


def test_a_template_that_fails_to_render_falls_back_to_the_default_and_confirms(in_scope, program, massage, anna):
    # Saved around the form's checks (the admin, an old row): it must not block the confirmation.
    autopilot(in_scope, body="{% for x in referral_count %}{{ x }}{% endfor %}")
    booking = referred_booking(in_scope, anna, massage)
    confirm(in_scope, booking)
    assert Referral.objects.get(booking=booking).status == "confirmed"
    assert OutboxMessage.objects.get(template=AutopilotKind.REFERRAL_THANK_YOU).body_text.startswith("Hi Anna,")


def test_the_test_drive_thank_you_is_written_but_suppressed(in_scope, program, owner, mailoutbox):
    drive = program_test_drive(business=in_scope, actor=owner)
    message = OutboxMessage.objects.get(template=AutopilotKind.REFERRAL_THANK_YOU)
    assert message.status == MessageStatus.SUPPRESSED and message.client == drive.referrer
    assert message.body_text.startswith("Hi Tess,") and drive.reward.coupon.code in message.body_text
    assert mailoutbox == []


def test_a_revoked_reward_sends_the_referrer_a_note_with_the_reason(
    in_scope, program, massage, anna, owner, mailoutbox, django_capture_on_commit_callbacks
):
    booking = referred_booking(in_scope, anna, massage)
    confirm(in_scope, booking)
    reward = Reward.objects.get(referral__booking=booking)
    with django_capture_on_commit_callbacks(execute=True):
        reward_revoke(business=in_scope, reward=reward, reason="Bob's booking was refunded.", actor=owner)
        reward_revoke_again = OutboxMessage.objects.filter(idempotency_key=f"reward-revoked:{reward.pk}")
        assert reward_revoke_again.count() == 1
    message = reward_revoke_again.get()
    assert message.status == MessageStatus.SENT and message.to_address == "anna.berg@gmail.com"
    assert message.subject == f"Your reward from {in_scope.name} was withdrawn"
    assert "Why: Bob's booking was refunded." in message.body_text  # plain text is not HTML-escaped
    assert reward.coupon.code in message.body_text
    assert "Bob&#x27;s" in message.body_html
    assert [m.subject for m in mailoutbox] == [message.subject]


def test_erasing_a_client_deletes_their_messages(in_scope, program, massage, anna, owner):
    confirm(in_scope, referred_booking(in_scope, anna, massage))
    other = make_client(in_scope, "Carl", email="carl@example.com")
    from .conftest import enqueue

    enqueue(in_scope, other, key="carl")
    client_erase(business=in_scope, client=anna, actor=owner)
    kept = OutboxMessage.objects.exclude(template=AutopilotKind.WELCOME)  # the friend's welcome is theirs to keep
    assert list(kept.values_list("client", flat=True)) == [other.pk]
