"""Sample objects for the route walker: for each URL keyword, an id of a row that belongs to the business.

When an issue adds a dashboard URL with a new keyword (`<int:client_id>`), it adds a builder here; the walker
fails and names the keyword until it does.
"""

from __future__ import annotations

from django_scopes import scope

from businesses.models import Invitation, Membership, Role, hash_token, new_token

from .factories import UserFactory


def _businesses(business, owner):
    member = UserFactory()
    membership = Membership.objects.create(business=business, user=member, role=Role.STAFF)
    invitation = Invitation.objects.create(
        business=business,
        email="invited@example.com",
        token_hash=hash_token(new_token()),
        expires_at=business.created_at.replace(year=business.created_at.year + 1),
        invited_by=owner,
    )
    return {"membership_id": membership.pk, "invitation_id": invitation.pk}


BUILDERS = [_businesses]


def build_samples(business, owner) -> dict[str, object]:
    samples: dict[str, object] = {"business_slug": business.slug}
    with scope(business=business):
        for builder in BUILDERS:
            samples.update(builder(business, owner))
    return samples


def _records(business, owner):
    """Clients, services, bookings: one of each, so every record URL has a real id to walk."""
    from datetime import timedelta

    from django.utils import timezone

    from bookings.models import Payment
    from bookings.services import booking_create
    from businesses.models import Service
    from clients.models import ImportJob, Segment
    from clients.services import ClientData, client_create

    client = client_create(business=business, data=ClientData(first_name="Walker", last_name="Sample"))
    service = Service.objects.create(business=business, name="Walker massage", price=5000, duration_minutes=60)
    booking = booking_create(
        business=business, client=client, service=service, starts_at=timezone.now() + timedelta(days=1)
    )
    return {
        "client_id": client.pk,
        "service_id": service.pk,
        "booking_id": booking.pk,
        "payment_id": Payment.objects.get(booking=booking).pk,
        "segment_id": Segment.objects.create(business=business, name="Walker segment", filters={}).pk,
        "import_id": ImportJob.objects.create(business=business, file_name="walk.csv", content="").pk,
        "action": "confirm",
    }


BUILDERS.append(_records)
