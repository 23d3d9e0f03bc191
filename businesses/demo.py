"""Demo data for the businesses app: the demo business, its owner and staff. Idempotent."""

from __future__ import annotations

from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django_scopes import scope

from .hours import demo_opening_hours_seed
from .models import Business, Membership, Role
from .services import business_create, invitation_create

DEMO_PASSWORD = "serenity-demo-2026"
DEMO_OWNER_EMAIL = "maya@serenity-massage.example"
DEMO_STAFF_EMAIL = "leo@serenity-massage.example"
DEMO_SLUG = "serenity-massage"


@dataclass
class DemoContext:
    """What each app's demo seeding builds on; apps add to `extras` for the apps above them."""

    business: Business
    owner: object
    staff: object
    extras: dict = field(default_factory=dict)


def _demo_user(email: str, first_name: str, last_name: str):
    user, created = get_user_model().objects.get_or_create(
        email=email, defaults={"first_name": first_name, "last_name": last_name}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


def seed() -> DemoContext:
    owner = _demo_user(DEMO_OWNER_EMAIL, "Maya", "Lindqvist")
    staff = _demo_user(DEMO_STAFF_EMAIL, "Leo", "Okafor")
    business = Business.objects.filter(slug=DEMO_SLUG).first() or business_create(
        owner=owner,
        name="Serenity Massage Studio",
        slug=DEMO_SLUG,
        time_zone="America/New_York",
        currency="USD",
        country="US",
    )
    with scope(business=business):
        Membership.objects.get_or_create(business=business, user=staff, defaults={"role": Role.STAFF})
        if not business.invitations.exists():
            invitation_create(
                business=business, email="nina@serenity-massage.example", role=Role.STAFF, invited_by=owner
            )
        demo_opening_hours_seed(business=business)
    return DemoContext(business=business, owner=owner, staff=staff)
