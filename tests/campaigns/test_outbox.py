"""Writing to the outbox: in the caller's transaction, once per key, never to whom it must not go."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone
from django_scopes import scope
from kombu.exceptions import OperationalError

from campaigns.delivery import STALE_AFTER
from campaigns.models import MessageStatus, OutboxMessage
from campaigns.tasks import outbox_sweep
from clients.models import Client

from .conftest import enqueue, make_client

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def test_a_message_is_written_queued_and_sent_after_commit(
    in_scope, bella, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = enqueue(in_scope, bella)
        assert mailoutbox == []  # nothing leaves before the change commits
    assert len(callbacks) == 1
    message.refresh_from_db()
    assert (message.status, message.to_address, message.attempts) == (MessageStatus.SENT, "bella@example.com", 1)
    assert [m.to for m in mailoutbox] == [["bella@example.com"]]


def test_a_rolled_back_change_leaves_no_message_and_sends_nothing(
    in_scope, bella, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Boom), transaction.atomic():
        enqueue(in_scope, bella)
        raise Boom
    assert not OutboxMessage.objects.exists()
    assert callbacks == [] and mailoutbox == []


def test_the_same_key_twice_writes_one_message_and_sends_once(
    in_scope, bella, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = enqueue(in_scope, bella, key="thank-you:referral:7")
        second = enqueue(in_scope, bella, key="thank-you:referral:7")
    assert first.pk == second.pk
    assert OutboxMessage.objects.count() == 1 and len(callbacks) == 1 and len(mailoutbox) == 1


def test_keys_are_unique_per_business_only(in_scope, bella, other_business):
    enqueue(in_scope, bella, key="same")
    with scope(business=other_business):
        other = make_client(other_business, "Bella", email="bella@example.com")
        enqueue(other_business, other, key="same")
    with scope(business=other_business):
        assert OutboxMessage.objects.filter(business=other_business).count() == 1
    assert OutboxMessage.objects.filter(business=in_scope).count() == 1


@pytest.mark.parametrize(
    "fields,email,reason",
    [
        ({"is_test": True}, "tess@test-drive.invalid", "Test client"),
        ({"is_test": True}, "tess@example.com", "Test client"),
        ({"erased_at": timezone.now()}, "", "erased"),
        ({}, "", "No e-mail address"),
        ({}, "someone@example.invalid", ".invalid"),
        ({}, "someone@invalid", ".invalid"),
    ],
)
def test_messages_that_must_not_go_out_are_kept_as_suppressed(
    in_scope, mailoutbox, django_capture_on_commit_callbacks, fields, email, reason
):
    client = make_client(in_scope, "Tess", email="placeholder@example.com")
    Client.objects.filter(pk=client.pk).update(email=email, **fields)
    client.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = enqueue(in_scope, client)
    assert message.status == MessageStatus.SUPPRESSED
    assert reason in message.suppressed_reason
    assert callbacks == [] and mailoutbox == []


def test_a_malformed_address_is_suppressed(in_scope):
    message = enqueue(in_scope, to_address="not an address")
    assert (message.status, message.suppressed_reason) == (MessageStatus.SUPPRESSED, "Not a valid e-mail address.")


def test_marketing_needs_consent_but_transactional_messages_do_not(in_scope, bella):
    assert not bella.email_consent
    assert enqueue(in_scope, bella, key="reward").status == MessageStatus.QUEUED
    marketing = enqueue(in_scope, bella, key="promo", marketing=True)
    assert (marketing.status, marketing.suppressed_reason) == (
        MessageStatus.SUPPRESSED,
        "No consent to marketing e-mail.",
    )
    Client.objects.filter(pk=bella.pk).update(email_consent=True)
    bella.refresh_from_db()
    assert enqueue(in_scope, bella, key="promo-2", marketing=True).status == MessageStatus.QUEUED


def test_a_delayed_message_gets_no_task_and_the_sweep_sends_it_when_due(
    in_scope, bella, mailoutbox, django_capture_on_commit_callbacks
):
    later = timezone.now() + timezone.timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = enqueue(in_scope, bella, send_after=later)
    assert callbacks == [] and message.dispatched_at is None
    assert outbox_sweep.delay().get() == 0
    OutboxMessage.objects.filter(pk=message.pk).update(send_after=timezone.now())
    assert outbox_sweep.delay().get() == 1
    assert len(mailoutbox) == 1


def test_a_broker_down_at_commit_delays_the_message_but_never_loses_it(
    in_scope, bella, mailoutbox, django_capture_on_commit_callbacks
):
    refused = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with mock.patch("campaigns.tasks.deliver_message.delay", side_effect=refused):
        # The change commits and the caller is not told about the broker (no 500 after a commit).
        with django_capture_on_commit_callbacks(execute=True):
            message = enqueue(in_scope, bella)
        assert outbox_sweep.delay().get() == 0  # not overdue yet: the sweep leaves it to its task
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED and mailoutbox == []
    # The broker is back; once the message's task is a few minutes overdue the sweep hands it out again.
    OutboxMessage.objects.filter(pk=message.pk).update(dispatched_at=timezone.now() - STALE_AFTER)
    assert outbox_sweep.delay().get() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and len(mailoutbox) == 1
