from __future__ import annotations

import pytest

from bookings.services import booking_confirm
from campaigns.sandbox import Rendered
from campaigns.services import outbox_enqueue
from referrals.codes import code_for_client
from referrals.models import ReferralSource
from referrals.services import ReferralClaim, booking_create_with_referral
from tests.referrals.conftest import anna, make_client, make_program, make_service, massage, program, soon  # noqa: F401

FAILING_BACKEND = "tests.campaigns.backends.FailingBackend"


def content(subject="Hello", text="Hi there\n", html="<p>Hi there</p>") -> Rendered:
    return Rendered(subject=subject, text=text, html=html)


def enqueue(business, client=None, key="test:1", **fields):
    return outbox_enqueue(business=business, key=key, template="test", content=content(), client=client, **fields)


def referred_booking(business, referrer, service, first_name="Bob", email=None):
    friend = make_client(business, first_name, "Stone", email=email or f"{first_name.lower()}@outlook.com")
    claim = ReferralClaim(code=code_for_client(business=business, client=referrer).code, source=ReferralSource.LINK)
    return booking_create_with_referral(
        business=business, client=friend, service=service, starts_at=soon(), claim=claim
    )


def confirm(business, booking, actor=None):
    return booking_confirm(business=business, booking=booking, actor=actor)


@pytest.fixture
def bella(in_scope):
    """A referrer whose address can receive mail."""
    return make_client(in_scope, "Bella", "Moss", email="bella@example.com")


__all__ = ["make_client", "make_program", "make_service"]
