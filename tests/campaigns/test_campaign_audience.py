"""Who a campaign reaches: every consenting client, a saved segment, and the two presets, on hand-made clients."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.bulk import CampaignData, audience_queryset, campaign_check
from campaigns.models import CampaignAudience
from clients.models import Client, ClientTag, Segment, Tag

from .conftest import make_client

pytestmark = pytest.mark.django_db


def names(queryset) -> set[str]:
    return set(queryset.values_list("first_name", flat=True))


@pytest.fixture
def people(in_scope):
    business, now = in_scope, timezone.now()
    anna = make_client(business, "Anna", email="anna@example.com", email_consent=True)
    bob = make_client(business, "Bob", email="bob@example.com")
    cleo = make_client(business, "Cleo", email="cleo@example.com", email_consent=True)
    dan = make_client(business, "Dan", email="", email_consent=True)  # no address: never in an audience
    eve = make_client(business, "Eve", email="eve@example.com", email_consent=True)
    Client.objects.filter(pk=anna.pk).update(referred_clients_count=2)
    # Bob and Cleo were referred by Anna; Bob visited once last week, Cleo once 40 days ago.
    Client.objects.filter(pk=bob.pk).update(referred_by=anna, completed_visits=1, last_visit_at=now - timedelta(days=7))
    Client.objects.filter(pk=cleo.pk).update(
        referred_by=anna, completed_visits=1, last_visit_at=now - timedelta(days=40)
    )
    # Eve was referred too but came twice: not "visited once".
    Client.objects.filter(pk=eve.pk).update(referred_by=anna, completed_visits=2, last_visit_at=now - timedelta(days=3))
    test_client = make_client(business, "Tess", email="tess@example.com", email_consent=True)
    Client.objects.filter(pk=test_client.pk).update(is_test=True)
    return {"anna": anna, "bob": bob, "cleo": cleo, "dan": dan, "eve": eve}


def test_every_consenting_client_means_consent_and_an_address(in_scope, people):
    assert names(audience_queryset(business=in_scope, audience=CampaignAudience.CONSENTING)) == {"Anna", "Cleo", "Eve"}


def test_the_referrers_preset_uses_the_clients_list_referrer_filter(in_scope, people):
    assert names(audience_queryset(business=in_scope, audience=CampaignAudience.REFERRERS)) == {"Anna"}


@pytest.mark.parametrize(("days", "expected"), [(30, {"Bob"}), (60, {"Bob", "Cleo"}), (3, set())])
def test_recently_referred_clients_who_visited_once_in_the_last_n_days(in_scope, people, days, expected):
    audience = audience_queryset(business=in_scope, audience=CampaignAudience.RECENT_REFERRED, days=days)
    assert names(audience) == expected


def test_a_segment_applies_its_saved_filters_and_keeps_unconsented_clients(in_scope, people):
    tag = Tag.objects.create(business=in_scope, name="VIP")
    for client in (people["anna"], people["bob"], people["dan"]):
        ClientTag.objects.create(business=in_scope, client=client, tag=tag)
    segment = Segment.objects.create(business=in_scope, name="VIPs", filters={"tag": tag.pk})
    # Bob has no consent: he stays in the audience and his message is kept as suppressed.
    assert names(audience_queryset(business=in_scope, audience="segment", segment=segment)) == {"Anna", "Bob"}
    visited = Segment.objects.create(business=in_scope, name="Visited", filters={"visits_more_than": 0})
    assert names(audience_queryset(business=in_scope, audience="segment", segment=visited)) == {"Bob", "Cleo", "Eve"}


def test_a_segment_whose_filters_no_longer_parse_is_refused_not_widened(in_scope, people):
    broken = Segment.objects.create(business=in_scope, name="Old", filters={"visits_more_than": "lots"})
    with pytest.raises(ValidationError) as caught:
        audience_queryset(business=in_scope, audience="segment", segment=broken)
    assert "no longer apply" in caught.value.message_dict["segment"][0]


def test_a_segment_of_another_business_is_refused(in_scope, other_business):
    foreign = Segment(business=other_business, name="Theirs", filters={})
    with pytest.raises(ValidationError) as caught:
        audience_queryset(business=in_scope, audience="segment", segment=foreign)
    assert "another business" in caught.value.message_dict["segment"][0]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"audience": "segment"}, "segment", "Choose a segment"),
        ({"audience": "recent_referred", "audience_days": 0}, "audience_days", "between 1 and 365"),
        ({"body": "Hi {% load static %}"}, "body", "not available"),
        ({"subject": "{% if %}"}, "subject", ""),
        ({"name": "  "}, "name", "name"),
        ({"audience": "everyone"}, "audience", "Choose who"),
    ],
)
def test_a_draft_is_checked_field_by_field(in_scope, fields, field, words):
    with pytest.raises(ValidationError) as caught:
        campaign_check(business=in_scope, data=CampaignData(**{"name": "News", **fields}))
    assert words in " ".join(caught.value.message_dict[field])
