"""segment_create and segment_delete: the rules for saved filters live in the service, not the view."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from businesses.models import AuditLog
from clients import services
from clients.models import Segment
from clients.selectors import ClientFilters
from clients.services import segment_create, segment_delete

pytestmark = pytest.mark.django_db


def filters(**values) -> ClientFilters:
    return ClientFilters.from_querydict(values)


def test_create_saves_the_filters_and_audits(in_scope, owner):
    saved = segment_create(business=in_scope, name="  Lapsed   referrers ", filters=filters(referrer="1"), actor=owner)
    assert saved.name == "Lapsed referrers" and saved.filters == {"referrer": True} and saved.created_by == owner
    entry = AuditLog.objects.get(business=in_scope, action="segment.created")
    assert entry.subject_id == saved.pk and entry.actor == owner


@pytest.mark.parametrize(
    "name,values,field,message",
    [
        ("", {"referrer": "1"}, "name", "Give the segment a name"),
        ("x" * 101, {"referrer": "1"}, "name", "100 characters"),
        ("Everyone", {}, "filters", "Choose at least one filter"),
        ("Odd", {"visits_more_than": "abc"}, "filters", "Fix the filters"),
    ],
)
def test_create_refuses_with_a_reason(in_scope, name, values, field, message):
    with pytest.raises(ValidationError) as refused:
        segment_create(business=in_scope, name=name, filters=filters(**values))
    assert message in " ".join(refused.value.message_dict[field])
    assert not Segment.objects.filter(business=in_scope).exists()


def test_a_name_in_use_is_refused_case_insensitively(in_scope):
    segment_create(business=in_scope, name="VIPs", filters=filters(referrer="1"))
    with pytest.raises(ValidationError, match="A segment called “vips” already exists"):
        segment_create(business=in_scope, name="vips", filters=filters(q="ann"))


def test_a_twin_saved_at_the_same_moment_is_refused_by_the_constraint(in_scope, monkeypatch):
    segment_create(business=in_scope, name="VIPs", filters=filters(referrer="1"))
    real_filter = Segment.objects.filter

    def precheck_misses(*args, **kwargs):
        qs = real_filter(*args, **kwargs)
        return qs.none() if "name__iexact" in kwargs else qs

    monkeypatch.setattr(Segment.objects, "filter", precheck_misses)
    with pytest.raises(ValidationError, match="already exists"):
        segment_create(business=in_scope, name="vips", filters=filters(q="ann"))
    monkeypatch.undo()
    assert Segment.objects.filter(business=in_scope).count() == 1


def test_delete_removes_it_once_and_audits(in_scope, owner):
    saved = segment_create(business=in_scope, name="VIPs", filters=filters(referrer="1"))
    assert segment_delete(business=in_scope, segment=saved, actor=owner) is True
    assert segment_delete(business=in_scope, segment=saved, actor=owner) is False
    assert not Segment.objects.filter(business=in_scope).exists()
    entry = AuditLog.objects.get(business=in_scope, action="segment.deleted")
    assert entry.payload == {"name": "VIPs"} and entry.subject_id == saved.pk


def test_the_views_call_the_services(owner_client, business, in_scope, monkeypatch):
    calls = []
    for name in ("segment_create", "segment_delete"):
        real = getattr(services, name)

        def recorded(_real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(**kwargs)

        monkeypatch.setattr(f"clients.views.{name}", recorded)
    owner_client.post(reverse("clients:segment_save", args=[business.slug]), {"name": "VIPs", "referrer": "1"})
    saved = Segment.objects.get(business=in_scope)
    owner_client.post(reverse("clients:segment_delete", args=[business.slug, saved.pk]))
    assert calls == ["segment_create", "segment_delete"]
    assert not Segment.objects.filter(business=in_scope).exists()
