"""REST API for bookings: list and filter, retrieve, create (with a referral code, coupon or promotion), and the
status actions confirm, complete and cancel. Creation goes through the referral engine, as the dashboard's does."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from businesses.models import Service
from clients.api import ClientInputSerializer, client_data
from clients.models import Client
from referrals.models import ReferralSource
from referrals.services import ReferralClaim, booking_create_with_referral
from referrals_saas.api.base import BusinessViewSet, id_field, owned, query_choice, query_day, query_id

from . import services
from .models import Booking, BookingDiscount, BookingStatus, Channel, Payment
from .selectors import BookingFilters, booking_list


class DiscountSerializer(serializers.ModelSerializer):
    class Meta:
        model = BookingDiscount
        fields = ["id", "kind", "label", "amount", "code"]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    method = serializers.CharField(read_only=True, help_text="cash, card, other or stripe once paid; empty before.")

    class Meta:
        model = Payment
        fields = ["id", "sequence", "due_on", "amount", "discount", "status", "method", "paid_at"]
        read_only_fields = fields


class BookingReferralSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    reason = serializers.CharField()
    referrer = serializers.IntegerField(source="referrer_id")
    referee_discount = serializers.IntegerField()


class BookingSerializer(serializers.ModelSerializer):
    client = serializers.IntegerField(source="client_id", read_only=True)
    service = serializers.IntegerField(source="service_id", read_only=True)
    discount_total = serializers.IntegerField(read_only=True)
    discounts = DiscountSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)
    referral = serializers.SerializerMethodField()

    class Meta:
        model = Booking
        fields = [
            "id",
            "client",
            "service",
            "starts_at",
            "ends_at",
            "status",
            "currency",
            "list_price",
            "discount_total",
            "total",
            "discounts",
            "payments",
            "referral",
            "is_first_booking",
            "channel",
            "notes",
            "heard_about",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(BookingReferralSerializer(allow_null=True))
    def get_referral(self, booking) -> dict | None:
        referral = getattr(booking, "referral", None)
        return BookingReferralSerializer(referral).data if referral is not None else None


class BookingCreateSerializer(serializers.Serializer):
    client_id = id_field(required=False, help_text="An existing client. Give this or `client`.")
    client = ClientInputSerializer(required=False, help_text="A new client, created with the booking.")
    service_id = id_field()
    starts_at = serializers.DateTimeField()
    status = serializers.ChoiceField(
        choices=[BookingStatus.REQUESTED, BookingStatus.CONFIRMED], default=BookingStatus.REQUESTED
    )
    notes = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")
    heard_about = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    referral_code = serializers.CharField(max_length=40, allow_blank=True, required=False, default="")
    coupon_code = serializers.CharField(max_length=40, allow_blank=True, required=False, default="")
    promotion_code = serializers.CharField(max_length=40, allow_blank=True, required=False, default="")

    def validate(self, attrs):
        if ("client_id" in attrs) == ("client" in attrs):
            raise serializers.ValidationError({"client_id": ["Give either client_id or client, not both."]})
        return attrs


class CancelSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")


CREATE_EXAMPLES = [
    OpenApiExample(
        "A new client with a friend's referral code",
        request_only=True,
        value={
            "client": {"first_name": "Maya", "last_name": "Jones", "email": "maya@example.com"},
            "service_id": 12,
            "starts_at": "2030-05-04T10:00:00+01:00",
            "referral_code": "K7PQ2MZX",
        },
    ),
    OpenApiExample(
        "An existing client with a coupon",
        request_only=True,
        value={"client_id": 42, "service_id": 12, "starts_at": "2030-05-04T10:00:00Z", "coupon_code": "CPN4HX7Q"},
    ),
    OpenApiExample(
        "Created with the referral discount",
        response_only=True,
        status_codes=["201"],
        value={
            "id": 981,
            "client": 77,
            "service": 12,
            "starts_at": "2030-05-04T09:00:00Z",
            "ends_at": "2030-05-04T10:00:00Z",
            "status": "requested",
            "currency": "GBP",
            "list_price": 6000,
            "discount_total": 1200,
            "total": 4800,
            "discounts": [
                {"id": 5, "kind": "referral", "label": "Referred by Ada: 20% off", "amount": 1200, "code": "K7PQ2MZX"}
            ],
            "payments": [
                {
                    "id": 1301,
                    "sequence": 1,
                    "due_on": "2030-05-04",
                    "amount": 4800,
                    "discount": 1200,
                    "status": "due",
                    "method": "",
                    "paid_at": None,
                }
            ],
            "referral": {"id": 310, "status": "pending", "reason": "", "referrer": 42, "referee_discount": 1200},
            "is_first_booking": True,
            "channel": "api",
            "notes": "",
            "heard_about": "",
            "created_at": "2030-04-20T08:12:44Z",
        },
    ),
]

BOOKING_FILTERS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=BookingStatus.values),
    OpenApiParameter("client", OpenApiTypes.INT, description="Bookings of this client id."),
    OpenApiParameter("service", OpenApiTypes.INT, description="Bookings of this service id."),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="Starting on or after this day (business time)."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Starting on or before this day (business time)."),
]


@extend_schema_view(
    list=extend_schema(summary="List bookings", parameters=BOOKING_FILTERS),
    retrieve=extend_schema(summary="A booking, with its discounts and payment schedule"),
    create=extend_schema(
        summary="Create a booking",
        description="With an optional `referral_code` (the friend's discount is applied and the referral recorded), "
        "`coupon_code` and `promotion_code`. Answers the price, the discount rows and the payment schedule.",
        request=BookingCreateSerializer,
        responses={201: BookingSerializer},
        examples=CREATE_EXAMPLES,
    ),
    confirm=extend_schema(summary="Confirm a booking", request=None, responses=BookingSerializer),
    complete=extend_schema(summary="Mark a booking completed", request=None, responses=BookingSerializer),
    cancel=extend_schema(summary="Cancel a booking", request=CancelSerializer, responses=BookingSerializer),
)
class BookingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BusinessViewSet):
    serializer_class = BookingSerializer

    def get_queryset(self):
        business = self.request.business
        if self.action == "list":
            filters = BookingFilters(
                status=query_choice(self.request, "status", BookingStatus.values),
                service_id=query_id(self.request, "service"),
                date_from=query_day(self.request, "date_from"),
                date_to=query_day(self.request, "date_to"),
            )
            bookings = booking_list(business=business, filters=filters)
            client_id = query_id(self.request, "client")
            if client_id:
                bookings = bookings.filter(client_id=client_id)
        else:
            bookings = Booking.objects.filter(business=business, is_test=False)
        return bookings.select_related("referral").prefetch_related("discounts", "payments")

    def _fresh(self, booking_id: int, code=status.HTTP_200_OK) -> Response:
        booking = (
            Booking.objects.filter(business=self.request.business, pk=booking_id)
            .select_related("referral")
            .prefetch_related("discounts", "payments")
            .get()
        )
        return Response(self.get_serializer(booking).data, status=code)

    def create(self, request):
        data = BookingCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        business = request.business
        service = owned(Service, business, values["service_id"], "service")
        if "client_id" in values:
            client = owned(Client, business, values["client_id"], "client")
        else:
            client = client_data(values["client"])
        booking = booking_create_with_referral(
            business=business,
            client=client,
            service=service,
            starts_at=values["starts_at"],
            claim=ReferralClaim(code=values["referral_code"], source=ReferralSource.API),
            coupon_code=values["coupon_code"],
            promotion_code=values["promotion_code"],
            status=values["status"],
            notes=values["notes"],
            heard_about=values["heard_about"].strip(),
            channel=Channel.API,
        )
        return self._fresh(booking.pk, status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        booking = services.booking_confirm(business=request.business, booking=self.get_object())
        return self._fresh(booking.pk)

    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        booking = services.booking_complete(business=request.business, booking=self.get_object())
        return self._fresh(booking.pk)

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = CancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        booking = services.booking_cancel(
            business=request.business, booking=self.get_object(), note=data.validated_data["note"]
        )
        return self._fresh(booking.pk)
