"""A real broker connection that is refused while a referral is confirmed: the confirmation commits, the thank-you
waits in the outbox, and the sweep delivers it once the broker is back. No mock: Celery publishes for real to a
Redis address where nothing listens."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.utils import timezone
from django_scopes import scope

from bookings.models import BookingStatus
from campaigns.delivery import STALE_AFTER
from campaigns.models import AutopilotKind, MessageStatus, OutboxMessage
from campaigns.tasks import outbox_sweep
from referrals.models import Referral, ReferralStatus
from referrals_saas.celery import app

from .conftest import confirm, make_client, make_program, make_service, referred_booking

pytestmark = pytest.mark.django_db(transaction=True)

# Port 1 on the loopback: the connection is refused at once, as with a Redis that is stopped.
REFUSING_BROKER = "redis://127.0.0.1:1/0"


@contextmanager
def broker_down():
    """Point the Celery app at a broker that refuses connections, publishing for real (not eagerly)."""
    keys = ("broker_url", "task_always_eager", "task_publish_retry", "broker_transport_options")
    saved = {key: app.conf[key] for key in keys}

    def reset_pools():
        # The app keeps its connection and producer pools for the broker it first met.
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.update(
        broker_url=REFUSING_BROKER,
        task_always_eager=False,
        task_publish_retry=False,
        # Give up on the first refused connection instead of kombu's default few seconds of retries.
        broker_transport_options={"max_retries": 0},
    )
    reset_pools()
    try:
        yield
    finally:
        app.conf.update(saved)
        reset_pools()


def test_the_thank_you_survives_a_broker_that_refuses_connections(business, owner, mailoutbox, caplog):
    with scope(business=business):
        massage = make_service(business)
        make_program(business, [massage])
        anna = make_client(business, email="anna@gmail.com")
        booking = referred_booking(business, anna, massage)

    with broker_down(), scope(business=business):
        confirm(business, booking, actor=owner)  # commits; publishing the delivery task fails after the commit

    assert "Error calling" in caplog.text or "refused" in caplog.text.lower()  # logged by the robust on_commit
    with scope(business=business):
        booking.refresh_from_db()
        assert booking.status == BookingStatus.CONFIRMED
        assert Referral.objects.get(booking=booking).status == ReferralStatus.CONFIRMED
        message = OutboxMessage.objects.get(template=AutopilotKind.REFERRAL_THANK_YOU)
    assert message.status == MessageStatus.QUEUED
    assert not [m for m in mailoutbox if m.subject == message.subject]

    # The broker is back. The sweep leaves the message to its (lost) task until that task is overdue, then sends it.
    assert outbox_sweep.delay().get() == 0
    with scope(business=business):
        OutboxMessage.objects.filter(pk=message.pk).update(dispatched_at=timezone.now() - STALE_AFTER)
    assert outbox_sweep.delay().get() == 1
    with scope(business=business):
        message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert [m.to for m in mailoutbox if m.subject == message.subject] == [["anna@gmail.com"]]
