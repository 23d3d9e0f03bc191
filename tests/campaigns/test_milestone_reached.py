"""Milestone reached: a referrer who reaches a milestone hears what it earned them, once."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bookings.services import booking_confirm
from campaigns.models import Autopilot, AutopilotKind, OutboxMessage
from referrals.codes import code_for_client
from referrals.services import ReferralClaim, booking_create_with_referral
from rewards.milestones import MilestoneData, milestone_create
from rewards.models import MilestoneRewardKind

from ..referrals.conftest import make_client, make_program, make_service, soon

pytestmark = pytest.mark.django_db


def confirm_friends(business, referrer, service, count, first=0):
    for i in range(first, first + count):
        booking = booking_create_with_referral(
            business=business,
            client=make_client(business, f"Friend{i}", email=f"friend{i}@outlook.com"),
            service=service,
            starts_at=soon(),
            claim=ReferralClaim(code=code_for_client(business=business, client=referrer).code),
        )
        booking_confirm(business=business, booking=booking)


def milestone_messages(business):
    return list(OutboxMessage.objects.filter(business=business, template=AutopilotKind.MILESTONE_REACHED))


def test_the_referrer_hears_they_reached_a_milestone_once(in_scope):
    massage = make_service(in_scope)
    make_program(in_scope, [massage], burst_limit=100)
    milestone_create(
        business=in_scope, data=MilestoneData(threshold=2, reward_kind=MilestoneRewardKind.STORE_CREDIT, amount=20_00)
    )
    anna = make_client(in_scope, "Anna", email="anna@gmail.com")
    confirm_friends(in_scope, anna, massage, 1)
    assert milestone_messages(in_scope) == []
    confirm_friends(in_scope, anna, massage, 2, first=1)
    [message] = milestone_messages(in_scope)
    assert message.client == anna and not message.marketing
    assert message.subject == "2 friends referred: thank you, Anna!"
    assert "here is £20.00 of store credit" in message.body_text


def test_switched_off_it_sends_nothing(in_scope):
    massage = make_service(in_scope)
    make_program(in_scope, [massage])
    milestone_create(
        business=in_scope, data=MilestoneData(threshold=1, reward_kind=MilestoneRewardKind.STORE_CREDIT, amount=5_00)
    )
    Autopilot.objects.create(business=in_scope, kind=AutopilotKind.MILESTONE_REACHED, enabled=False)
    confirm_friends(in_scope, make_client(in_scope, "Anna", email="anna@gmail.com"), massage, 1)
    assert milestone_messages(in_scope) == []


def test_the_owner_edits_it_and_staff_cannot(owner_client, staff, business):
    from django.test import Client

    url = reverse("campaigns:milestone_reached", args=[business.slug])
    page = owner_client.get(url)
    assert page.status_code == 200 and "reaches one of your milestones" in page.content.decode()
    as_staff = Client()
    as_staff.force_login(staff)
    assert as_staff.get(url).status_code == 403
