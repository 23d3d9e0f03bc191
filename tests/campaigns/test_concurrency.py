"""Exactly one message under real concurrency on PostgreSQL."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction
from django_scopes import scope

from campaigns.delivery import outbox_deliver
from campaigns.models import AutopilotKind, MessageStatus, OutboxMessage

from ..threads import needs_postgres, run_at_once
from .conftest import confirm, enqueue, make_client, make_program, make_service, referred_booking

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    needs_postgres()


def test_twenty_simultaneous_confirmations_write_and_send_one_thank_you(business, owner, mailoutbox):
    with scope(business=business):
        massage = make_service(business)
        make_program(business, [massage])
        anna = make_client(business, email="anna@gmail.com")
        booking = referred_booking(business, anna, massage)

    def work(_):
        with scope(business=business):
            confirm(business, booking, actor=owner)

    _, errors = run_at_once(work, threads=20)
    assert errors == []
    with scope(business=business):
        [message] = OutboxMessage.objects.filter(template=AutopilotKind.REFERRAL_THANK_YOU)
    assert message.status == MessageStatus.SENT
    # One thank-you to the referrer (the friend's welcome, sent when they booked, is the other e-mail).
    assert [m.to for m in mail.outbox if "anna@gmail.com" in m.to] == [["anna@gmail.com"]]


def test_the_same_key_written_by_ten_transactions_at_once_is_one_row(business):
    with scope(business=business):
        bella = make_client(business, "Bella", email="bella@example.com")

    def work(_):
        with scope(business=business), transaction.atomic():
            return enqueue(business, bella, key="thank-you:referral:1").pk

    ids, errors = run_at_once(work, threads=10)
    assert errors == [] and len(set(ids)) == 1
    with scope(business=business):
        assert OutboxMessage.objects.count() == 1


def test_ten_deliveries_of_one_message_at_once_send_it_once(business, mailoutbox):
    with scope(business=business):
        bella = make_client(business, "Bella", email="bella@example.com")
        with transaction.atomic():
            # Written without its after-commit task: the threads below are its only deliveries.
            message = OutboxMessage.objects.create(
                business=business,
                client=bella,
                to_address=bella.email,
                template="test",
                subject="Hi",
                body_text="Hi",
                idempotency_key="race",
            )

    def work(_):
        with scope(business=business):
            return outbox_deliver(business=business, message_id=message.pk).outcome

    outcomes, errors = run_at_once(work, threads=10)
    assert errors == []
    assert sorted(outcomes) == ["sent"] + ["skipped"] * 9 and len(mail.outbox) == 1
