"""Referrals at the desk: staff type a friend's code or a coupon on the booking form, link a referrer on the
client's page, and see the client's link, codes, referrals and coupons there."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from bookings.models import Booking, DiscountKind
from bookings.services import booking_confirm
from referrals.codes import code_for_client, code_resolve
from referrals.models import Referral, ReferralCode, ReferralSource, ReferralStatus
from referrals.services import ReferralClaim, booking_create_with_referral
from rewards.models import Coupon, CouponStatus

from .conftest import make_client, soon

pytestmark = pytest.mark.django_db


def form(service, **fields):
    data = {
        "client_mode": "new",
        "first_name": "Bob",
        "last_name": "Stone",
        "email": "bob@outlook.com",
        "service": service.pk,
        "date": "2030-05-06",
        "time": "10:30",
        "status": "requested",
        "notes": "",
        "heard_about": "",
        "referral_code": "",
        "coupon_code": "",
    }
    return {**data, **fields}


def new_booking_url(business):
    return reverse("bookings:new", args=[business.slug])


def test_staff_type_a_friends_code_for_a_new_client(staff_client, business, in_scope, program, massage, anna):
    code = code_for_client(business=business, client=anna).code
    response = staff_client.post(
        new_booking_url(business), form(massage, referral_code=f" {code.lower()} "), follow=True
    )
    page = response.content.decode()
    assert "Referred by Anna Berg: the new client&#x27;s discount is applied." in page
    booking = Booking.objects.get(client__first_name="Bob")
    assert booking.total == 85_00
    referral = Referral.objects.get(booking=booking)
    assert (referral.source, referral.status) == (ReferralSource.CODE, ReferralStatus.PENDING)
    assert "referral pending" in page


def test_an_unknown_code_books_at_full_price_and_says_so(staff_client, business, in_scope, program, massage):
    response = staff_client.post(new_booking_url(business), form(massage, referral_code="NOPE1234"), follow=True)
    assert "No referral discount: that code is unknown or retired" in response.content.decode()
    assert Booking.objects.get().total == 100_00


def test_a_returning_client_with_a_code_is_told_why_there_is_no_discount(
    staff_client, business, in_scope, program, massage, anna
):
    carl = make_client(in_scope, "Carl", email="carl@outlook.com")
    booking_create_with_referral(business=business, client=carl, service=massage, starts_at=soon())
    code = code_for_client(business=business, client=anna).code
    data = form(massage, client_mode="existing", client=carl.pk, referral_code=code)
    page = staff_client.post(new_booking_url(business), data, follow=True).content.decode()
    assert "No referral discount: Referral discounts are for new clients" in page


def test_staff_apply_a_coupon_and_a_used_one_is_a_field_error(staff_client, business, in_scope, program, massage, anna):
    friend = booking_create_with_referral(
        business=business,
        client=make_client(in_scope, "Bob", email="b@outlook.com"),
        service=massage,
        starts_at=soon(),
        claim=ReferralClaim(code=code_for_client(business=business, client=anna).code),
    )
    booking_confirm(business=business, booking=friend)
    coupon = Coupon.objects.get(client=anna)
    data = form(massage, client_mode="existing", client=anna.pk, coupon_code=coupon.code)
    assert staff_client.post(new_booking_url(business), data).status_code == 302
    booking = Booking.objects.filter(client=anna).get()
    assert booking.discounts.get().kind == DiscountKind.COUPON and booking.total == 80_00
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.REDEEMED

    response = staff_client.post(new_booking_url(business), data)
    assert response.status_code == 400
    assert "already been used" in " ".join(response.context["form"].errors["coupon_code"])
    assert Booking.objects.filter(client=anna).count() == 1


def test_linking_a_referrer_before_the_first_booking_makes_a_pending_referral(
    staff_client, business, in_scope, program, massage, anna
):
    bob = make_client(in_scope, "Bob", email="b@outlook.com")
    url = reverse("clients:set_referrer", args=[business.slug, bob.pk])
    assert staff_client.post(url, {"referred_by": anna.pk}).status_code == 302
    referral = Referral.objects.get(referee=bob)
    assert (referral.referrer, referral.status, referral.booking) == (anna, ReferralStatus.PENDING, None)
    # Changing the referrer before the first booking replaces the pending referral.
    cleo = make_client(in_scope, "Cleo", email="c@outlook.com")
    staff_client.post(url, {"referred_by": cleo.pk})
    assert Referral.objects.get(referee=bob, status=ReferralStatus.PENDING).referrer == cleo
    assert Referral.objects.get(referee=bob, referrer=anna).status == ReferralStatus.CANCELLED
    # Unlinking closes it.
    staff_client.post(url, {"referred_by": ""})
    assert not Referral.objects.filter(referee=bob, status=ReferralStatus.PENDING).exists()


def test_the_client_page_shows_the_link_codes_referrals_and_coupons(
    owner_client, business, in_scope, program, massage, anna
):
    bob = make_client(in_scope, "Bob", email="b@outlook.com")
    code = code_for_client(business=business, client=anna)
    booking = booking_create_with_referral(
        business=business, client=bob, service=massage, starts_at=soon(), claim=ReferralClaim(code=code.code)
    )
    booking_confirm(business=business, booking=booking)
    page = owner_client.get(reverse("clients:detail", args=[business.slug, anna.pk])).content.decode()
    assert code.code in page and f"/r/{code.code}" in page
    assert "Bob Berg" in page and "Confirmed" in page
    assert Coupon.objects.get(client=anna).code in page
    assert "Give a new code" in page


def test_the_owner_gives_a_new_code_and_retires_the_old_one(owner_client, staff, business, in_scope, anna):
    old = code_for_client(business=business, client=anna)
    owner_client.post(reverse("referrals:code_regenerate", args=[business.slug, anna.pk]))
    new = ReferralCode.objects.get(client=anna, is_current=True)
    assert new.pk != old.pk
    assert code_resolve(business=business, raw=old.code).pk == old.pk  # the old code still attributes
    retire = reverse("referrals:code_retire", args=[business.slug, anna.pk, old.pk])
    as_staff = Client()
    as_staff.force_login(staff)
    assert as_staff.post(retire).status_code == 403
    owner_client.post(retire)
    assert code_resolve(business=business, raw=old.code) is None
    # The current code cannot be retired.
    response = owner_client.post(reverse("referrals:code_retire", args=[business.slug, anna.pk, new.pk]), follow=True)
    assert "cannot be retired" in response.content.decode()
    assert code_resolve(business=business, raw=new.code) is not None


def test_the_booking_page_says_why_a_typed_code_was_not_applied(staff_client, business, in_scope, program, massage):
    staff_client.post(new_booking_url(business), form(massage, referral_code="NOPE1234"))
    booking = Booking.objects.get()
    page = staff_client.get(reverse("bookings:detail", args=[business.slug, booking.pk])).content.decode()
    assert "A referral code was given but not applied: This referral code does not exist" in page
