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


def _referral_program(business, owner):
    """A referral rule covering one service, for the program's rule URLs."""
    from businesses.models import Service
    from referrals.program import RuleData, rule_create

    service = Service.objects.create(business=business, name="Walker referral service", price=6000)
    data = RuleData(service_ids=(service.pk,), referee_value=10, reward_kind="coupon_fixed", reward_value=20)
    rule = rule_create(business=business, data=data, actor=owner)
    return {"rule_id": rule.pk}


BUILDERS.append(_referral_program)


def _referral_board(business, owner):
    """A flagged referral between two clients, for a referral's page and its approve/reject URLs."""
    from clients.services import ClientData, client_create
    from referrals.models import FlagSignal, Referral, ReferralFlag, ReferralSource, ReferralStatus

    referrer = client_create(business=business, data=ClientData(first_name="Walker", last_name="Referrer"))
    referee = client_create(business=business, data=ClientData(first_name="Walker", last_name="Referee"))
    referral = Referral.objects.create(
        business=business,
        referrer=referrer,
        referee=referee,
        source=ReferralSource.STAFF,
        status=ReferralStatus.FLAGGED,
    )
    ReferralFlag.objects.create(business=business, referral=referral, signal=FlagSignal.NAMED)
    return {"referral_id": referral.pk}


BUILDERS.append(_referral_board)


def _referral_codes(business, owner):
    """An older code of the sample client (the one `_records` made), for the retire URL."""
    from clients.models import Client
    from referrals.codes import code_for_client, code_regenerate

    client = Client.objects.get(business=business, first_name="Walker", last_name="Sample")
    old = code_for_client(business=business, client=client)
    code_regenerate(business=business, client=client)
    return {"code_id": old.pk}


BUILDERS.append(_referral_codes)


def _campaigns(business, owner):
    """A failed outbox message, for the message page and its resend URL."""
    from campaigns.models import MessageStatus, OutboxMessage

    message = OutboxMessage.objects.create(
        business=business,
        to_address="walker@example.com",
        template="referral_thank_you",
        subject="Walker thank-you",
        body_text="Thank you",
        status=MessageStatus.FAILED,
        attempts=4,
        idempotency_key="walker:failed",
    )
    return {"message_id": message.pk}


BUILDERS.append(_campaigns)


def _milestones(business, owner):
    """A store-credit milestone, for the milestone edit and delete URLs."""
    from rewards.milestones import MilestoneData, milestone_create

    milestone = milestone_create(
        business=business, data=MilestoneData(threshold=5, reward_kind="store_credit", amount=20_00), actor=owner
    )
    return {"milestone_id": milestone.pk}


BUILDERS.append(_milestones)


def _promotions(business, owner):
    """A running promotion, for its edit and archive URLs."""
    from campaigns.promotions import PromotionData, promotion_create

    data = PromotionData(name="Walker offer", code="WALKER10", kind="percent", value="10")
    return {"promotion_id": promotion_create(business=business, data=data, actor=owner).pk}


BUILDERS.append(_promotions)


def _targeted_campaigns(business, owner):
    """A draft campaign, for the campaign page, its edit form and its actions."""
    from campaigns.bulk import CampaignData, campaign_create

    campaign = campaign_create(business=business, data=CampaignData(name="Walker campaign"), actor=owner)
    return {"campaign_id": campaign.pk}


BUILDERS.append(_targeted_campaigns)


def _webhooks(business, owner):
    """A webhook endpoint (made directly: saving through the service resolves its host) and one delivery."""
    from campaigns.models import WebhookDelivery, WebhookEndpoint
    from campaigns.webhooks import new_event_id, new_secret

    endpoint = WebhookEndpoint.objects.create(
        business=business, url="https://hooks.example.com/in", events=["client.created"], secret=new_secret()
    )
    delivery = WebhookDelivery.objects.create(
        business=business, endpoint=endpoint, event_type="client.created", event_id=new_event_id(), payload={}
    )
    return {"endpoint_id": endpoint.pk, "delivery_id": delivery.pk}


BUILDERS.append(_webhooks)


def _api_keys(business, owner):
    """An API key, for the revoke URL of the API keys page."""
    from businesses.api_keys import api_key_create

    key, _ = api_key_create(business=business, name="Walker key", scope="read", actor=owner)
    return {"key_prefix": key.prefix}


BUILDERS.append(_api_keys)
