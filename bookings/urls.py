from django.urls import path

from . import views, views_checkout

app_name = "bookings"

urlpatterns = [
    path("", views.index, name="index"),
    path("list/", views.booking_list, name="list"),
    path("new/", views.booking_new, name="new"),
    path("client-search/", views.client_search, name="client_search"),
    path("slot-check/", views.slot_check, name="slot_check"),
    path("<int:booking_id>/", views.booking_detail, name="detail"),
    path("<int:booking_id>/payments/<int:payment_id>/record/", views.payment_record, name="payment_record"),
    path("<int:booking_id>/checkout/", views_checkout.checkout_page, name="checkout"),
    path("<int:booking_id>/checkout/coupon/", views_checkout.apply_coupon, name="checkout_coupon"),
    path("<int:booking_id>/checkout/store-credit/", views_checkout.apply_store_credit, name="checkout_store_credit"),
    path("<int:booking_id>/checkout/points/", views_checkout.apply_points, name="checkout_points"),
    path(
        "<int:booking_id>/checkout/service-credit/",
        views_checkout.apply_service_credit,
        name="checkout_service_credit",
    ),
    path("<int:booking_id>/checkout/payments/<int:payment_id>/", views_checkout.checkout_pay, name="checkout_pay"),
    path("<int:booking_id>/payments/<int:payment_id>/void/", views_checkout.payment_void, name="payment_void"),
    path("<int:booking_id>/receipt/", views_checkout.receipt, name="receipt"),
    path("<int:booking_id>/receipt/email/", views_checkout.receipt_email, name="receipt_email"),
    path("<int:booking_id>/<str:action>/", views.transition, name="transition"),
]
