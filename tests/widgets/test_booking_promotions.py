"""A promotion link in the widget: the banner, the summary's price with the promotion, the booking with it, and a
promotion that runs out between the summary and the confirmation."""

# The fixtures come from booking_helpers; a test naming one as a parameter is not a redefinition.
# ruff: noqa: F811
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django_scopes import scope

from bookings.models import Booking, DiscountKind
from campaigns.models import Promotion
from campaigns.promotions import PromotionData, promotion_create, promotion_link
from referrals.codes import click_token, code_for_client

from .booking_helpers import (  # noqa: F401 (fixtures)
    anna,
    book_url,
    confirm,
    make_client,
    make_program,
    massage,
    open_details,
    slot,
    studio,
    summary,
    tomorrow,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def warmup(studio, massage) -> Promotion:
    data = PromotionData(
        name="Winter warm-up", code="WARMUP20", kind="percent", value="20", service_ids=(massage.pk,), max_uses=5
    )
    return promotion_create(business=studio, data=data)


def only_booking(business) -> Booking:
    with scope(business=business):
        return Booking.objects.get(business=business)


def test_the_promotion_link_opens_the_booking_page_with_its_banner(client, studio, massage, warmup):
    link = urlsplit(promotion_link(warmup))
    page = client.get(f"{link.path}?{link.query}").content.decode()
    assert "data-promotion-banner" in page and "Winter warm-up" in page and "20% off" in page
    assert "promo=WARMUP20" in page  # the Book links carry it
    time_page = client.get(
        book_url(studio, "book_time", service=massage.pk, day=tomorrow(studio).isoformat(), promo="WARMUP20")
    )
    assert "Winter warm-up" in time_page.content.decode()


def test_the_summary_shows_the_promotion_and_the_booking_takes_it(client, studio, massage, slot, warmup):
    token = open_details(client, studio, massage, slot, promo="WARMUP20")
    html = summary(client, studio, massage, slot, token, promo="WARMUP20").content.decode()
    assert "Winter warm-up (20% off)" in html and "−£20.00" in html and "£80.00" in html
    assert confirm(client, studio, massage, slot, token, promo="WARMUP20").status_code == 303
    booking = only_booking(studio)
    assert booking.total == 80_00
    with scope(business=studio):
        [row] = booking.discounts.all()
        warmup.refresh_from_db()
    assert (row.kind, row.code) == (DiscountKind.PROMOTION, "WARMUP20") and warmup.uses == 1


def test_a_promotion_that_does_not_apply_says_why_and_the_price_is_full(client, studio, massage, slot):
    facial_only = PromotionData(name="Facial week", code="FACE10", kind="percent", value="10")
    with scope(business=studio):
        from businesses.models import Service

        facial = Service.objects.create(business=studio, name="Facial", price=50_00, duration_minutes=30)
        promotion_create(business=studio, data=PromotionData(**{**facial_only.__dict__, "service_ids": (facial.pk,)}))
    token = open_details(client, studio, massage, slot, promo="FACE10")
    html = summary(client, studio, massage, slot, token, promo="FACE10").content.decode()
    assert "Promotion not applied: This promotion does not apply to Deep tissue massage." in html
    assert "data-discount" not in html and "£100.00" in html
    assert confirm(client, studio, massage, slot, token, promo="").status_code == 303
    assert only_booking(studio).total == 100_00


def test_a_promotion_used_up_after_the_summary_is_shown_again_without_it(client, studio, massage, slot, warmup):
    token = open_details(client, studio, massage, slot, promo="WARMUP20")
    summary(client, studio, massage, slot, token, promo="WARMUP20")
    with scope(business=studio):
        Promotion.objects.filter(pk=warmup.pk).update(uses=5)  # others took the last uses meanwhile
    response = confirm(client, studio, massage, slot, token, promo="WARMUP20")
    html = response.content.decode()
    assert response.status_code == 200
    assert "This promotion has been fully used. The price below is without it." in html
    assert '<input type="hidden" name="promo" value="WARMUP20">' not in html
    with scope(business=studio):
        assert not Booking.objects.exists()


def test_in_best_mode_a_better_promotion_replaces_the_referral_discount(client, studio, massage, slot, anna, warmup):
    make_program(studio, [massage], combination_mode="best")  # the referral gives 15%, the promotion 20%
    code = code_for_client(business=studio, client=anna).code
    carry = {"ref": code, "ref_t": click_token(code), "promo": "WARMUP20"}
    token = open_details(client, studio, massage, slot, **carry)
    html = summary(client, studio, massage, slot, token, **carry).content.decode()
    assert 'data-discount="promotion"' in html and 'data-discount="referral"' not in html
    assert "Referred by Anna" in html  # still named: the referral is recorded, the better discount is kept
    assert confirm(client, studio, massage, slot, token, **carry).status_code == 303
    assert only_booking(studio).total == 80_00


def test_an_unknown_promo_code_on_the_link_says_nothing_until_the_summary(client, studio, massage):
    page = client.get(reverse("widget_public:landing", args=[studio.slug]) + "?promo=NOPE").content.decode()
    assert "data-promotion-banner" not in page
