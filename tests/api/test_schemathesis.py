"""Schemathesis against the live OpenAPI schema: generated requests to every operation, with a read-write key of
a seeded business, find no 5xx and no response that breaks the schema (errors included)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from django_scopes import scope
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from referrals.program import RuleData, program_set_enabled, rule_create
from rewards.models import PointsProgram
from rewards.services import CouponSpec, coupon_issue

from .conftest import new_key

# Loaded at collection: generating the schema reads no database.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())


@pytest.fixture
def _keep_connection():
    """Requests go through the real WSGI handler, whose request signals would close the test's connection (and its
    transaction) on PostgreSQL; Django's own test client disconnects them the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded_key(business, owner, world, settings, _keep_connection):
    """A business with a program, a rule, a coupon and points, and a read-write key; rate limits out of the way."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_read": "100000/minute", "api_write": "100000/minute"},
    }
    with scope(business=business):
        rule_create(
            business=business,
            data=RuleData(
                service_ids=(world["service"].pk,), referee_value=10, reward_kind="coupon_fixed", reward_value=5
            ),
        )
        program_set_enabled(business=business, enabled=True)
        coupon_issue(
            business=business, client=world["client"], spec=CouponSpec(kind="fixed", amount=500), valid_days=30
        )
        PointsProgram.objects.create(business=business, enabled=True, point_value=1)
        assert world["booking"].starts_at > timezone.now() - timedelta(days=1)
    return new_key(business, "read_write", owner)


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_no_server_error_and_responses_match_the_schema(case, seeded_key):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {seeded_key}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
