"""Public pages of a business, under /w/<business_slug>/: no login, the business found from the slug."""

from django.urls import path

from . import views_public

app_name = "widget_public"

urlpatterns = [
    path("", views_public.landing, name="landing"),
]
