"""Demo rewards: milestones for the studio's best referrers, a loyalty points program, a prepaid package on file
and a goodwill credit, so the client pages and the Rewards section show every kind. Idempotent.

Runs before the referral demo, so the referrals it confirms reach the milestones through the real services.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from django_scopes import scope

from businesses.models import Service
from clients.models import Client

from .credits import service_credit_issue
from .ledger import store_credit_grant
from .milestones import MilestoneData, milestone_create
from .models import Milestone, MilestoneRewardKind, PointsProgram, ServiceCreditSource


def seed(context) -> None:
    business = context.business
    with scope(business=business):
        if Milestone.objects.filter(business=business).exists():
            return
        services = {s.name: s for s in Service.objects.filter(business=business, is_active=True)}
        intro = next((s for s in services.values() if s.new_clients_only), None) or next(iter(services.values()))
        massage = next(s for name, s in services.items() if name.startswith("Swedish"))
        for data in (
            MilestoneData(threshold=2, reward_kind=MilestoneRewardKind.SERVICE_CREDIT, service=intro),
            MilestoneData(threshold=5, reward_kind=MilestoneRewardKind.STORE_CREDIT, amount=20_00),
            MilestoneData(threshold=10, reward_kind=MilestoneRewardKind.COUPON_PERCENT, percent=Decimal(25)),
        ):
            milestone_create(business=business, data=data, actor=context.owner)
        PointsProgram.objects.update_or_create(
            business=business,
            defaults={
                "enabled": True,
                "points_per_unit": Decimal(1),
                "point_value": 5,
                "referrer_points_per_unit": Decimal("0.25"),
                "referrer_months": 6,
                "expiry_days": 365,
            },
        )
        regulars = list(Client.objects.filter(business=business, is_test=False).order_by("pk")[:6])
        if len(regulars) >= 6:
            service_credit_issue(
                business=business,
                client=regulars[4],
                service=massage,
                quantity=3,
                source=ServiceCreditSource.MANUAL,
                reason="Prepaid 3-massage package",
                actor=context.staff,
            )
            store_credit_grant(
                business=business,
                client=regulars[5],
                amount=15_00,
                reason="Goodwill: appointment moved at short notice",
                actor=context.owner,
                expires_at=timezone.now() + timedelta(days=180),
            )
