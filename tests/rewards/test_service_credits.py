"""Service credits: a prepaid service on file, used once per session on a booking of that service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import timezone
from django_scopes import scope

from bookings.services import booking_cancel
from businesses.models import DomainEvent
from rewards.credits import (
    service_credit_issue,
    service_credit_reverse_use,
    service_credit_use,
    service_credits_available,
    service_credits_for_client,
)
from rewards.models import ServiceCredit, ServiceCreditSource, ServiceCreditUse

from ..threads import needs_postgres, run_at_once
from .conftest import make_booking, make_client, make_service

MANUAL = ServiceCreditSource.MANUAL


@pytest.fixture
def massage(in_scope):
    return make_service(in_scope, name="60-minute massage", price=80_00)


@pytest.fixture
def credit(in_scope, ada, massage, owner):
    return service_credit_issue(business=in_scope, client=ada, service=massage, source=MANUAL, actor=owner)


@pytest.fixture
def massage_booking(in_scope, ada, massage):
    return make_booking(in_scope, client=ada, service=massage)


def fresh(credit) -> ServiceCredit:
    return ServiceCredit.objects.get(pk=credit.pk)


@pytest.mark.django_db
class TestIssue:
    def test_a_credit_is_one_session_by_default_and_is_recorded(self, in_scope, credit, ada, owner):
        assert (credit.quantity, credit.used, credit.remaining, credit.created_by) == (1, 0, 1, owner)
        event = DomainEvent.objects.get(business=in_scope, kind="service_credit.issued")
        assert event.subject_id == credit.pk and event.payload["client_id"] == ada.pk

    @pytest.mark.parametrize(
        "changes, field",
        [
            ({"quantity": 0}, "quantity"),
            ({"quantity": 1001}, "quantity"),
            ({"quantity": "2"}, "quantity"),
            ({"source": "gift"}, "source"),
            ({"expires_at": "past"}, "expires_at"),
        ],
    )
    def test_bad_input_is_a_field_error(self, in_scope, ada, massage, changes, field):
        if changes.get("expires_at") == "past":
            changes["expires_at"] = timezone.now() - timedelta(minutes=1)
        kwargs = {"business": in_scope, "client": ada, "service": massage, "source": MANUAL, **changes}
        with pytest.raises(ValidationError) as error:
            service_credit_issue(**kwargs)
        assert field in error.value.message_dict
        assert not ServiceCredit.objects.exists()

    def test_another_business_service_or_client_is_refused(self, in_scope, ada, massage, other_business):
        with scope(business=other_business):
            foreign_service = make_service(other_business)
            foreign_client = make_client(other_business)
        with pytest.raises(ValidationError, match="services"):
            service_credit_issue(business=in_scope, client=ada, service=foreign_service, source=MANUAL)
        with pytest.raises(ValidationError, match="client"):
            service_credit_issue(business=in_scope, client=foreign_client, service=massage, source=MANUAL)


@pytest.mark.django_db
class TestUse:
    def test_using_it_writes_a_ledger_row_and_counts_the_session(self, in_scope, credit, massage_booking, staff):
        use = service_credit_use(business=in_scope, credit=credit, booking=massage_booking, actor=staff)
        assert (use.credit, use.booking, use.created_by, use.reversed_at) == (credit, massage_booking, staff, None)
        assert fresh(credit).used == 1
        event = DomainEvent.objects.get(business=in_scope, kind="service_credit.used")
        assert event.payload == {
            "credit_id": credit.pk,
            "client_id": credit.client_id,
            "booking_id": massage_booking.pk,
            "remaining": 0,
        }

    def test_a_used_up_credit_is_refused(self, in_scope, credit, ada, massage, massage_booking):
        service_credit_use(business=in_scope, credit=credit, booking=massage_booking)
        other = make_booking(in_scope, client=ada, service=massage)
        with pytest.raises(ValidationError, match="used up"):
            service_credit_use(business=in_scope, credit=credit, booking=other)
        assert ServiceCreditUse.objects.count() == 1 and fresh(credit).used == 1

    def test_a_stale_credit_object_still_cannot_be_used_twice(self, in_scope, credit, ada, massage, massage_booking):
        stale = ServiceCredit.objects.get(pk=credit.pk)
        service_credit_use(business=in_scope, credit=credit, booking=massage_booking)
        with pytest.raises(ValidationError, match="used up"):
            service_credit_use(
                business=in_scope, credit=stale, booking=make_booking(in_scope, client=ada, service=massage)
            )

    def test_an_expired_credit_is_refused(self, in_scope, credit, massage_booking):
        ServiceCredit.objects.filter(pk=credit.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        with pytest.raises(ValidationError, match="expired"):
            service_credit_use(business=in_scope, credit=credit, booking=massage_booking)

    def test_another_clients_credit_is_refused(self, in_scope, credit, massage):
        bob_booking = make_booking(in_scope, client=make_client(in_scope, "Bob"), service=massage)
        with pytest.raises(ValidationError, match="another client"):
            service_credit_use(business=in_scope, credit=credit, booking=bob_booking)

    def test_the_booking_must_be_of_the_credits_service(self, in_scope, credit, ada):
        facial = make_booking(in_scope, client=ada, service=make_service(in_scope, name="Facial"))
        with pytest.raises(ValidationError, match="another service") as error:
            service_credit_use(business=in_scope, credit=credit, booking=facial)
        assert "service_credit" in error.value.message_dict

    def test_a_cancelled_booking_cannot_use_a_credit(self, in_scope, credit, massage_booking):
        booking_cancel(business=in_scope, booking=massage_booking)
        massage_booking.refresh_from_db()
        with pytest.raises(ValidationError, match="cancelled"):
            service_credit_use(business=in_scope, credit=credit, booking=massage_booking)

    def test_a_booking_uses_at_most_one_credit(self, in_scope, credit, ada, massage, massage_booking):
        second = service_credit_issue(business=in_scope, client=ada, service=massage, source=MANUAL)
        service_credit_use(business=in_scope, credit=credit, booking=massage_booking)
        with pytest.raises(ValidationError, match="already uses"):
            service_credit_use(business=in_scope, credit=second, booking=massage_booking)
        assert fresh(second).used == 0

    def test_a_credit_of_several_sessions_is_used_once_per_booking(self, in_scope, ada, massage):
        pack = service_credit_issue(business=in_scope, client=ada, service=massage, quantity=3, source=MANUAL)
        for _ in range(3):
            service_credit_use(
                business=in_scope, credit=pack, booking=make_booking(in_scope, client=ada, service=massage)
            )
        assert fresh(pack).remaining == 0
        with pytest.raises(ValidationError, match="used up"):
            service_credit_use(
                business=in_scope, credit=pack, booking=make_booking(in_scope, client=ada, service=massage)
            )

    def test_another_business_booking_is_refused(self, in_scope, credit, other_business):
        with scope(business=other_business):
            foreign = make_booking(other_business)
        with pytest.raises(ValidationError, match="this business"):
            service_credit_use(business=in_scope, credit=credit, booking=foreign)


@pytest.mark.django_db
class TestReverse:
    def test_reversing_gives_the_session_back_once(self, in_scope, credit, massage_booking, owner):
        use = service_credit_use(business=in_scope, credit=credit, booking=massage_booking)
        reversed_use = service_credit_reverse_use(business=in_scope, use=use, actor=owner)
        assert reversed_use.reversed_at is not None and reversed_use.reversed_by == owner
        assert fresh(credit).used == 0
        service_credit_reverse_use(business=in_scope, use=use)  # a second reversal changes nothing
        assert fresh(credit).used == 0
        assert DomainEvent.objects.filter(kind="service_credit.use_reversed").count() == 1

    def test_after_a_reversal_the_booking_may_use_the_credit_again(self, in_scope, credit, massage_booking):
        use = service_credit_use(business=in_scope, credit=credit, booking=massage_booking)
        service_credit_reverse_use(business=in_scope, use=use)
        service_credit_use(business=in_scope, credit=credit, booking=massage_booking)
        assert fresh(credit).used == 1
        assert ServiceCreditUse.objects.filter(booking=massage_booking).count() == 2


@pytest.mark.django_db
class TestReads:
    def test_available_leaves_out_used_up_and_expired_credits(self, in_scope, credit, ada, massage, massage_booking):
        pack = service_credit_issue(business=in_scope, client=ada, service=massage, quantity=2, source=MANUAL)
        old = service_credit_issue(business=in_scope, client=ada, service=massage, source=MANUAL)
        ServiceCredit.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=1))
        service_credit_use(business=in_scope, credit=credit, booking=massage_booking)
        available = service_credits_available(business=in_scope, client=ada)
        assert [c.pk for c in available] == [pack.pk] and available[0].remaining == 2
        other_service = make_service(in_scope, name="Facial")
        assert service_credits_available(business=in_scope, client=ada, service=other_service) == []

    def test_the_client_page_partial_lists_credits_with_what_is_left(
        self, in_scope, credit, ada, massage, massage_booking, django_assert_num_queries
    ):
        service_credit_issue(business=in_scope, client=ada, service=massage, quantity=5, source=MANUAL)
        service_credit_use(business=in_scope, credit=credit, booking=massage_booking)
        with django_assert_num_queries(1):
            credits = service_credits_for_client(business=in_scope, client=ada)
            html = render_to_string("rewards/_service_credits.html", {"service_credits": credits})
        assert "60-minute massage" in html
        assert "0 of 1" in html and "Used" in html
        assert "5 of 5" in html and "Available" in html
        assert "No service credits yet" in render_to_string("rewards/_service_credits.html", {"service_credits": []})


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestConcurrency:
    @pytest.fixture(autouse=True)
    def _postgres_only(self):
        needs_postgres()

    def test_two_checkouts_using_one_credit_at_once_use_it_once(self, business):
        with scope(business=business):
            ada = make_client(business)
            massage = make_service(business, name="60-minute massage")
            credit = service_credit_issue(business=business, client=ada, service=massage, source=MANUAL)
            bookings = [make_booking(business, client=ada, service=massage) for _ in range(2)]

        def use(i):
            with scope(business=business):
                return service_credit_use(business=business, credit=credit, booking=bookings[i])

        used, errors = run_at_once(use, threads=2)
        assert len(used) == 1 and len(errors) == 1 and isinstance(errors[0], ValidationError)
        with scope(business=business):
            assert ServiceCreditUse.objects.filter(credit=credit).count() == 1
            assert fresh(credit).used == 1

    def test_ten_bookings_at_once_take_exactly_the_sessions_there_are(self, business):
        with scope(business=business):
            ada = make_client(business)
            massage = make_service(business, name="60-minute massage")
            pack = service_credit_issue(business=business, client=ada, service=massage, quantity=3, source=MANUAL)
            bookings = [make_booking(business, client=ada, service=massage) for _ in range(10)]

        def use(i):
            with scope(business=business):
                return service_credit_use(business=business, credit=pack, booking=bookings[i])

        used, errors = run_at_once(use, threads=10)
        assert len(used) == 3 and len(errors) == 7 and all(isinstance(e, ValidationError) for e in errors)
        with scope(business=business):
            assert fresh(pack).used == 3 == ServiceCreditUse.objects.filter(credit=pack).count()

    def test_one_booking_using_two_credits_at_once_uses_one(self, business):
        with scope(business=business):
            ada = make_client(business)
            massage = make_service(business, name="60-minute massage")
            credits = [
                service_credit_issue(business=business, client=ada, service=massage, source=MANUAL) for _ in range(2)
            ]
            booking = make_booking(business, client=ada, service=massage)

        def use(i):
            with scope(business=business):
                return service_credit_use(business=business, credit=credits[i], booking=booking)

        used, errors = run_at_once(use, threads=2)
        assert len(used) == 1 and len(errors) == 1 and "already uses" in str(errors[0])
        with scope(business=business):
            assert sum(fresh(c).used for c in credits) == 1
