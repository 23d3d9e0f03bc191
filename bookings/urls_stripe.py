"""Stripe's public URLs: a client's "Pay now" and its return page, and the webhook. Included at the root."""

from django.urls import path

from . import views_stripe

app_name = "stripe"

urlpatterns = [
    path("w/<slug:business_slug>/pay/<str:token>/", views_stripe.pay, name="pay"),
    path("w/<slug:business_slug>/pay/<str:token>/status/", views_stripe.pay_status, name="pay_status"),
    path("stripe/webhook/", views_stripe.webhook, name="webhook"),
]
