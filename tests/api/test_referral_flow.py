"""The whole referral flow through the API only: program, referrer, referred booking, confirmation, reward, coupon."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


def when(days=3) -> str:
    return (timezone.now() + timedelta(days=days)).replace(microsecond=0).isoformat()


def test_the_referral_flow_through_the_api(api, world):
    service = world["service"]  # £60.00
    rule = api.post(
        "/api/v1/program/rules/",
        {
            "services": [service.pk],
            "referee_kind": "percent",
            "referee_value": "20",
            "reward_kind": "coupon_fixed",
            "reward_value": "10.00",
        },
    )
    assert rule.status_code == 201, rule.content
    assert rule.json()["reward_value"] == "10.00" and rule.json()["position"] == 0
    program = api.patch("/api/v1/program/", {"enabled": True, "reward_moment": "confirmed"})
    assert program.status_code == 200, program.content
    assert program.json()["enabled"] is True and len(program.json()["rules"]) == 1

    referrer = api.post("/api/v1/clients/", {"first_name": "Rita", "last_name": "Referrer", "email": "rita@ex.com"})
    assert referrer.status_code == 201
    referrer = referrer.json()
    assert len(referrer["referral_code"]) == 8
    assert referrer["referral_url"].endswith(f"/r/{referrer['referral_code']}")

    booking = api.post(
        "/api/v1/bookings/",
        {
            "client": {"first_name": "Nina", "last_name": "New", "email": "nina@example.com"},
            "service_id": service.pk,
            "starts_at": when(),
            "referral_code": referrer["referral_code"].lower(),
        },
    )
    assert booking.status_code == 201, booking.content
    booking = booking.json()
    assert (booking["list_price"], booking["discount_total"], booking["total"]) == (6000, 1200, 4800)
    assert [d["kind"] for d in booking["discounts"]] == ["referral"]
    assert sum(p["amount"] for p in booking["payments"]) == 4800
    assert booking["referral"]["status"] == "pending" and booking["referral"]["referrer"] == referrer["id"]
    assert booking["channel"] == "api"

    confirmed = api.post(f"/api/v1/bookings/{booking['id']}/confirm/")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["referral"]["status"] == "confirmed"

    referrals = api.get("/api/v1/referrals/", {"referrer": referrer["id"], "status": "confirmed"}).json()["results"]
    assert len(referrals) == 1
    (reward,) = referrals[0]["rewards"]
    assert reward["kind"] == "coupon" and reward["status"] == "issued"

    coupons = api.get("/api/v1/coupons/", {"client": referrer["id"]}).json()["results"]
    assert [c["code"] for c in coupons] == [reward["coupon_code"]]
    assert coupons[0]["amount"] == 1000 and coupons[0]["status"] == "active"

    # Confirming again changes nothing: one reward.
    api.post(f"/api/v1/bookings/{booking['id']}/confirm/")
    assert len(api.get("/api/v1/coupons/", {"client": referrer["id"]}).json()["results"]) == 1

    # The referrer books and uses the coupon.
    own = api.post(
        "/api/v1/bookings/", {"client_id": referrer["id"], "service_id": service.pk, "starts_at": when(5)}
    ).json()
    check = api.post("/api/v1/coupons/validate/", {"code": reward["coupon_code"], "booking_id": own["id"]}).json()
    assert check["valid"] is True and check["discount"] == 1000 and check["refusal"] is None
    friend_check = api.post(
        "/api/v1/coupons/validate/", {"code": reward["coupon_code"], "booking_id": booking["id"]}
    ).json()
    assert friend_check["valid"] is False and friend_check["coupon"] is None
    redeemed = api.post("/api/v1/coupons/redeem/", {"code": reward["coupon_code"], "booking_id": own["id"]})
    assert redeemed.status_code == 200 and redeemed.json()["total"] == 5000
    again = api.post("/api/v1/coupons/redeem/", {"code": reward["coupon_code"], "booking_id": own["id"]})
    assert again.status_code == 400 and "coupon_code" in again.json()["error"]["fields"]
    assert api.get("/api/v1/coupons/", {"client": referrer["id"]}).json()["results"][0]["status"] == "redeemed"

    board = api.get("/api/v1/leaderboard/", {"period": "all"}).json()
    assert [(row["client"], row["successful_referrals"]) for row in board["rows"]] == [(referrer["id"], 1)]
    stats = api.get("/api/v1/statistics/").json()
    assert stats["confirmed"] == 1 and stats["by_status"]["confirmed"] == 1 and stats["rewards_issued"] == 1


def test_a_referrer_linked_by_hand_gives_the_first_booking_its_discount(api, world):
    service = world["service"]
    api.post(
        "/api/v1/program/rules/",
        {"services": [service.pk], "referee_kind": "fixed", "referee_value": "5.00", "reward_kind": "none"},
    )
    api.patch("/api/v1/program/", {"enabled": True})
    friend = api.post("/api/v1/clients/", {"first_name": "Fred"}).json()
    link = api.post("/api/v1/referrals/", {"referee_id": friend["id"], "referrer_id": world["client"].pk})
    assert link.status_code == 201 and link.json()["source"] == "staff" and link.json()["status"] == "pending"
    booking = api.post(
        "/api/v1/bookings/", {"client_id": friend["id"], "service_id": service.pk, "starts_at": when()}
    ).json()
    assert booking["discount_total"] == 500 and booking["referral"]["id"] == link.json()["id"]


def test_store_credit_and_points_through_the_api(api, business, world):
    from django_scopes import scope

    from rewards.models import PointsProgram

    with scope(business=business):
        PointsProgram.objects.create(business=business, enabled=True, point_value=10)
    client_id, booking_id = world["client"].pk, world["booking"].pk
    grant = api.post(f"/api/v1/clients/{client_id}/store-credit/", {"amount": 1500, "reason": "Sorry"})
    assert grant.status_code == 201 and grant.json()["amount"] == 1500
    points = api.post(f"/api/v1/clients/{client_id}/points/", {"points": 50, "reason": "Welcome"})
    assert points.status_code == 201
    wallet = api.get(f"/api/v1/clients/{client_id}/wallet/").json()
    assert (wallet["store_credit"], wallet["points"], wallet["points_value"]) == (1500, 50, 500)
    applied = api.post(f"/api/v1/bookings/{booking_id}/store-credit/", {"amount": 1000})
    assert applied.status_code == 200 and applied.json()["total"] == 5000
    applied = api.post(f"/api/v1/bookings/{booking_id}/points/", {"points": 20})
    assert applied.status_code == 200 and applied.json()["total"] == 4800
    too_much = api.post(f"/api/v1/bookings/{booking_id}/store-credit/", {"amount": 900})
    assert too_much.status_code == 400
    ledger = api.get(f"/api/v1/clients/{client_id}/store-credit/").json()["results"]
    assert [(e["kind"], e["amount"]) for e in ledger] == [("apply", -1000), ("grant", 1500)]
    assert [e["kind"] for e in api.get(f"/api/v1/clients/{client_id}/points/").json()["results"]] == ["redeem", "earn"]
