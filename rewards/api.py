"""REST API for rewards: coupons (list, validate a code for a booking, redeem it), and each client's store credit
and points (balance, ledger, grant, apply to a booking). Applying goes through the staff checkout use cases."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from bookings.api import BookingSerializer
from bookings.checkout import (
    checkout_apply_coupon,
    checkout_apply_points,
    checkout_apply_store_credit,
    checkout_summary,
)
from bookings.models import Booking
from businesses.money import MAX_MINOR
from clients.models import Client
from clients.params import parse_id
from referrals_saas.api.base import (
    BusinessAPIMixin,
    BusinessAPIView,
    BusinessViewSet,
    id_field,
    owned,
    query_choice,
    query_id,
)

from .ledger import client_wallet, points_award, store_credit_grant
from .models import Coupon, CouponStatus, PointsEntry, StoreCreditEntry
from .services import coupon_find, coupon_problem

# ------------------------------------------------------------------------------------------------ coupons


class CouponSerializer(serializers.ModelSerializer):
    client = serializers.IntegerField(source="client_id", read_only=True)
    redeemed_booking = serializers.IntegerField(source="redeemed_booking_id", allow_null=True, read_only=True)

    class Meta:
        model = Coupon
        fields = [
            "id",
            "code",
            "client",
            "kind",
            "percent",
            "amount",
            "currency",
            "status",
            "expires_at",
            "redeemed_at",
            "redeemed_booking",
            "created_at",
        ]
        read_only_fields = fields


class CouponUseSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40)
    booking_id = id_field()


class CouponCheckSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    refusal = serializers.CharField(allow_null=True, help_text="Why it cannot be used on this booking now.")
    discount = serializers.IntegerField(help_text="What it would take off now, in minor units (0 if refused).")
    currency = serializers.CharField()
    coupon = CouponSerializer(allow_null=True)


def _booking(business, booking_id: int) -> Booking:
    return owned(Booking, business, booking_id, "booking")


def coupon_check(*, business, code: str, booking: Booking) -> dict:
    """What the coupon would do on the booking now, read only: the checkout page's own figures."""
    coupon = coupon_find(business=business, code=code)
    refusal = coupon_problem(coupon, client=booking.client)
    summary = checkout_summary(business=business, booking=booking)
    refusal = refusal or summary.refusal or None
    usable = next((u for u in summary.coupons if coupon and u.coupon.pk == coupon.pk), None)
    if refusal is None and (usable is None or usable.value <= 0):
        refusal = "This coupon takes nothing off what is left to pay."
    return {
        "valid": refusal is None,
        "refusal": refusal,
        "discount": usable.value if refusal is None else 0,
        "currency": booking.currency,
        # Another client's coupon is not shown to whoever guessed its code.
        "coupon": coupon if coupon is not None and coupon.client_id == booking.client_id else None,
    }


@extend_schema_view(
    list=extend_schema(
        summary="List coupons",
        parameters=[
            OpenApiParameter("client", OpenApiTypes.INT, description="Coupons of this client id."),
            OpenApiParameter("status", OpenApiTypes.STR, enum=CouponStatus.values),
        ],
    ),
    retrieve=extend_schema(summary="A coupon"),
    validate=extend_schema(
        summary="Check a coupon code for a booking",
        description="Answers the discount it would give now, or why it cannot be used. Changes nothing.",
        request=CouponUseSerializer,
        responses=CouponCheckSerializer,
    ),
    redeem=extend_schema(
        summary="Redeem a coupon on a booking",
        description="Takes the discount off what is left to pay; a coupon is redeemed once, also under concurrent "
        "requests. Answers the booking with its new discount rows and payments.",
        request=CouponUseSerializer,
        responses=BookingSerializer,
    ),
)
class CouponViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BusinessViewSet):
    serializer_class = CouponSerializer

    def get_queryset(self):
        coupons = Coupon.objects.filter(business=self.request.business, is_test=False)
        if self.action == "list":
            client_id = query_id(self.request, "client")
            if client_id:
                coupons = coupons.filter(client_id=client_id)
            status_ = query_choice(self.request, "status", CouponStatus.values)
            if status_:
                coupons = coupons.filter(status=status_)
        return coupons

    @action(detail=False, methods=["post"])
    def validate(self, request):
        data = CouponUseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        booking = _booking(request.business, data.validated_data["booking_id"])
        result = coupon_check(business=request.business, code=data.validated_data["code"], booking=booking)
        return Response(CouponCheckSerializer(result).data)

    @action(detail=False, methods=["post"])
    def redeem(self, request):
        data = CouponUseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        booking = _booking(request.business, data.validated_data["booking_id"])
        checkout_apply_coupon(business=request.business, booking=booking, code=data.validated_data["code"])
        return booking_answer(request.business, booking.pk)


def booking_answer(business, booking_id: int, code=status.HTTP_200_OK) -> Response:
    booking = (
        Booking.objects.filter(business=business, pk=booking_id)
        .select_related("referral")
        .prefetch_related("discounts", "payments")
        .get()
    )
    return Response(BookingSerializer(booking).data, status=code)


# ------------------------------------------------------------------------------------------------ wallets


class WalletSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    currency = serializers.CharField()
    store_credit = serializers.IntegerField(help_text="Balance in minor units.")
    points = serializers.IntegerField()
    points_value = serializers.IntegerField(help_text="What the points are worth now, in minor units.")


class StoreCreditEntrySerializer(serializers.ModelSerializer):
    booking = serializers.IntegerField(source="booking_id", allow_null=True, read_only=True)

    class Meta:
        model = StoreCreditEntry
        fields = ["id", "kind", "amount", "currency", "reason", "booking", "expires_at", "remaining", "created_at"]
        read_only_fields = fields


class PointsEntrySerializer(serializers.ModelSerializer):
    booking = serializers.IntegerField(source="booking_id", allow_null=True, read_only=True)

    class Meta:
        model = PointsEntry
        fields = ["id", "kind", "points", "reason", "booking", "value", "expires_at", "remaining", "created_at"]
        read_only_fields = fields


def _future(value):
    if value is not None and value <= timezone.now():
        raise serializers.ValidationError("The expiry must be in the future.")
    return value


class StoreCreditGrantSerializer(serializers.Serializer):
    amount = serializers.IntegerField(min_value=1, max_value=MAX_MINOR, help_text="Minor units.")
    reason = serializers.CharField(max_length=200)
    expires_at = serializers.DateTimeField(allow_null=True, required=False, default=None, validators=[_future])


class PointsGrantSerializer(serializers.Serializer):
    points = serializers.IntegerField(min_value=1, max_value=MAX_MINOR)
    reason = serializers.CharField(max_length=200)
    expires_at = serializers.DateTimeField(allow_null=True, required=False, default=None, validators=[_future])


class StoreCreditApplySerializer(serializers.Serializer):
    amount = serializers.IntegerField(min_value=1, max_value=MAX_MINOR, help_text="Minor units; capped at what is due.")


class PointsApplySerializer(serializers.Serializer):
    points = serializers.IntegerField(min_value=1, max_value=MAX_MINOR, help_text="Capped at what is left to pay.")


def _client(request, raw) -> Client:
    pk = parse_id(raw)
    client = Client.objects.filter(business=request.business, pk=pk, erased_at__isnull=True).first() if pk else None
    if client is None:
        raise NotFound("No such client in this business.")
    return client


def _booking_from_url(request, raw) -> Booking:
    pk = parse_id(raw)
    if pk is None:
        raise NotFound("No such booking in this business.")
    return _booking(request.business, pk)


class WalletView(BusinessAPIView):
    @extend_schema(summary="A client's store credit and points balances", responses=WalletSerializer)
    def get(self, request, client_id):
        client = _client(request, client_id)
        wallet = client_wallet(request.business, client, limit=0)
        data = {
            "client": client.pk,
            "currency": wallet.currency,
            "store_credit": wallet.store_credit,
            "points": wallet.points,
            "points_value": wallet.points_value,
        }
        return Response(WalletSerializer(data).data)


class _LedgerView(BusinessAPIMixin, GenericAPIView):
    model: type
    serializer_class: type

    def get(self, request, client_id):
        client = _client(request, client_id)
        entries = self.model.objects.filter(business=request.business, client=client)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class StoreCreditView(_LedgerView):
    model = StoreCreditEntry
    serializer_class = StoreCreditEntrySerializer

    @extend_schema(summary="A client's store-credit ledger, newest first")
    def get(self, request, client_id):
        return super().get(request, client_id)

    @extend_schema(
        summary="Grant store credit to a client",
        request=StoreCreditGrantSerializer,
        responses={201: StoreCreditEntrySerializer},
    )
    def post(self, request, client_id):
        client = _client(request, client_id)
        data = StoreCreditGrantSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = store_credit_grant(business=request.business, client=client, **data.validated_data)
        return Response(StoreCreditEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class PointsView(_LedgerView):
    model = PointsEntry
    serializer_class = PointsEntrySerializer

    @extend_schema(summary="A client's points ledger, newest first")
    def get(self, request, client_id):
        return super().get(request, client_id)

    @extend_schema(
        summary="Give a client loyalty points", request=PointsGrantSerializer, responses={201: PointsEntrySerializer}
    )
    def post(self, request, client_id):
        client = _client(request, client_id)
        data = PointsGrantSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = points_award(business=request.business, client=client, **data.validated_data)
        return Response(PointsEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class BookingStoreCreditView(BusinessAPIView):
    @extend_schema(
        summary="Apply the client's store credit to a booking",
        description="Capped at what is left to pay; more than the balance is refused and changes nothing.",
        request=StoreCreditApplySerializer,
        responses=BookingSerializer,
    )
    def post(self, request, booking_id):
        booking = _booking_from_url(request, booking_id)
        data = StoreCreditApplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        checkout_apply_store_credit(business=request.business, booking=booking, amount=data.validated_data["amount"])
        return booking_answer(request.business, booking.pk)


class BookingPointsView(BusinessAPIView):
    @extend_schema(
        summary="Redeem the client's points on a booking",
        description="Needs an enabled points program; capped at what is left to pay.",
        request=PointsApplySerializer,
        responses=BookingSerializer,
    )
    def post(self, request, booking_id):
        booking = _booking_from_url(request, booking_id)
        data = PointsApplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        checkout_apply_points(business=request.business, booking=booking, points=data.validated_data["points"])
        return booking_answer(request.business, booking.pk)
