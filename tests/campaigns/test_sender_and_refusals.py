"""Per-business sender settings, and refusals a provider will repeat forever failing the message at once."""

from __future__ import annotations

import smtplib

import pytest
from anymail.exceptions import AnymailRecipientsRefused
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_scopes import scope

from campaigns.delivery import BACKOFF, is_permanent, outbox_deliver
from campaigns.models import MessageStatus, MessagingSettings
from campaigns.services import messaging_settings_save
from campaigns.tasks import deliver_message

from .backends import RefusingBackend
from .conftest import enqueue, make_client

pytestmark = pytest.mark.django_db

REFUSING_BACKEND = "tests.campaigns.backends.RefusingBackend"


@pytest.fixture
def queued(in_scope, owner):
    return enqueue(in_scope, make_client(in_scope, "Bella", email="bella@example.com"))


def test_the_chosen_sender_name_and_reply_to_are_used(in_scope, owner, queued, mailoutbox, settings):
    settings.DEFAULT_FROM_EMAIL = "Referrals <hello@referrals.example>"
    messaging_settings_save(business=in_scope, sender_name="  Maya at   Serenity ", reply_to="desk@serenity.example")
    assert deliver_message.delay(in_scope.id, queued.pk).get() == "sent"
    [email] = mailoutbox
    assert email.from_email == "Maya at Serenity <hello@referrals.example>"
    assert email.reply_to == ["desk@serenity.example"]


def test_empty_settings_fall_back_to_the_business_name_and_the_owner(in_scope, owner, queued, mailoutbox):
    messaging_settings_save(business=in_scope, sender_name="", reply_to="")
    deliver_message.delay(in_scope.id, queued.pk).get()
    [email] = mailoutbox
    assert email.from_email.startswith(f"{in_scope.name} <") and email.reply_to == [owner.email]


@pytest.mark.parametrize(
    ("name", "reply_to", "field"),
    [("Maya <evil@x.example>", "", "sender_name"), ("x" * 101, "", "sender_name"), ("", "not-an-address", "reply_to")],
)
def test_bad_sender_settings_are_refused_and_nothing_is_saved(in_scope, name, reply_to, field):
    with pytest.raises(ValidationError) as refused:
        messaging_settings_save(business=in_scope, sender_name=name, reply_to=reply_to)
    assert field in refused.value.message_dict
    assert not MessagingSettings.objects.exists()


def test_the_sender_page_is_the_owner_s(owner_client, business):
    url = reverse("campaigns:sender", args=[business.slug])
    assert owner_client.get(url).status_code == 200
    response = owner_client.post(url, {"sender_name": "Serenity team", "reply_to": "desk@serenity.example"})
    assert response.status_code == 302
    page = owner_client.get(url).content.decode()
    assert "Serenity team &lt;" in page and "desk@serenity.example" in page
    response = owner_client.post(url, {"sender_name": "", "reply_to": "nope"})
    assert response.status_code == 400 and "Enter a valid e-mail address" in response.content.decode()


def test_staff_cannot_change_the_sender(staff_client, business):
    assert staff_client.get(reverse("campaigns:sender", args=[business.slug])).status_code == 403


@pytest.mark.parametrize(
    "refusal",
    [
        smtplib.SMTPRecipientsRefused({"bella@example.com": (550, b"5.1.1 No such user")}),
        smtplib.SMTPDataError(554, b"5.7.1 Message rejected"),
        AnymailRecipientsRefused("The recipient was rejected as a hard bounce"),
    ],
)
def test_a_permanent_refusal_fails_the_message_at_once(in_scope, queued, settings, refusal):
    settings.EMAIL_BACKEND = REFUSING_BACKEND
    RefusingBackend.refusal = refusal
    delivery = outbox_deliver(business=in_scope, message_id=queued.pk)
    assert (delivery.outcome, delivery.retry_in) == ("failed", None)
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == (MessageStatus.FAILED, 1)
    assert queued.last_error.startswith("Refused for good: ")


@pytest.mark.parametrize(
    "refusal",
    [
        smtplib.SMTPDataError(421, b"4.7.0 Try again later"),
        smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials"),  # our set-up: retried once it is fixed
        ConnectionResetError("reset by peer"),
    ],
)
def test_a_passing_or_set_up_problem_is_retried(in_scope, queued, settings, refusal):
    settings.EMAIL_BACKEND = REFUSING_BACKEND
    RefusingBackend.refusal = refusal
    assert not is_permanent(refusal)
    delivery = outbox_deliver(business=in_scope, message_id=queued.pk)
    assert (delivery.outcome, delivery.retry_in) == ("retry", BACKOFF[0])
    queued.refresh_from_db()
    assert queued.status == MessageStatus.QUEUED


def test_settings_belong_to_their_business(in_scope, other_business):
    messaging_settings_save(business=in_scope, sender_name="Mine", reply_to="")
    with scope(business=other_business):
        assert not MessagingSettings.objects.filter(business=other_business).exists()
