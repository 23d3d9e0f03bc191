"""Encourage Referrals: after a completed visit, marketing with the client's link and share links; delayed,
capped per client, idempotent, consent respected; and its settings page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from bookings.services import booking_complete, booking_confirm, booking_create
from businesses.models import DomainEvent
from businesses.money import format_money
from campaigns.autopilots import on_referral_created
from campaigns.delivery import outbox_deliver, outbox_due_for_sweep
from campaigns.encourage import on_booking_completed
from campaigns.models import Autopilot, AutopilotKind, MessageStatus, OutboxMessage
from campaigns.services import autopilot_save, client_unsubscribe
from campaigns.wording import DEFAULTS
from referrals.codes import code_for_client, link_for
from referrals.models import Referral, ReferralCode, ReferralProgram, ReferralSource
from referrals.services import ReferralClaim, booking_create_with_referral

from .conftest import make_client, make_program, make_service, referred_booking, soon

pytestmark = pytest.mark.django_db
KIND = AutopilotKind.ENCOURAGE_REFERRALS


@pytest.fixture
def massage(in_scope):
    return make_service(in_scope)


@pytest.fixture
def cleo(in_scope):
    return make_client(in_scope, "Cleo", "Hart", email="cleo@example.com", email_consent=True)


def visit(business, client, service, days=1):
    booking = booking_create(business=business, client=client, service=service, starts_at=soon(days))
    booking_confirm(business=business, booking=booking)
    return booking_complete(business=business, booking=booking)


def encouragements(business, client=None):
    rows = OutboxMessage.objects.filter(business=business, template=KIND)
    return list(rows.filter(client=client) if client else rows)


def test_a_completed_visit_queues_a_delayed_marketing_message_with_share_links(in_scope, cleo, massage):
    make_program(in_scope, [massage])
    before = timezone.now()
    booking = visit(in_scope, cleo, massage)
    [message] = encouragements(in_scope)
    assert message.marketing and message.status == MessageStatus.QUEUED
    assert message.idempotency_key == f"encourage:booking:{booking.pk}"
    assert message.dispatched_at is None  # the sweep sends it when due
    assert before + timedelta(days=2) <= message.send_after <= timezone.now() + timedelta(days=2)
    link = link_for(code_for_client(business=in_scope, client=cleo))
    encoded = quote(f"I recommend {in_scope.name}: {link}", safe="")
    text = message.body_text
    assert "Hi Cleo" in text and link in text and "15% off" in text
    for share in (
        f"mailto:?subject={quote(in_scope.name, safe='')}&body={encoded}",
        f"sms:?body={encoded}",
        f"https://wa.me/?text={encoded}",
        f"https://www.facebook.com/sharer/sharer.php?u={quote(link, safe='')}",
        f"https://x.com/intent/post?text={encoded}",
    ):
        assert share in text
    assert " " not in encoded and "/" not in encoded


def test_the_sweep_sends_it_when_due_with_the_unsubscribe_headers(in_scope, cleo, massage, mailoutbox):
    visit(in_scope, cleo, massage)
    [message] = encouragements(in_scope)
    assert message.pk not in [pk for _, pk in outbox_due_for_sweep()]
    later = timezone.now() + timedelta(days=2, minutes=1)
    assert message.pk in [pk for _, pk in outbox_due_for_sweep(now=later)]
    assert outbox_deliver(business=in_scope, message_id=message.pk, now=later).outcome == "sent"
    [email] = mailoutbox
    assert "List-Unsubscribe" in email.extra_headers and "/u/" in email.body


def test_no_offer_when_the_program_is_off(in_scope, cleo, massage):
    make_program(in_scope, [massage])
    ReferralProgram.objects.filter(business=in_scope).update(enabled=False)
    visit(in_scope, cleo, massage)
    [message] = encouragements(in_scope)
    assert "referral program" not in message.body_text and "15% off" not in message.body_text


def test_without_consent_nothing_is_written(in_scope, massage):
    dan = make_client(in_scope, "Dan", email="dan@example.com")
    visit(in_scope, dan, massage)
    noemail = make_client(in_scope, "Fay", email_consent=True)
    visit(in_scope, noemail, massage, days=2)
    assert encouragements(in_scope) == []
    assert not ReferralCode.objects.filter(business=in_scope).exists()


def test_unsubscribing_before_it_is_due_stops_it(in_scope, cleo, massage, mailoutbox):
    visit(in_scope, cleo, massage)
    client_unsubscribe(business=in_scope, client=cleo)
    [message] = encouragements(in_scope)
    assert message.status == MessageStatus.SUPPRESSED


def test_consent_withdrawn_elsewhere_is_checked_at_delivery(in_scope, cleo, massage, mailoutbox):
    visit(in_scope, cleo, massage)
    type(cleo).objects.filter(pk=cleo.pk).update(email_consent=False)
    [message] = encouragements(in_scope)
    later = timezone.now() + timedelta(days=3)
    assert outbox_deliver(business=in_scope, message_id=message.pk, now=later).outcome == "skipped"
    message.refresh_from_db()
    assert message.status == MessageStatus.SUPPRESSED and mailoutbox == []


def test_at_most_one_per_client_in_the_frequency_window(in_scope, cleo, massage):
    visit(in_scope, cleo, massage, days=1)
    visit(in_scope, cleo, massage, days=2)
    assert len(encouragements(in_scope, cleo)) == 1
    # Another client is not capped by Cleo's message.
    eve = make_client(in_scope, "Eve", email="eve@example.com", email_consent=True)
    visit(in_scope, eve, massage)
    assert len(encouragements(in_scope, eve)) == 1
    # Once the window has passed, the next visit encourages again.
    OutboxMessage.objects.filter(business=in_scope, client=cleo).update(
        send_after=timezone.now() - timedelta(days=61), created_at=timezone.now() - timedelta(days=61)
    )
    visit(in_scope, cleo, massage, days=3)
    assert len(encouragements(in_scope, cleo)) == 2


def test_the_same_event_twice_writes_one_message(in_scope, cleo, massage):
    booking = visit(in_scope, cleo, massage)
    event = DomainEvent.objects.get(business=in_scope, kind="booking.completed", subject_id=booking.pk)
    on_booking_completed(event)
    OutboxMessage.objects.filter(business=in_scope).update(send_after=timezone.now() - timedelta(days=90))
    on_booking_completed(event)  # past the cap: the key still holds it to one
    assert len(encouragements(in_scope)) == 1


def test_off_or_custom_timing(in_scope, cleo, massage):
    autopilot_save(business=in_scope, kind=KIND, enabled=False, subject="Hi", body="Share {{ referral_link }}")
    visit(in_scope, cleo, massage)
    assert encouragements(in_scope) == []
    saved = Autopilot.objects.get(business=in_scope, kind=KIND)
    assert (saved.delay_minutes, saved.frequency_days) == (2 * 24 * 60, 60)  # the kind's defaults on first save
    autopilot_save(business=in_scope, kind=KIND, enabled=True, subject="Hi", body="B", delay_minutes=0)
    visit(in_scope, cleo, massage, days=2)
    [message] = encouragements(in_scope)
    assert message.send_after <= timezone.now() and message.dispatched_at is not None


def url(business):
    return reverse("campaigns:encourage", args=[business.slug])


def test_settings_page_owner_saves_and_previews(owner_client, business):
    response = owner_client.get(url(business))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="delay_days" value="2"' in page and 'name="frequency_days" value="60"' in page
    assert "https://wa.me/?text=" in page  # the preview on sample data
    data = {"enabled": "on", "delay_days": "3", "frequency_days": "30", "subject": "Hi", "body": "{{ share_x }}"}
    response = owner_client.post(url(business), {**data, "action": "preview"})
    assert response.status_code == 200 and "https://x.com/intent/post?text=" in response.content.decode()
    response = owner_client.post(url(business), {**data, "action": "save"})
    assert response.status_code == 302
    with scope(business=business):
        saved = Autopilot.objects.get(business=business, kind=KIND)
        assert (saved.delay_minutes, saved.frequency_days) == (3 * 24 * 60, 30)
    bad = {**data, "frequency_days": "0", "body": "{% load x %}", "action": "save"}
    assert owner_client.post(url(business), bad).status_code == 400
    assert "Encourage Referrals" in owner_client.get(reverse("campaigns:index", args=[business.slug])).content.decode()


def test_settings_page_is_for_the_owner_only(staff_client, business):
    assert staff_client.get(url(business)).status_code == 403
    assert staff_client.post(url(business), {"enabled": "", "action": "save"}).status_code == 403


def test_settings_page_is_hidden_from_outsiders(outsider_client, business):
    assert outsider_client.get(url(business)).status_code == 404


# Welcome: a referred new client who books hears who sent them and what they got (transactional).


def welcomes(business):
    return list(OutboxMessage.objects.filter(business=business, template=AutopilotKind.WELCOME))


def welcome_on(business, **fields):
    subject, body = DEFAULTS[AutopilotKind.WELCOME]
    autopilot_save(business=business, kind=AutopilotKind.WELCOME, enabled=True, subject=subject, body=body, **fields)


def test_welcome_is_on_by_default_and_the_owner_can_turn_it_off(in_scope, massage):
    make_program(in_scope, [massage])
    anna = make_client(in_scope, "Anna", email="anna@example.com")
    referred_booking(in_scope, anna, massage)
    assert len(welcomes(in_scope)) == 1
    Autopilot.objects.update_or_create(business=in_scope, kind="welcome", defaults={"enabled": False})
    referred_booking(in_scope, anna, massage, first_name="Cleo")
    assert len(welcomes(in_scope)) == 1


def test_welcome_names_the_referrer_and_the_discount_without_consent(in_scope, massage):
    make_program(in_scope, [massage])
    welcome_on(in_scope)
    anna = make_client(in_scope, "Anna", "Berg", email="anna@example.com")
    booking = referred_booking(in_scope, anna, massage, first_name="Bob")
    referral = Referral.objects.get(business=in_scope, booking=booking)
    [message] = welcomes(in_scope)
    assert message.idempotency_key == f"welcome:referral:{referral.pk}"
    assert not message.marketing and message.status == MessageStatus.QUEUED  # Bob never agreed to marketing
    assert message.client_id == referral.referee_id
    assert "Hi Bob" in message.body_text and "Anna recommended us" in message.body_text
    assert "Berg" not in message.body_text
    assert f"{format_money(15_00, in_scope.currency)} off" in message.body_text


def test_welcome_is_written_once_per_referral(in_scope, massage):
    make_program(in_scope, [massage])
    welcome_on(in_scope)
    anna = make_client(in_scope, "Anna", email="anna@example.com")
    booking = referred_booking(in_scope, anna, massage)
    event = DomainEvent.objects.get(business=in_scope, kind="referral.created")
    on_referral_created(event)
    assert len(welcomes(in_scope)) == 1 and welcomes(in_scope)[0].client_id == booking.client_id


def test_no_welcome_for_an_ineligible_referral(in_scope, massage):
    make_program(in_scope, [massage])
    welcome_on(in_scope)
    anna = make_client(in_scope, "Anna", email="anna@example.com")
    bob = make_client(in_scope, "Bob", email="bob@example.com")
    visit(in_scope, bob, massage)  # Bob is not new any more
    claim = ReferralClaim(code=code_for_client(business=in_scope, client=anna).code, source=ReferralSource.LINK)
    booking_create_with_referral(business=in_scope, client=bob, service=massage, starts_at=soon(5), claim=claim)
    assert Referral.objects.get(business=in_scope).status == "ineligible"
    assert welcomes(in_scope) == []


def test_welcome_settings_page_is_for_the_owner_only(staff_client, business):
    assert staff_client.get(reverse("campaigns:welcome", args=[business.slug])).status_code == 403


def test_welcome_settings_page(owner_client, business):
    page_url = reverse("campaigns:welcome", args=[business.slug])
    response = owner_client.get(page_url)
    assert response.status_code == 200 and "Anna recommended us" in response.content.decode()
    data = {"enabled": "on", "delay_minutes": "0", "subject": "Hi", "body": "{{ referrer_first_name }}"}
    assert owner_client.post(page_url, {**data, "action": "save"}).status_code == 302
    with scope(business=business):
        assert Autopilot.objects.get(business=business, kind=AutopilotKind.WELCOME).enabled
