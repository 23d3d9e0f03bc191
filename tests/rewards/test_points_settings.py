"""The owner's loyalty points settings page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from rewards.models import PointsProgram

pytestmark = pytest.mark.django_db


def url(business):
    return reverse("rewards:points", args=[business.slug])


def form(**fields):
    data = {"enabled": "on", "points_per_unit": "1", "point_value": "0.05", "referrer_points_per_unit": "0.25"}
    data.update(fields)
    return data


def test_the_owner_switches_points_on_with_the_referrers_share(owner_client, business, in_scope):
    assert owner_client.get(url(business)).status_code == 200
    response = owner_client.post(url(business), form(referrer_months="6", expiry_days="365"))
    assert response.status_code == 302
    program = PointsProgram.objects.get(business=business)
    assert program.enabled and program.point_value == 5
    assert (program.referrer_points_per_unit, program.referrer_months, program.expiry_days) == (Decimal("0.25"), 6, 365)
    assert owner_client.get(url(business)).context["form"].initial["point_value"] == Decimal("0.05")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"points_per_unit": "-1"}, "points_per_unit"),
        ({"points_per_unit": "99999999"}, "points_per_unit"),
        ({"point_value": "0.001"}, "point_value"),
        ({"point_value": "5000"}, "point_value"),
        ({"referrer_months": "0"}, "referrer_months"),
        ({"expiry_days": "99999"}, "expiry_days"),
        ({"points_per_unit": "0", "referrer_points_per_unit": "0"}, "points_per_unit"),
        ({"points_per_unit": "abc"}, "points_per_unit"),
    ],
)
def test_bad_values_answer_field_errors_and_save_nothing(owner_client, business, in_scope, fields, field):
    response = owner_client.post(url(business), form(**fields))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not PointsProgram.objects.filter(business=business).exists()


def test_staff_cannot_change_the_settings(staff_client, business):
    assert staff_client.post(url(business), form()).status_code == 403
