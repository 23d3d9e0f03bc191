"""Delivery: sender and reply-to, retries with backoff, the final failure, leases, and the sweep."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from businesses.models import Role
from campaigns.delivery import BACKOFF, LEASE, MAX_ATTEMPTS, STALE_AFTER, outbox_deliver
from campaigns.models import MessageStatus, OutboxMessage
from campaigns.tasks import deliver_message, outbox_sweep
from tests.factories import BusinessFactory, make_member

from .conftest import FAILING_BACKEND, enqueue, make_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(in_scope, owner):
    client = make_client(in_scope, "Bella", email="bella@example.com")
    return enqueue(in_scope, client)


def test_a_message_goes_from_the_business_name_replying_to_the_owner(in_scope, owner, queued, mailoutbox, settings):
    settings.DEFAULT_FROM_EMAIL = "Referrals <hello@referrals.example>"
    assert deliver_message.delay(in_scope.id, queued.pk).get() == "sent"
    [email] = mailoutbox
    assert email.from_email == f"{in_scope.name} <hello@referrals.example>"
    assert email.reply_to == [owner.email]
    assert (email.subject, email.body, email.to) == ("Hello", "Hi there\n", ["bella@example.com"])
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html" and "<p>Hi there</p>" in html
    queued.refresh_from_db()
    assert (queued.status, queued.attempts, queued.last_error) == (MessageStatus.SENT, 1, "")
    assert queued.sent_at is not None and queued.claimed_until is None


def test_a_sent_message_is_not_sent_again_when_its_task_runs_twice(in_scope, queued, mailoutbox):
    assert deliver_message.delay(in_scope.id, queued.pk).get() == "sent"
    assert deliver_message.delay(in_scope.id, queued.pk).get() == "skipped"
    assert len(mailoutbox) == 1


def test_failures_back_off_then_the_message_fails(in_scope, queued, mailoutbox, settings):
    settings.EMAIL_BACKEND = FAILING_BACKEND
    now = timezone.now()
    waits = []
    for _ in range(MAX_ATTEMPTS):
        delivery = outbox_deliver(business=in_scope, message_id=queued.pk, now=now)
        waits.append(delivery.retry_in)
        queued.refresh_from_db()
        if delivery.retry_in:
            assert queued.status == MessageStatus.QUEUED
            assert queued.send_after == now + timedelta(seconds=delivery.retry_in)
            # Not due yet: an early second task does nothing.
            assert outbox_deliver(business=in_scope, message_id=queued.pk, now=now).outcome == "skipped"
            now = queued.send_after
    assert waits == [*BACKOFF, None]
    assert max(BACKOFF) < 3600  # far below the broker's visibility timeout
    assert (queued.status, queued.attempts) == (MessageStatus.FAILED, MAX_ATTEMPTS)
    assert queued.last_error == "ProviderDown: Connection refused by smtp.example.com:587"
    assert mailoutbox == []


def test_the_task_retries_on_a_worker_with_the_backoff_countdown(in_scope, queued, settings):
    settings.EMAIL_BACKEND = FAILING_BACKEND
    with mock.patch.object(deliver_message, "retry", side_effect=Retry()) as retry, pytest.raises(Retry):
        deliver_message.run(in_scope, queued.pk)  # as a worker runs it (not eagerly)
    retry.assert_called_once_with(countdown=BACKOFF[0])
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == (MessageStatus.QUEUED, 1)


def test_in_process_mode_leaves_the_retry_to_the_sweep(in_scope, queued, settings):
    settings.EMAIL_BACKEND = FAILING_BACKEND
    assert deliver_message.delay(in_scope.id, queued.pk).get() == "retry"
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == (MessageStatus.QUEUED, 1)


def test_a_failure_then_a_success_clears_the_error(in_scope, queued, mailoutbox, settings):
    settings.EMAIL_BACKEND = FAILING_BACKEND
    outbox_deliver(business=in_scope, message_id=queued.pk)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    later = timezone.now() + timedelta(seconds=BACKOFF[0])
    assert outbox_deliver(business=in_scope, message_id=queued.pk, now=later).outcome == "sent"
    queued.refresh_from_db()
    assert (queued.status, queued.attempts, queued.last_error) == (MessageStatus.SENT, 2, "")


def test_a_message_held_by_another_delivery_is_skipped_until_its_lease_runs_out(in_scope, queued, mailoutbox):
    now = timezone.now()
    OutboxMessage.objects.filter(pk=queued.pk).update(claimed_until=now + LEASE)
    assert outbox_deliver(business=in_scope, message_id=queued.pk, now=now).outcome == "skipped"
    # That worker died mid-send: once the lease is over, the message goes out.
    assert outbox_deliver(business=in_scope, message_id=queued.pk, now=now + LEASE * 2).outcome == "sent"
    assert len(mailoutbox) == 1


def test_a_message_of_another_business_is_not_delivered_under_this_one(in_scope, queued, other_business):
    assert deliver_message.delay(other_business.id, queued.pk).get() == "skipped"
    queued.refresh_from_db()
    assert queued.status == MessageStatus.QUEUED


def test_the_sweep_sends_what_lost_tasks_left_across_businesses_and_leaves_fresh_ones(in_scope, mailoutbox):
    second = BusinessFactory()
    lost = []
    for business in (in_scope, second):
        with scope(business=business):
            make_member(business, Role.OWNER)
            client = make_client(business, "Bella", email=f"bella@{business.slug}.example.com")
            lost.append(enqueue(business, client, key="lost"))
            enqueue(business, client, key="fresh")
    stale = timezone.now() - STALE_AFTER - timedelta(seconds=1)
    with scopes_disabled():
        every = OutboxMessage.objects.filter(business__in=[in_scope, second])
        every.filter(idempotency_key="lost").update(dispatched_at=stale, created_at=stale)

    assert outbox_sweep.delay().get() == 2
    assert sorted(m.to[0] for m in mailoutbox) == sorted(f"bella@{b.slug}.example.com" for b in (in_scope, second))
    with scopes_disabled():
        assert every.filter(idempotency_key="lost", status=MessageStatus.SENT).count() == 2
        assert every.filter(idempotency_key="fresh", status=MessageStatus.QUEUED).count() == 2
    assert outbox_sweep.delay().get() == 0


def test_the_sweep_hands_a_message_out_once_per_staleness_window(in_scope, queued):
    stale = timezone.now() - STALE_AFTER
    OutboxMessage.objects.filter(pk=queued.pk).update(dispatched_at=stale)
    with mock.patch("campaigns.tasks.deliver_message.delay") as delay:
        assert outbox_sweep.delay().get() == 1
        assert outbox_sweep.delay().get() == 0  # its new task may still be on its way
    delay.assert_called_once_with(in_scope.id, queued.pk)


def test_suppressed_failed_and_sent_messages_are_never_swept(in_scope, queued):
    stale = timezone.now() - STALE_AFTER * 2
    for status in (MessageStatus.SUPPRESSED, MessageStatus.FAILED, MessageStatus.SENT):
        OutboxMessage.objects.filter(pk=queued.pk).update(status=status, dispatched_at=stale, sent_at=stale)
        assert outbox_sweep.delay().get() == 0
