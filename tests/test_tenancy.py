from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.utils import timezone
from django_scopes import ScopeError, scope

from businesses.models import AuditLog, Invitation, Membership
from referrals_saas.tenancy import TenantMiddleware

TENANT_MODELS = [Membership, Invitation, AuditLog]


@pytest.mark.django_db
@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize(
    "query",
    [
        lambda m: list(m.objects.all()),
        lambda m: m.objects.count(),
        lambda m: m.objects.exists(),
        lambda m: m.objects.first(),
        lambda m: list(m.objects.exclude(pk=0)),
        lambda m: m.objects.in_bulk([1]),
    ],
    ids=["list", "count", "exists", "first", "exclude", "in_bulk"],
)
def test_query_on_tenant_model_outside_a_scope_raises(model, query):
    with pytest.raises(ScopeError):
        query(model)


@pytest.mark.django_db
def test_every_tenant_owned_model_is_scoped():
    """Any model with a `business` foreign key must use a ScopedManager; later apps are covered automatically."""
    from django.apps import apps

    unscoped = []
    for model in apps.get_models():
        field_names = {f.name for f in model._meta.get_fields()}
        if "business" in field_names and model._meta.get_field("business").is_relation:
            with pytest.raises(ScopeError):
                model.objects.exists()
            if model._meta.get_field("business").null:
                unscoped.append(f"{model._meta.label}: business must not be nullable")
    assert not unscoped, unscoped


@pytest.mark.django_db
def test_a_scope_sees_only_its_own_business(business, other_business, owner, outsider):
    with scope(business=business):
        assert {m.user for m in Membership.objects.filter(business=business)} == {owner}


def test_middleware_runs_the_view_inside_the_business_scope_and_time_zone(rf, owner, business, outsider):
    seen = {}

    def view(request):
        seen["time_zone"] = timezone.get_current_timezone_name()
        seen["members"] = {m.user for m in Membership.objects.all()}  # raises if no scope is active
        seen["business"] = request.business
        return HttpResponse()

    request = rf.get(f"/b/{business.slug}/")
    request.user = owner
    request.session = {}
    TenantMiddleware(view)(request)
    assert seen == {"time_zone": business.time_zone, "members": {owner}, "business": business}
