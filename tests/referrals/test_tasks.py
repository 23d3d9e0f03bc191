"""The periodic tasks of the referral engine, run as beat would run them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_scopes import scope

from bookings.services import booking_confirm
from referrals.codes import code_for_client
from referrals.models import Referral, ReferralStatus
from referrals.services import ReferralClaim, booking_create_with_referral
from referrals.tasks import auto_approve_flagged
from referrals_saas.celery import app
from rewards.models import Reward
from tests.factories import BusinessFactory

from .conftest import make_client, make_program, make_service, soon

pytestmark = pytest.mark.django_db


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, f"{name}: {entry['task']} is not a registered task"


def flagged_and_due(business):
    """A referral flagged (throwaway address) whose booking is confirmed and whose deadline has passed."""
    with scope(business=business):
        massage = make_service(business)
        make_program(business, [massage], flag_auto_approve_days=3)
        anna = make_client(business, email="anna@gmail.com")
        booking = booking_create_with_referral(
            business=business,
            client=make_client(business, "Sly", email="sly@mailinator.com"),
            service=massage,
            starts_at=soon(),
            claim=ReferralClaim(code=code_for_client(business=business, client=anna).code),
        )
        booking_confirm(business=business, booking=booking)
        Referral.objects.filter(booking=booking).update(auto_approve_at=timezone.now() - timedelta(minutes=1))
        return anna


def test_auto_approval_visits_each_business_with_a_due_referral_once():
    first, second, idle = BusinessFactory(), BusinessFactory(), BusinessFactory()
    referrers = [flagged_and_due(first), flagged_and_due(second)]
    with scope(business=idle):
        make_program(idle, [make_service(idle)])

    assert auto_approve_flagged.delay().get() == 2
    assert auto_approve_flagged.delay().get() == 0
    for business, referrer in zip([first, second], referrers, strict=True):
        with scope(business=business):
            assert Referral.objects.get(referrer=referrer).status == ReferralStatus.CONFIRMED
            assert Reward.objects.filter(client=referrer).count() == 1
