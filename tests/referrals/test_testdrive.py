"""The owner's test drive: the whole flow with test records that stay out of everything and can be removed."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from bookings.models import Booking
from clients.models import Client
from clients.selectors import ClientFilters, client_queryset
from referrals.models import Referral, ReferralStatus, ReferrerTally
from referrals.testdrive import TEST_DOMAIN, program_test_drive, program_test_records_remove
from rewards.models import Coupon, Reward

from .conftest import make_client, make_program

pytestmark = pytest.mark.django_db


def test_the_test_drive_runs_the_whole_flow_even_before_the_program_is_switched_on(in_scope, massage, owner):
    make_program(in_scope, [massage], enabled=False)
    drive = program_test_drive(business=in_scope, actor=owner)
    assert drive.booking.total == 85_00 and [d.amount for d in drive.discounts] == [15_00]
    assert drive.referral.status == ReferralStatus.CONFIRMED and drive.referral.is_test
    assert drive.reward.coupon.amount == 20_00 and drive.reward.is_test
    assert drive.referrer.is_test and drive.referee.is_test
    assert Booking.objects.get(pk=drive.booking.pk).is_test
    assert drive.referrer.email.endswith(TEST_DOMAIN) and drive.referee.email.endswith(TEST_DOMAIN)
    assert "Hi Tess" in drive.thank_you and drive.reward.coupon.code in drive.thank_you
    assert mail.outbox == []


def test_test_records_are_left_out_of_lists_and_removed_without_touching_real_ones(in_scope, program, massage, anna):
    program_test_drive(business=in_scope)
    program_test_drive(business=in_scope)
    assert list(client_queryset(business=in_scope, filters=ClientFilters())) == [anna]
    assert program_test_records_remove(business=in_scope) == 4
    assert list(Client.objects.all()) == [anna]
    assert not Booking.objects.exists() and not Referral.objects.exists()
    assert not Reward.objects.exists() and not Coupon.objects.exists() and not ReferrerTally.objects.exists()
    assert program_test_records_remove(business=in_scope) == 0


def test_without_a_rule_the_test_drive_says_what_to_do(owner_client, business, in_scope):
    response = owner_client.post(reverse("referrals:test_drive", args=[business.slug]), follow=True)
    assert "Add a rule that covers an active service first" in response.content.decode()
    assert not Client.objects.exists()


def test_the_owner_runs_and_removes_a_test_drive_from_the_program_page(owner_client, business, in_scope, program):
    make_client(in_scope, "Real", email="real@outlook.com")
    page = owner_client.post(reverse("referrals:test_drive", args=[business.slug])).content.decode()
    assert "Test drive of your referral program" in page and "Hi Tess" in page
    program_page = owner_client.get(reverse("referrals:program", args=[business.slug])).content.decode()
    assert "Remove test records (2 test clients)" in program_page
    response = owner_client.post(reverse("referrals:test_records_delete", args=[business.slug]), follow=True)
    assert "Removed the test records of 2 test clients." in response.content.decode()
    assert list(Client.objects.values_list("first_name", flat=True)) == ["Real"]


def test_staff_cannot_run_a_test_drive(staff_client, business, in_scope, program):
    assert staff_client.post(reverse("referrals:test_drive", args=[business.slug])).status_code == 403
    assert not Client.objects.exists()
