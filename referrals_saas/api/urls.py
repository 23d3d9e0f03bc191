"""/api/v1/: every resource, the OpenAPI schema and the interactive docs (self-hosted, no CDN)."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from bookings.api import BookingViewSet
from businesses.api import ServiceViewSet
from clients.api import ClientViewSet
from referrals.api import LeaderboardView, ProgramView, ReferralViewSet, RuleViewSet, StatisticsView
from rewards.api import (
    BookingPointsView,
    BookingStoreCreditView,
    CouponViewSet,
    PointsView,
    StoreCreditView,
    WalletView,
)

from .errors import not_found_view

router = SimpleRouter()
router.register("clients", ClientViewSet, basename="client")
router.register("services", ServiceViewSet, basename="service")
router.register("bookings", BookingViewSet, basename="booking")
router.register("referrals", ReferralViewSet, basename="referral")
router.register("program/rules", RuleViewSet, basename="rule")
router.register("coupons", CouponViewSet, basename="coupon")

# The schema and the docs are public: they describe the API, and every call still needs a key.
public = {"authentication_classes": [], "permission_classes": [], "throttle_classes": []}

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(**public), name="api_schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api_schema", **public), name="api_docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api_schema", **public), name="api_redoc"),
    path("program/", ProgramView.as_view(), name="api_program"),
    path("leaderboard/", LeaderboardView.as_view(), name="api_leaderboard"),
    path("statistics/", StatisticsView.as_view(), name="api_statistics"),
    path("clients/<str:client_id>/wallet/", WalletView.as_view(), name="api_wallet"),
    path("clients/<str:client_id>/store-credit/", StoreCreditView.as_view(), name="api_store_credit"),
    path("clients/<str:client_id>/points/", PointsView.as_view(), name="api_points"),
    path("bookings/<str:booking_id>/store-credit/", BookingStoreCreditView.as_view(), name="api_booking_credit"),
    path("bookings/<str:booking_id>/points/", BookingPointsView.as_view(), name="api_booking_points"),
    path("", include(router.urls)),
    re_path(r"^.*$", not_found_view),
]
