"""REST API for the services catalog (read only)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers

from referrals_saas.api.base import BusinessViewSet, query_bool

from .models import Service


class ServiceSerializer(serializers.ModelSerializer):
    currency = serializers.CharField(source="business.currency", read_only=True)

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "description",
            "price",
            "currency",
            "duration_minutes",
            "online_bookable",
            "new_clients_only",
            "is_active",
            "payment_plan",
            "plan_count",
            "plan_interval",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {"price": {"help_text": "In minor units of the currency (cents)."}}


@extend_schema_view(
    list=extend_schema(
        summary="List services",
        parameters=[OpenApiParameter("active", OpenApiTypes.BOOL, description="Only active (or archived) ones.")],
    ),
    retrieve=extend_schema(summary="A service"),
)
class ServiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BusinessViewSet):
    serializer_class = ServiceSerializer

    def get_queryset(self):
        services = Service.objects.filter(business=self.request.business).select_related("business")
        active = query_bool(self.request, "active") if self.action == "list" else None
        if active is not None:
            services = services.filter(is_active=active)
        return services
