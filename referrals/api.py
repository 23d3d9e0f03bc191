"""REST API for referrals (list, filter, link a referrer by hand), the program and its ordered rules, the
leaderboard and the program's statistics."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from bookings.selectors import day_end, day_start
from businesses.money import from_minor
from clients.models import Client
from referrals_saas.api.base import (
    BusinessAPIView,
    BusinessViewSet,
    id_field,
    owned,
    query_choice,
    query_day,
    query_id,
)
from rewards.models import Reward, RewardStatus

from . import program as program_services
from .models import (
    WHOLE_NUMBER_KINDS,
    ClickCount,
    Referral,
    ReferralProgram,
    ReferralRule,
    ReferralStatus,
    RewardKindChoice,
    RewardMoment,
)
from .program import MOVES, ProgramData, RuleData, rule_summary
from .rules import AmountKind, CombinationMode, Recipients
from .selectors import DEFAULT_PERIOD, LEADERBOARD_SIZE, PERIODS, leaderboard, period_for
from .services import referral_link_by_staff

# ------------------------------------------------------------------------------------------------ referrals


class ReferralRewardSerializer(serializers.ModelSerializer):
    coupon_code = serializers.CharField(source="coupon.code", default=None, allow_null=True, read_only=True)

    class Meta:
        model = Reward
        fields = ["id", "kind", "description", "status", "coupon_code", "created_at"]
        read_only_fields = fields


class ReferralSerializer(serializers.ModelSerializer):
    referrer = serializers.IntegerField(source="referrer_id", read_only=True)
    referee = serializers.IntegerField(source="referee_id", read_only=True)
    booking = serializers.IntegerField(source="booking_id", allow_null=True, read_only=True)
    code = serializers.CharField(source="code.code", default=None, allow_null=True, read_only=True)
    rewards = ReferralRewardSerializer(many=True, read_only=True)

    class Meta:
        model = Referral
        fields = [
            "id",
            "referrer",
            "referee",
            "booking",
            "code",
            "source",
            "status",
            "reason",
            "referee_discount",
            "reward_kind",
            "rewards",
            "clicked_at",
            "confirmed_at",
            "closed_at",
            "created_at",
        ]
        read_only_fields = fields


class ReferralLinkSerializer(serializers.Serializer):
    referee_id = id_field(help_text="The client who was referred (before their first booking, to earn anything).")
    referrer_id = id_field(help_text="The client who referred them.")


REFERRAL_FILTERS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=ReferralStatus.values),
    OpenApiParameter("referrer", OpenApiTypes.INT, description="Referrals made by this client id."),
    OpenApiParameter("referee", OpenApiTypes.INT, description="Referrals of this client id."),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="Created on or after this day (business time)."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Created on or before this day (business time)."),
]


@extend_schema_view(
    list=extend_schema(summary="List referrals", parameters=REFERRAL_FILTERS),
    retrieve=extend_schema(summary="A referral, with the rewards it earned"),
    create=extend_schema(
        summary="Link a referrer to a client by hand",
        description="Before the client's first booking this is a pending referral that the booking picks up (with "
        "the referral discount); after it, the link is kept for the record but earns nothing.",
        request=ReferralLinkSerializer,
        responses={201: ReferralSerializer},
    ),
)
class ReferralViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BusinessViewSet):
    serializer_class = ReferralSerializer

    def get_queryset(self):
        referrals = Referral.objects.filter(business=self.request.business, is_test=False)
        if self.action == "list":
            status_ = query_choice(self.request, "status", ReferralStatus.values)
            if status_:
                referrals = referrals.filter(status=status_)
            for name in ("referrer", "referee"):
                client_id = query_id(self.request, name)
                if client_id:
                    referrals = referrals.filter(**{f"{name}_id": client_id})
            date_from, date_to = query_day(self.request, "date_from"), query_day(self.request, "date_to")
            if date_from:
                referrals = referrals.filter(created_at__gte=day_start(date_from))
            if date_to:
                referrals = referrals.filter(created_at__lt=day_end(date_to))
        return referrals.select_related("code").prefetch_related("rewards__coupon")

    def create(self, request):
        data = ReferralLinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        business = request.business
        referee = owned(Client, business, data.validated_data["referee_id"], "client")
        referrer = owned(Client, business, data.validated_data["referrer_id"], "client")
        referral = referral_link_by_staff(business=business, referee=referee, referrer=referrer)
        return Response(self.get_serializer(self.get_queryset().get(pk=referral.pk)).data, status.HTTP_201_CREATED)


# ------------------------------------------------------------------------------------------------ the program


def _rule_value(kind_is_percent: bool, whole: bool, percent, amount, currency: str):
    if kind_is_percent:
        return percent
    if amount is None:
        return None
    return Decimal(amount) if whole else from_minor(amount, currency)


VALUE_HELP = (
    "As typed in the dashboard: a percentage for a percent kind (15 = 15%), an amount in the currency for an "
    "amount kind (20.00), a whole number for points or service-credit sessions."
)


class RuleSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    position = serializers.IntegerField(read_only=True, help_text="0 is checked first; the first match wins.")
    name = serializers.CharField(max_length=100, allow_blank=True, required=False, default="")
    services = serializers.ListField(child=id_field(), max_length=500, help_text="Ids of the services it covers.")
    referee_kind = serializers.ChoiceField(choices=[k.value for k in AmountKind], default=AmountKind.PERCENT)
    referee_value = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True, required=False, help_text=VALUE_HELP
    )
    reward_kind = serializers.ChoiceField(choices=RewardKindChoice.values, default=RewardKindChoice.COUPON_PERCENT)
    reward_value = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True, required=False, help_text=VALUE_HELP
    )
    reward_service = id_field(allow_null=True, required=False, help_text="For a service credit: the service.")
    fast_days = serializers.IntegerField(allow_null=True, required=False, min_value=0, max_value=100_000)
    slow_reward_value = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True, required=False, help_text="The reward after fast_days."
    )
    summary = serializers.CharField(read_only=True)

    def to_representation(self, rule: ReferralRule):
        currency = self.context["currency"]
        referee_percent = rule.referee_kind == AmountKind.PERCENT
        reward_percent = rule.reward_kind == RewardKindChoice.COUPON_PERCENT
        whole = rule.reward_kind in WHOLE_NUMBER_KINDS
        no_reward = rule.reward_kind == RewardKindChoice.NONE
        slow = rule.slow_reward_percent if reward_percent else rule.slow_reward_amount
        return {
            "id": rule.pk,
            "position": rule.position,
            "name": rule.name,
            "services": sorted(s.pk for s in rule.services.all()),
            "referee_kind": rule.referee_kind,
            "referee_value": None
            if rule.referee_kind == AmountKind.NONE
            else str(_rule_value(referee_percent, False, rule.referee_percent, rule.referee_amount, currency)),
            "reward_kind": rule.reward_kind,
            "reward_value": None
            if no_reward
            else str(_rule_value(reward_percent, whole, rule.reward_percent, rule.reward_amount, currency)),
            "reward_service": rule.reward_service_id,
            "fast_days": rule.fast_days,
            "slow_reward_value": None
            if slow is None
            else str(_rule_value(reward_percent, whole, slow if reward_percent else None, slow, currency)),
            "summary": rule_summary(rule, currency),
        }


def rule_data(values: dict) -> RuleData:
    return RuleData(
        service_ids=tuple(values["services"]),
        referee_kind=values["referee_kind"],
        referee_value=values.get("referee_value"),
        reward_kind=values["reward_kind"],
        reward_value=values.get("reward_value"),
        fast_days=values.get("fast_days"),
        slow_reward_value=values.get("slow_reward_value"),
        name=values.get("name", ""),
        reward_service_id=values.get("reward_service"),
    )


class ProgramSerializer(serializers.ModelSerializer):
    rules = serializers.SerializerMethodField()
    booking_url = serializers.CharField(read_only=True, help_text="Where links send friends; empty: the hosted page.")

    class Meta:
        model = ReferralProgram
        fields = [
            "enabled",
            "recipients",
            "reward_valid_days",
            "max_rewards_per_referrer",
            "attribution_window_days",
            "combination_mode",
            "reward_moment",
            "booking_url",
            "flag_auto_approve_days",
            "burst_limit",
            "rules",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(RuleSerializer(many=True))
    def get_rules(self, program) -> list[dict]:
        rules = ReferralRule.objects.filter(business=program.business_id).prefetch_related("services")
        return RuleSerializer(rules.order_by("position", "id"), many=True, context=self.context).data


class ProgramInputSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="Switching on needs at least one rule.")
    recipients = serializers.ChoiceField(choices=[r.value for r in Recipients])
    reward_valid_days = serializers.IntegerField(allow_null=True, min_value=0, max_value=1_000_000)
    max_rewards_per_referrer = serializers.IntegerField(min_value=0, max_value=1_000_000)
    attribution_window_days = serializers.IntegerField(min_value=0, max_value=1_000_000)
    combination_mode = serializers.ChoiceField(choices=[c.value for c in CombinationMode])
    reward_moment = serializers.ChoiceField(choices=RewardMoment.values)
    booking_url = serializers.CharField(max_length=500, allow_blank=True)
    flag_auto_approve_days = serializers.IntegerField(allow_null=True, min_value=0, max_value=1_000_000)
    burst_limit = serializers.IntegerField(min_value=0, max_value=1_000_000)


PROGRAM_FIELDS = [name for name in ProgramInputSerializer().fields if name != "enabled"]


class ProgramView(BusinessAPIView):
    """The business's referral program: its settings and its ordered rules."""

    def _answer(self):
        program = program_services.program_get(business=self.request.business)
        context = {"currency": self.request.business.currency}
        return Response(ProgramSerializer(program, context=context).data)

    @extend_schema(summary="The referral program and its rules", responses=ProgramSerializer)
    def get(self, request):
        return self._answer()

    def _save(self, request, partial: bool):
        data = ProgramInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        business = request.business
        current = program_services.program_get(business=business)
        settings = {name: values.get(name, getattr(current, name)) for name in PROGRAM_FIELDS}
        # One transaction: settings refused by the switch (no rules yet) are not half-saved.
        with transaction.atomic():
            program_services.program_update(business=business, data=ProgramData(**settings))
            if "enabled" in values:
                program_services.program_set_enabled(business=business, enabled=values["enabled"])
        return self._answer()

    @extend_schema(
        summary="Replace the program's settings", request=ProgramInputSerializer, responses=ProgramSerializer
    )
    def put(self, request):
        return self._save(request, partial=False)

    @extend_schema(summary="Change the program's settings", request=ProgramInputSerializer, responses=ProgramSerializer)
    def patch(self, request):
        return self._save(request, partial=True)


class RuleMoveSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=list(MOVES))


@extend_schema_view(
    list=extend_schema(summary="The program's rules, in order (the first rule covering a service wins)"),
    retrieve=extend_schema(summary="A rule"),
    create=extend_schema(summary="Add a rule at the end", responses={201: RuleSerializer}),
    update=extend_schema(summary="Replace a rule"),
    partial_update=extend_schema(summary="Change a rule"),
    destroy=extend_schema(summary="Delete a rule (deleting the last one switches the program off)"),
    move=extend_schema(summary="Move a rule up or down", request=RuleMoveSerializer, responses=RuleSerializer),
)
class RuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BusinessViewSet):
    serializer_class = RuleSerializer
    pagination_class = None  # a program has a handful of rules, always read whole and in order

    def get_queryset(self):
        return (
            ReferralRule.objects.filter(business=self.request.business)
            .prefetch_related("services")
            .order_by("position", "id")
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "currency": self.request.business.currency}

    def _answer(self, rule, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=rule.pk)).data, status=code)

    def create(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = program_services.rule_create(business=request.business, data=rule_data(data.validated_data))
        return self._answer(rule, status.HTTP_201_CREATED)

    def update(self, request, *args, partial: bool = False, **kwargs):
        rule = self.get_object()
        data = self.get_serializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        current = self.get_serializer(rule).data
        values = {**{k: v for k, v in current.items() if k not in ("id", "position", "summary")}}
        values.update(data.validated_data)
        rule = program_services.rule_update(business=request.business, rule=rule, data=rule_data(values))
        return self._answer(rule)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        program_services.rule_delete(business=request.business, rule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        data = RuleMoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = program_services.rule_move(
            business=request.business, rule=self.get_object(), direction=data.validated_data["direction"]
        )
        return self._answer(rule)


# ------------------------------------------------------------------------------------------------ figures


class LeaderRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    client = serializers.IntegerField(source="client.pk")
    first_name = serializers.CharField(source="client.first_name")
    last_name = serializers.CharField(source="client.last_name")
    successful_referrals = serializers.IntegerField()
    revenue = serializers.IntegerField(help_text="Minor units: confirmed bookings of the clients they referred.")
    rewards_earned = serializers.IntegerField()
    last_referral_at = serializers.DateTimeField(allow_null=True)


class PeriodSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)


class LeaderboardSerializer(serializers.Serializer):
    period = PeriodSerializer()
    currency = serializers.CharField()
    rows = LeaderRowSerializer(many=True)


def _period(request):
    key = query_choice(request, "period", list(PERIODS)) or DEFAULT_PERIOD
    date_from, date_to = query_day(request, "date_from"), query_day(request, "date_to")
    if key == "custom" and not (date_from and date_to and date_from <= date_to):
        raise serializers.ValidationError({"date_from": ["A custom period needs date_from up to date_to."]})
    return period_for(key, timezone.localdate(), date_from, date_to)


class LeaderboardView(BusinessAPIView):
    @extend_schema(
        summary="The top referrers of a period",
        parameters=[
            OpenApiParameter("period", OpenApiTypes.STR, enum=list(PERIODS), description="Default 30d."),
            OpenApiParameter("date_from", OpenApiTypes.DATE, description="For period=custom."),
            OpenApiParameter("date_to", OpenApiTypes.DATE, description="For period=custom."),
        ],
        responses=LeaderboardSerializer,
    )
    def get(self, request):
        board = leaderboard(business=request.business, period=_period(request), limit=LEADERBOARD_SIZE)
        data = {"period": asdict(board.period), "currency": request.business.currency, "rows": board.rows}
        return Response(LeaderboardSerializer(data).data)


class StatisticsSerializer(serializers.Serializer):
    date_from = serializers.DateField(allow_null=True)
    date_to = serializers.DateField(allow_null=True)
    referrals = serializers.IntegerField(help_text="Referrals created in the period.")
    by_status = serializers.DictField(child=serializers.IntegerField(), help_text="Those referrals by status.")
    clicks = serializers.IntegerField(help_text="Clicks on referral links in the period (flushed every minute).")
    confirmed = serializers.IntegerField()
    conversion_rate = serializers.FloatField(
        allow_null=True, help_text="Confirmed referrals per click; null without clicks."
    )
    rewards_issued = serializers.IntegerField()


def program_statistics(*, business, date_from, date_to) -> dict:
    """Counts over the (business, status, created_at) and (business, day) indexes: three small queries."""
    referrals = Referral.objects.filter(business=business, is_test=False)
    clicks = ClickCount.objects.filter(business=business)
    rewards = Reward.objects.filter(business=business, is_test=False, status=RewardStatus.ISSUED)
    if date_from:
        referrals = referrals.filter(created_at__gte=day_start(date_from))
        clicks = clicks.filter(day__gte=date_from)
        rewards = rewards.filter(created_at__gte=day_start(date_from))
    if date_to:
        referrals = referrals.filter(created_at__lt=day_end(date_to))
        clicks = clicks.filter(day__lte=date_to)
        rewards = rewards.filter(created_at__lt=day_end(date_to))
    counts = dict(referrals.order_by().values("status").annotate(n=Count("id")).values_list("status", "n"))
    by_status = {value: counts.get(value, 0) for value in ReferralStatus.values}
    click_total = clicks.aggregate(total=Sum("clicks"))["total"] or 0
    confirmed = by_status[ReferralStatus.CONFIRMED]
    return {
        "date_from": date_from,
        "date_to": date_to,
        "referrals": sum(by_status.values()),
        "by_status": by_status,
        "clicks": click_total,
        "confirmed": confirmed,
        "conversion_rate": round(confirmed / click_total, 4) if click_total else None,
        "rewards_issued": rewards.count(),
    }


class StatisticsView(BusinessAPIView):
    @extend_schema(
        summary="Program statistics: referrals by status, clicks, conversion",
        parameters=[
            OpenApiParameter("date_from", OpenApiTypes.DATE, description="From this day (business time)."),
            OpenApiParameter("date_to", OpenApiTypes.DATE, description="Up to this day (business time)."),
        ],
        responses=StatisticsSerializer,
    )
    def get(self, request):
        figures = program_statistics(
            business=request.business,
            date_from=query_day(request, "date_from"),
            date_to=query_day(request, "date_to"),
        )
        return Response(StatisticsSerializer(figures).data)
