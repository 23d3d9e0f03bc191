"""Promotions: the owner's terms, what a booking gets from a code, uses under concurrency, and the pages."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from bookings.models import BookingDiscount, DiscountKind
from bookings.services import booking_cancel
from campaigns.models import Autopilot, AutopilotKind, OutboxMessage, Promotion
from campaigns.promotions import (
    PromotionData,
    promotion_archive,
    promotion_create,
    promotion_find,
    promotion_link,
    promotion_problem,
    promotion_update,
)
from campaigns.services import autopilot_save
from campaigns.wording import THANK_YOU_BODY, THANK_YOU_SUBJECT
from referrals.services import booking_create_with_referral
from tests.factories import BusinessFactory

from ..threads import needs_postgres, run_at_once
from .conftest import confirm, make_client, make_program, make_service, referred_booking, soon

pytestmark = pytest.mark.django_db


def spring(business, **changes) -> Promotion:
    values = {"name": "Spring offer", "code": "spring20", "kind": "percent", "value": "20", **changes}
    return promotion_create(business=business, data=PromotionData(**values))


def book(business, client, service, code="SPRING20", **fields):
    return booking_create_with_referral(
        business=business, client=client, service=service, starts_at=soon(), promotion_code=code, **fields
    )


# ------------------------------------------------------------------------------------------------ the terms


def test_a_promotion_is_saved_with_a_normalised_code_and_chosen_services(in_scope, massage):
    promotion = spring(in_scope, service_ids=(massage.pk,), max_uses=50, audience="new_clients")
    assert (promotion.code, promotion.percent, promotion.amount, promotion.all_services) == ("SPRING20", 20, 0, False)
    assert list(promotion.services.all()) == [massage]
    assert promotion_find(business=in_scope, code=" Spring20 ") == promotion
    assert promotion_link(promotion).endswith(f"/w/{in_scope.slug}/?promo=SPRING20")


def test_an_amount_off_is_kept_in_minor_units(in_scope):
    promotion = spring(in_scope, kind="fixed", value="15.50")
    assert (promotion.amount, promotion.percent) == (1550, 0)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"code": "a"}, "code"),
        ({"code": "no spaces"}, "code"),
        ({"value": "0"}, "value"),
        ({"value": "101"}, "value"),
        ({"value": "12.345"}, "value"),
        ({"value": "NaN"}, "value"),
        ({"kind": "fixed", "value": "-5"}, "value"),
        ({"kind": "fixed", "value": "1e30"}, "value"),
        ({"kind": "bogus"}, "kind"),
        ({"audience": "everyone"}, "audience"),
        ({"starts_on": date(2026, 5, 2), "ends_on": date(2026, 5, 1)}, "ends_on"),
        ({"max_uses": 0}, "max_uses"),
    ],
)
def test_bad_terms_are_refused_by_field_and_nothing_is_saved(in_scope, changes, field):
    with pytest.raises(ValidationError) as refused:
        spring(in_scope, **changes)
    assert field in refused.value.message_dict
    assert not Promotion.objects.exists()


def test_codes_are_unique_per_business_whatever_the_case(in_scope):
    spring(in_scope)
    with pytest.raises(ValidationError) as refused:
        spring(in_scope, code="Spring20", name="Again")
    assert refused.value.message_dict["code"] == ["Another promotion already has this code."]
    other = BusinessFactory()
    with scope(business=other):
        assert spring(other).code == "SPRING20"  # another business may use the same code


def test_another_business_s_service_cannot_be_chosen(in_scope):
    other = BusinessFactory()
    with scope(business=other):
        foreign = make_service(other)
    with pytest.raises(ValidationError) as refused:
        spring(in_scope, service_ids=(foreign.pk,))
    assert "services" in refused.value.message_dict


# ------------------------------------------------------------------------------------------------ what it gives


def test_a_booking_with_the_code_gets_the_discount_once_and_takes_a_use(in_scope, massage):
    promotion = spring(in_scope)
    client = make_client(in_scope, "Bob")
    booking = book(in_scope, client, massage, code="spring20")
    [row] = BookingDiscount.objects.filter(booking=booking)
    assert (row.kind, row.amount, row.code, row.label) == (
        DiscountKind.PROMOTION,
        20_00,
        "SPRING20",
        "Spring offer (20% off)",
    )
    assert (booking.list_price, booking.total) == (100_00, 80_00)
    promotion.refresh_from_db()
    assert promotion.uses == 1


def test_an_amount_off_never_exceeds_the_price(in_scope):
    cheap = make_service(in_scope, "Consultation", price=10_00)
    spring(in_scope, kind="fixed", value="25")
    booking = book(in_scope, make_client(in_scope, "Bob"), cheap)
    assert booking.total == 0


def test_the_last_use_is_given_once_and_the_next_booking_is_refused_without_a_trace(in_scope, massage):
    promotion = spring(in_scope, max_uses=1)
    book(in_scope, make_client(in_scope, "Bob"), massage)
    late = make_client(in_scope, "Cleo")
    with pytest.raises(ValidationError) as refused:
        book(in_scope, late, massage)
    assert refused.value.message_dict["promotion_code"] == ["This promotion has been fully used."]
    assert not late.bookings.exists()
    promotion.refresh_from_db()
    assert promotion.uses == 1


def test_a_cancelled_booking_gives_its_use_back(in_scope, massage, owner):
    promotion = spring(in_scope, max_uses=1)
    booking = book(in_scope, make_client(in_scope, "Bob"), massage)
    booking_cancel(business=in_scope, booking=booking, actor=owner)
    booking_cancel(business=in_scope, booking=booking, actor=owner)  # a second cancel changes nothing
    promotion.refresh_from_db()
    assert promotion.uses == 0
    book(in_scope, make_client(in_scope, "Cleo"), massage)


def test_dates_are_days_of_the_business_s_time_zone(in_scope, massage):
    # 23:30 on 31 May in London is 1 June in Auckland: the business is in London, so May's promotion applies.
    promotion = spring(in_scope, starts_on=date(2026, 5, 1), ends_on=date(2026, 5, 31))
    late_may = datetime(2026, 5, 31, 23, 30, tzinfo=ZoneInfo("Europe/London"))
    assert promotion_problem(promotion, service=massage, client=None, now=late_may) is None
    june = late_may + timedelta(hours=1)
    assert promotion_problem(promotion, service=massage, client=None, now=june) == "This promotion has ended."
    april = datetime(2026, 4, 30, 12, tzinfo=ZoneInfo("Europe/London"))
    assert (
        promotion_problem(promotion, service=massage, client=None, now=april) == "This promotion starts on 1 May 2026."
    )


def test_services_and_audience_are_checked(in_scope, massage, program, anna):
    facial = make_service(in_scope, "Facial")
    only_massage = spring(in_scope, service_ids=(massage.pk,))
    assert promotion_problem(only_massage, service=facial, client=None) == "This promotion does not apply to Facial."

    newcomers = spring(in_scope, code="NEW10", audience="new_clients")
    returning = make_client(in_scope, "Rita")
    book(in_scope, returning, massage, code="")
    assert promotion_problem(newcomers, service=massage, client=None) is None
    assert promotion_problem(newcomers, service=massage, client=returning) == "This promotion is for new clients only."

    referrers = spring(in_scope, code="THANKS", audience="referrers")
    assert "referred a friend" in promotion_problem(referrers, service=massage, client=anna)
    referred_booking(in_scope, anna, massage)
    anna.refresh_from_db()
    assert promotion_problem(referrers, service=massage, client=anna) is None


def test_an_unknown_or_stopped_code_is_refused_in_words(in_scope, massage):
    promotion = spring(in_scope)
    promotion_archive(business=in_scope, promotion=promotion)
    promotion_archive(business=in_scope, promotion=promotion)  # idempotent
    client = make_client(in_scope, "Bob")
    for code in ("SPRING20", "NOPE"):
        with pytest.raises(ValidationError) as refused:
            book(in_scope, client, massage, code=code)
        assert refused.value.message_dict["promotion_code"] == ["This promotion code is not valid."]


def test_in_best_discount_mode_the_larger_of_referral_and_promotion_wins(in_scope, massage, anna):
    make_program(in_scope, [massage], combination_mode="best")  # the friend gets 15% off by referral
    spring(in_scope)  # 20% off
    friend = make_client(in_scope, "Bob", email="bob@example.com")
    from referrals.codes import code_for_client
    from referrals.services import ReferralClaim

    claim = ReferralClaim(code=code_for_client(business=in_scope, client=anna).code)
    booking = book(in_scope, friend, massage, claim=claim)
    assert [row.kind for row in BookingDiscount.objects.filter(booking=booking)] == [DiscountKind.PROMOTION]
    assert booking.total == 80_00


def test_lowering_max_uses_below_what_was_used_is_refused(in_scope, massage):
    promotion = spring(in_scope)
    book(in_scope, make_client(in_scope, "Bob"), massage)
    book(in_scope, make_client(in_scope, "Cleo"), massage)
    data = PromotionData(name="Spring offer", code="SPRING20", kind="percent", value="20", max_uses=1)
    with pytest.raises(ValidationError) as refused:
        promotion_update(business=in_scope, promotion=promotion, data=data)
    assert refused.value.message_dict["max_uses"] == ["It has already been used 2 times."]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_clients_taking_the_last_use_at_once_get_one_booking(business):
    needs_postgres()
    with scope(business=business):
        massage = make_service(business)
        promotion = spring(business, max_uses=1)
        clients = [make_client(business, f"Client{i}") for i in range(10)]

    def work(index):
        with scope(business=business):
            return book(business, clients[index], massage).pk

    booked, errors = run_at_once(work, threads=10)
    assert len(booked) == 1
    assert len(errors) == 9 and all(isinstance(error, ValidationError) for error in errors)
    with scope(business=business):
        promotion.refresh_from_db()
        assert promotion.uses == 1
        assert BookingDiscount.objects.filter(kind=DiscountKind.PROMOTION).count() == 1


# ------------------------------------------------------------------------------------------------ thank-you


def test_the_thank_you_carries_an_attached_running_promotion(in_scope, program, massage, anna):
    promotion = spring(in_scope)
    Autopilot.objects.create(
        business=in_scope,
        kind=AutopilotKind.REFERRAL_THANK_YOU,
        subject=THANK_YOU_SUBJECT,
        body=THANK_YOU_BODY,
        promotion=promotion,
    )
    confirm(in_scope, referred_booking(in_scope, anna, massage, "Bob"))
    message = OutboxMessage.objects.get(template=AutopilotKind.REFERRAL_THANK_YOU)
    assert f"Spring offer, 20% off. Book it here: {promotion_link(promotion)}" in message.body_text


def test_a_stopped_promotion_is_left_out_of_the_thank_you(in_scope, program, massage, anna):
    promotion = spring(in_scope)
    autopilot_save(
        business=in_scope,
        kind=AutopilotKind.REFERRAL_THANK_YOU,
        enabled=True,
        subject=THANK_YOU_SUBJECT,
        body=THANK_YOU_BODY,
        promotion=promotion,
    )
    promotion_archive(business=in_scope, promotion=promotion)
    confirm(in_scope, referred_booking(in_scope, anna, massage, "Bob"))
    message = OutboxMessage.objects.get(template=AutopilotKind.REFERRAL_THANK_YOU)
    assert "promo=" not in message.body_text and "Spring offer" not in message.body_text


def test_another_business_s_promotion_cannot_be_attached(in_scope):
    other = BusinessFactory()
    with scope(business=other):
        foreign = spring(other)
    with pytest.raises(ValidationError) as refused:
        autopilot_save(
            business=in_scope,
            kind=AutopilotKind.REFERRAL_THANK_YOU,
            enabled=True,
            subject=THANK_YOU_SUBJECT,
            body=THANK_YOU_BODY,
            promotion=foreign,
        )
    assert "promotion" in refused.value.message_dict


# ------------------------------------------------------------------------------------------------ pages


def url(business, name, *args):
    return reverse(f"campaigns:{name}", args=[business.slug, *args])


def form_values(**changes):
    return {
        "name": "Spring offer",
        "code": "SPRING20",
        "kind": "percent",
        "value": "20",
        "audience": "anyone",
        **changes,
    }


def test_the_owner_creates_edits_and_stops_a_promotion(owner_client, business):
    with scope(business=business):
        massage = make_service(business)
    response = owner_client.post(url(business, "promotion_new"), form_values(services=[massage.pk], max_uses="30"))
    assert response.status_code == 302
    with scope(business=business):
        promotion = Promotion.objects.get()
    page = owner_client.get(url(business, "promotions")).content.decode()
    assert "Spring offer" in page and "20% off" in page and "0 of 30" in page and "?promo=SPRING20" in page

    edit = url(business, "promotion_edit", promotion.pk)
    assert 'value="SPRING20"' in owner_client.get(edit).content.decode()
    assert owner_client.post(edit, form_values(value="25")).status_code == 302
    assert owner_client.post(url(business, "promotion_archive", promotion.pk)).status_code == 302
    with scope(business=business):
        promotion.refresh_from_db()
    assert promotion.percent == 25 and promotion.archived_at is not None
    assert "Stopped" in owner_client.get(url(business, "promotions")).content.decode()


def test_a_bad_form_answers_400_with_the_reason(owner_client, business):
    response = owner_client.post(url(business, "promotion_new"), form_values(value="abc"))
    assert response.status_code == 400
    assert "Enter a percent between 0 and 100 or a positive amount." in response.content.decode()
    response = owner_client.post(url(business, "promotion_new"), form_values(starts_on="99999-01-01", max_uses="x"))
    assert response.status_code == 400
    assert "Enter a whole number." in response.content.decode()
    with scope(business=business):
        assert not Promotion.objects.exists()


def test_staff_see_promotions_but_cannot_change_them(staff_client, business):
    assert staff_client.get(url(business, "promotions")).status_code == 200
    assert staff_client.post(url(business, "promotion_new"), form_values()).status_code == 403


def test_staff_apply_a_promotion_code_when_booking(staff_client, business):
    with scope(business=business):
        massage = make_service(business)
        spring(business, audience="new_clients")
        regular = make_client(business, "Rita")
        book(business, regular, massage, code="")
    base = {"client_mode": "new", "first_name": "Bob", "service": massage.pk, "date": soon().date().isoformat()}
    base |= {"time": "10:00", "status": "confirmed"}
    response = staff_client.post(reverse("bookings:new", args=[business.slug]), {**base, "promotion_code": "spring20"})
    assert response.status_code == 302
    with scope(business=business):
        assert BookingDiscount.objects.filter(kind=DiscountKind.PROMOTION, amount=20_00).count() == 1
    refused = {**base, "client_mode": "existing", "client": regular.pk, "promotion_code": "SPRING20"}
    response = staff_client.post(reverse("bookings:new", args=[business.slug]), refused)
    assert response.status_code == 400
    assert "This promotion is for new clients only." in response.content.decode()


def test_the_thank_you_settings_offer_the_business_s_promotions(owner_client, business):
    with scope(business=business):
        promotion = spring(business)
    page = owner_client.get(url(business, "thank_you")).content.decode()
    assert "Attach a promotion" in page and "Spring offer" in page
    values = {"enabled": "on", "delay_minutes": "0", "subject": THANK_YOU_SUBJECT, "body": THANK_YOU_BODY}
    response = owner_client.post(url(business, "thank_you"), {**values, "promotion": promotion.pk, "action": "save"})
    assert response.status_code == 302
    with scope(business=business):
        assert Autopilot.objects.get(kind=AutopilotKind.REFERRAL_THANK_YOU).promotion == promotion


def test_the_list_reads_each_promotion_s_business_once_not_per_row(owner_client, business):
    with scope(business=business):
        spring(business)
    url_ = url(business, "promotions")
    owner_client.get(url_)
    with CaptureQueriesContext(connection) as one:
        owner_client.get(url_)
    with scope(business=business):
        for code in ("TWO22", "THREE3", "FOUR44"):
            spring(business, code=code, name=code)
    with CaptureQueriesContext(connection) as four:
        owner_client.get(url_)
    assert len(four) == len(one)
