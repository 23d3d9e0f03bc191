"""Every endpoint as four callers: the owner's read-write key, a read-only key (writes 403), another business's
key (404 on this business's ids) and no key (401)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope

from referrals.program import RuleData, rule_create
from rewards.models import PointsProgram
from rewards.services import CouponSpec, coupon_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def ids(business, owner, world):
    with scope(business=business):
        rule = rule_create(
            business=business,
            data=RuleData(
                service_ids=(world["service"].pk,), referee_value=10, reward_kind="coupon_fixed", reward_value=5
            ),
        )
        coupon = coupon_issue(
            business=business, client=world["client"], spec=CouponSpec(kind="fixed", amount=500), valid_days=30
        )
        PointsProgram.objects.create(business=business, enabled=True, point_value=1)
    starts = (timezone.now() + timedelta(days=4)).isoformat()
    return {
        "client": world["client"].pk,
        "service": world["service"].pk,
        "booking": world["booking"].pk,
        "rule": rule.pk,
        "coupon": coupon.pk,
        "coupon_code": coupon.code,
        "starts": starts,
    }


# (method, path, body, owner's status); {name} are filled from `ids`. `own` marks paths naming this business's ids.
READS = [
    ("get", "/api/v1/clients/", None, 200),
    ("get", "/api/v1/clients/{client}/", None, 200),
    ("get", "/api/v1/services/", None, 200),
    ("get", "/api/v1/services/{service}/", None, 200),
    ("get", "/api/v1/bookings/", None, 200),
    ("get", "/api/v1/bookings/{booking}/", None, 200),
    ("get", "/api/v1/referrals/", None, 200),
    ("get", "/api/v1/program/", None, 200),
    ("get", "/api/v1/program/rules/", None, 200),
    ("get", "/api/v1/program/rules/{rule}/", None, 200),
    ("get", "/api/v1/coupons/", None, 200),
    ("get", "/api/v1/coupons/{coupon}/", None, 200),
    ("get", "/api/v1/clients/{client}/wallet/", None, 200),
    ("get", "/api/v1/clients/{client}/store-credit/", None, 200),
    ("get", "/api/v1/clients/{client}/points/", None, 200),
    ("get", "/api/v1/leaderboard/", None, 200),
    ("get", "/api/v1/statistics/", None, 200),
]
WRITES = [
    ("post", "/api/v1/clients/", {"first_name": "New"}, 201),
    ("patch", "/api/v1/clients/{client}/", {"last_name": "Byron"}, 200),
    ("put", "/api/v1/clients/{client}/", {"first_name": "Ada", "last_name": "King"}, 200),
    (
        "post",
        "/api/v1/bookings/",
        {"client_id": "{client}", "service_id": "{service}", "starts_at": "{starts}"},
        201,
    ),
    ("post", "/api/v1/bookings/{booking}/confirm/", None, 200),
    ("post", "/api/v1/referrals/", {"referee_id": "{client}", "referrer_id": "{client}"}, 400),
    ("patch", "/api/v1/program/", {"attribution_window_days": 45}, 200),
    (
        "put",
        "/api/v1/program/",
        {
            "enabled": True,
            "recipients": "both",
            "reward_valid_days": 60,
            "max_rewards_per_referrer": 0,
            "attribution_window_days": 30,
            "combination_mode": "stack",
            "reward_moment": "confirmed",
            "booking_url": "",
            "flag_auto_approve_days": None,
            "burst_limit": 5,
        },
        200,
    ),
    ("post", "/api/v1/program/rules/", {"services": ["{service}"], "referee_value": "15", "reward_value": "5"}, 201),
    ("patch", "/api/v1/program/rules/{rule}/", {"referee_value": "12.5"}, 200),
    ("post", "/api/v1/program/rules/{rule}/move/", {"direction": "down"}, 200),
    ("post", "/api/v1/coupons/validate/", {"code": "{coupon_code}", "booking_id": "{booking}"}, 200),
    ("post", "/api/v1/coupons/redeem/", {"code": "{coupon_code}", "booking_id": "{booking}"}, 200),
    ("post", "/api/v1/clients/{client}/store-credit/", {"amount": 100, "reason": "Gift"}, 201),
    ("post", "/api/v1/clients/{client}/points/", {"points": 10, "reason": "Gift"}, 201),
    ("post", "/api/v1/bookings/{booking}/store-credit/", {"amount": 100}, 400),  # no credit yet
    ("post", "/api/v1/bookings/{booking}/points/", {"points": 10}, 400),  # no points yet
    ("post", "/api/v1/bookings/{booking}/complete/", None, 400),  # a requested booking is confirmed first
    ("post", "/api/v1/bookings/{booking}/cancel/", {"note": "Ill"}, 200),
    ("delete", "/api/v1/program/rules/{rule}/", None, 204),
]
ALL = READS + WRITES


def fill(value, ids):
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


def call(api, method, path, body, ids):
    url = path.format(**ids)
    if method in ("get", "delete"):
        return getattr(api, method)(url)
    return getattr(api, method)(url, fill(body, ids))


@pytest.mark.parametrize("method,path,body,expected", ALL, ids=[f"{m} {p}" for m, p, _, _ in ALL])
def test_owner_key(api, ids, method, path, body, expected):
    response = call(api, method, path, body, ids)
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("method,path,body,expected", ALL, ids=[f"{m} {p}" for m, p, _, _ in ALL])
def test_read_only_key(read_api, ids, method, path, body, expected):
    response = call(read_api, method, path, body, ids)
    assert response.status_code == (200 if method == "get" else 403), response.content


@pytest.mark.parametrize("method,path,body,expected", ALL, ids=[f"{m} {p}" for m, p, _, _ in ALL])
def test_no_key(anonymous_api, ids, method, path, body, expected):
    response = call(anonymous_api, method, path, body, ids)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def _names_ids(path: str, body) -> bool:
    values = (body or {}).values()
    return "{" in path or any(isinstance(v, str) and v.startswith("{") and v != "{starts}" for v in values)


NAMING_IDS = [(m, p, b, e) for m, p, b, e in ALL if _names_ids(p, b)]


@pytest.mark.parametrize("method,path,body,expected", NAMING_IDS, ids=[f"{m} {p}" for m, p, _, _ in NAMING_IDS])
def test_another_business_gets_404_for_these_ids(other_api, ids, method, path, body, expected):
    response = call(other_api, method, path, body, ids)
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"


def test_another_business_cannot_book_with_these_ids(other_api, ids):
    body = {"client_id": ids["client"], "service_id": ids["service"], "starts_at": ids["starts"]}
    assert other_api.post("/api/v1/bookings/", body).status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/api/v1/clients/", "/api/v1/bookings/", "/api/v1/referrals/", "/api/v1/coupons/", "/api/v1/program/rules/"],
)
def test_another_business_lists_none_of_these(other_api, ids, path):
    body = other_api.get(path).json()
    rows = body["results"] if isinstance(body, dict) else body
    assert rows == []


def test_another_business_cannot_put_these_services_in_its_rules(other_api, ids):
    body = {"services": [ids["service"]], "referee_value": "15", "reward_value": "5"}
    response = other_api.post("/api/v1/program/rules/", body)
    assert response.status_code == 400 and "services" in response.json()["error"]["fields"]
    assert other_api.get("/api/v1/program/rules/").json() == []
