"""Booking use cases: status transitions, idempotency, client figures, the new-client flag."""

from __future__ import annotations

import itertools

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from bookings.models import Booking, BookingEvent, BookingStatus, Payment, PaymentMethod, PaymentStatus
from bookings.services import (
    TRANSITIONS,
    DiscountLine,
    booking_cancel,
    booking_complete,
    booking_confirm,
    booking_create,
    booking_create_for_new_client,
    booking_mark_no_show,
    booking_transition,
    payment_record,
)
from businesses.models import DomainEvent, PaymentPlan, PlanInterval
from clients.models import Client
from clients.services import ClientData

from .conftest import local, make_booking, make_client, make_service

pytestmark = pytest.mark.django_db

ALL = list(BookingStatus.values)
LEGAL = [(a, b) for a, b in itertools.product(ALL, ALL) if b in TRANSITIONS[a]]
ILLEGAL = [(a, b) for a, b in itertools.product(ALL, ALL) if a != b and b not in TRANSITIONS[a]]
# The shortest legal path from a new (requested) booking to each status.
PATH = {
    BookingStatus.REQUESTED: [],
    BookingStatus.CONFIRMED: [BookingStatus.CONFIRMED],
    BookingStatus.CANCELLED: [BookingStatus.CANCELLED],
    BookingStatus.COMPLETED: [BookingStatus.CONFIRMED, BookingStatus.COMPLETED],
    BookingStatus.NO_SHOW: [BookingStatus.CONFIRMED, BookingStatus.NO_SHOW],
}


def booking_in(business, status, **fields):
    booking = make_booking(business, **fields)
    for step in PATH[status]:
        booking = booking_transition(business=business, booking=booking, to_status=step)
    return booking


def counts(business, booking):
    return (
        BookingEvent.objects.filter(business=business, booking=booking).count(),
        DomainEvent.objects.filter(business=business, subject_type="bookings.Booking", subject_id=booking.pk).count(),
    )


def test_the_table_covers_every_pair():
    assert len(LEGAL) == 5
    assert len(LEGAL) + len(ILLEGAL) == len(ALL) * (len(ALL) - 1)


@pytest.mark.parametrize("from_status,to_status", LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_legal_transitions_move_the_booking_and_record_who_and_when(in_scope, owner, from_status, to_status):
    booking = booking_in(in_scope, from_status)
    events_before, domain_before = counts(in_scope, booking)

    moved = booking_transition(business=in_scope, booking=booking, to_status=to_status, actor=owner)

    stored = Booking.objects.get(pk=booking.pk)
    assert moved.status == stored.status == to_status
    assert stored.status_changed_by == owner
    event = BookingEvent.objects.filter(booking=booking).latest("id")
    assert (event.from_status, event.to_status, event.actor) == (from_status, to_status, owner)
    assert counts(in_scope, booking) == (events_before + 1, domain_before + 1)
    assert DomainEvent.objects.filter(subject_id=booking.pk, kind=f"booking.{to_status}").count() == 1


@pytest.mark.parametrize("from_status,to_status", ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_illegal_transitions_answer_an_error_and_change_nothing(in_scope, owner, from_status, to_status):
    booking = booking_in(in_scope, from_status)
    before = Booking.objects.get(pk=booking.pk)
    events_before = counts(in_scope, booking)
    visits_before = Client.objects.get(pk=booking.client_id).completed_visits

    with pytest.raises(ValidationError) as error:
        booking_transition(business=in_scope, booking=booking, to_status=to_status, actor=owner)

    assert "cannot be" in error.value.messages[0]
    after = Booking.objects.get(pk=booking.pk)
    assert (after.status, after.status_changed_at, after.status_changed_by_id) == (
        before.status,
        before.status_changed_at,
        before.status_changed_by_id,
    )
    assert counts(in_scope, booking) == events_before
    assert Client.objects.get(pk=booking.client_id).completed_visits == visits_before


@pytest.mark.parametrize("status", ALL)
def test_asking_for_the_status_a_booking_has_is_a_no_op(in_scope, owner, status):
    booking = booking_in(in_scope, status)
    before = counts(in_scope, booking)
    booking_transition(business=in_scope, booking=booking, to_status=status, actor=owner)
    assert counts(in_scope, booking) == before


def test_confirming_twice_writes_one_event_of_each_kind(in_scope, owner, booking):
    booking_confirm(business=in_scope, booking=booking, actor=owner)
    booking_confirm(business=in_scope, booking=booking, actor=owner)
    assert BookingEvent.objects.filter(booking=booking, to_status=BookingStatus.CONFIRMED).count() == 1
    assert DomainEvent.objects.filter(kind="booking.confirmed", subject_id=booking.pk).count() == 1


def test_the_helpers_name_their_status(in_scope, service):
    client = make_client(in_scope)
    first = make_booking(in_scope, client=client, service=service)
    assert booking_confirm(business=in_scope, booking=first).status == BookingStatus.CONFIRMED
    assert booking_complete(business=in_scope, booking=first).status == BookingStatus.COMPLETED
    second = make_booking(in_scope, client=client, service=service, status=BookingStatus.CONFIRMED)
    assert booking_mark_no_show(business=in_scope, booking=second).status == BookingStatus.NO_SHOW
    third = make_booking(in_scope, client=client, service=service)
    cancelled = booking_cancel(business=in_scope, booking=third, note="Client is ill")
    assert cancelled.status == BookingStatus.CANCELLED
    assert BookingEvent.objects.filter(booking=third).latest("id").note == "Client is ill"


def test_completing_moves_the_visit_figures_in_the_same_transaction(in_scope, service):
    client = make_client(in_scope)
    later = make_booking(in_scope, client=client, service=service, starts_at=local(in_scope, 2030, 6, 1, 9, 0))
    earlier = make_booking(in_scope, client=client, service=service, starts_at=local(in_scope, 2030, 5, 1, 9, 0))

    with pytest.raises(RuntimeError), transaction.atomic():
        booking_confirm(business=in_scope, booking=later)
        booking_complete(business=in_scope, booking=later)
        assert Client.objects.get(pk=client.pk).completed_visits == 1
        raise RuntimeError("roll back")
    client.refresh_from_db()
    assert client.completed_visits == 0 and client.last_visit_at is None

    for booking in (later, earlier):
        booking_confirm(business=in_scope, booking=booking)
        booking_complete(business=in_scope, booking=booking)
    client.refresh_from_db()
    assert client.completed_visits == 2
    assert client.first_visit_at == earlier.starts_at
    assert client.last_visit_at == later.starts_at


def test_recording_a_payment_adds_to_lifetime_spend_once(in_scope, owner, ada, instalment_service):
    booking = make_booking(in_scope, client=ada, service=instalment_service, status=BookingStatus.CONFIRMED)
    first = booking.payments.get(sequence=1)

    with pytest.raises(RuntimeError), transaction.atomic():
        payment_record(business=in_scope, payment=first, method=PaymentMethod.CARD, actor=owner)
        assert Client.objects.get(pk=ada.pk).lifetime_spend == first.amount
        raise RuntimeError("roll back")
    assert Client.objects.get(pk=ada.pk).lifetime_spend == 0

    recorded = payment_record(business=in_scope, payment=first, method=PaymentMethod.CARD, actor=owner)
    payment_record(business=in_scope, payment=first, method=PaymentMethod.CASH, actor=owner)

    assert (recorded.status, recorded.method, recorded.recorded_by) == (PaymentStatus.PAID, "card", owner)
    assert Client.objects.get(pk=ada.pk).lifetime_spend == first.amount == 33_34
    assert DomainEvent.objects.filter(kind="payment.recorded", subject_id=first.pk).count() == 1


@pytest.mark.parametrize("status", [BookingStatus.CANCELLED, BookingStatus.NO_SHOW])
def test_payments_of_a_cancelled_or_no_show_booking_cannot_be_recorded(in_scope, status):
    booking = booking_in(in_scope, status)
    payment = booking.payments.get()
    with pytest.raises(ValidationError):
        payment_record(business=in_scope, payment=payment, method=PaymentMethod.CASH)
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.DUE
    assert Client.objects.get(pk=booking.client_id).lifetime_spend == 0


def test_an_unknown_payment_method_is_refused(in_scope, booking):
    with pytest.raises(ValidationError) as error:
        payment_record(business=in_scope, payment=booking.payments.get(), method="barter")
    assert "method" in error.value.message_dict


def test_the_first_booking_is_flagged_and_a_cancelled_one_does_not_count(in_scope, service):
    client = make_client(in_scope)
    first = make_booking(in_scope, client=client, service=service)
    assert first.is_first_booking
    booking_cancel(business=in_scope, booking=first)
    again = make_booking(in_scope, client=client, service=service)
    assert again.is_first_booking
    third = make_booking(in_scope, client=client, service=service)
    assert not third.is_first_booking


def test_a_new_clients_only_service_is_refused_to_an_existing_client(in_scope, booking):
    first_visit = make_service(in_scope, name="First visit offer", price=30_00, new_clients_only=True)
    with pytest.raises(ValidationError) as error:
        make_booking(in_scope, client=booking.client, service=first_visit)
    assert "only for new clients" in error.value.message_dict["service"][0]
    assert Booking.objects.filter(service=first_visit).count() == 0
    # A client with no booking yet may book it.
    assert make_booking(in_scope, service=first_visit).is_first_booking


def test_an_archived_service_cannot_be_booked(in_scope, ada):
    archived = make_service(in_scope, name="Old treatment", is_active=False)
    with pytest.raises(ValidationError):
        make_booking(in_scope, client=ada, service=archived)


def test_discounts_are_snapshot_rows_and_spread_over_instalments(in_scope, ada, instalment_service):
    booking = booking_create(
        business=in_scope,
        client=ada,
        service=instalment_service,
        starts_at=local(in_scope, 2030, 1, 31, 10, 0),
        discounts=(DiscountLine(kind="referral", label="Referral discount", amount=10_00, source_type="rule"),),
    )
    assert (booking.list_price, booking.total, booking.discount_total) == (100_00, 90_00, 10_00)
    assert [(d.label, d.amount) for d in booking.discounts.all()] == [("Referral discount", 10_00)]
    assert [(p.amount, p.discount) for p in booking.payments.order_by("sequence")] == [
        (30_00, 3_34),
        (30_00, 3_33),
        (30_00, 3_33),
    ]


def test_a_membership_discount_applies_to_every_renewal(in_scope, ada):
    membership = make_service(
        in_scope,
        name="Monthly membership",
        price=50_00,
        payment_plan=PaymentPlan.MEMBERSHIP,
        plan_count=12,
        plan_interval=PlanInterval.MONTH,
    )
    booking = make_booking(
        in_scope, client=ada, service=membership, discounts=(DiscountLine(kind="promotion", label="-5", amount=5_00),)
    )
    assert booking.payments.count() == 12
    assert set(booking.payments.values_list("amount", flat=True)) == {45_00}
    assert booking.discounts.get().amount == 60_00
    assert booking.total == 540_00


def test_a_client_created_with_their_booking_is_rolled_back_when_the_booking_is_refused(in_scope):
    archived = make_service(in_scope, name="Retired", is_active=False)
    with pytest.raises(ValidationError):
        booking_create_for_new_client(
            business=in_scope,
            client_data=ClientData(first_name="Grace", email="grace@example.com"),
            service=archived,
            starts_at=local(in_scope, 2030, 5, 6, 10, 0),
        )
    assert not Client.objects.filter(email="grace@example.com").exists()


def test_a_client_created_with_their_booking(in_scope, service, owner):
    booking = booking_create_for_new_client(
        business=in_scope,
        client_data=ClientData(first_name="Grace", last_name="Hopper", email="grace@example.com"),
        service=service,
        starts_at=local(in_scope, 2030, 5, 6, 10, 0),
        actor=owner,
        status=BookingStatus.CONFIRMED,
    )
    assert booking.client.full_name == "Grace Hopper"
    assert booking.is_first_booking and booking.status == BookingStatus.CONFIRMED
    assert booking.created_by == owner


def test_another_business_cannot_be_mixed_in(in_scope, other_business, service):
    from django_scopes import scopes_disabled

    with scopes_disabled():
        stranger = make_client(other_business, first_name="Eve")
    with pytest.raises(ValidationError):
        make_booking(in_scope, client=stranger, service=service)
