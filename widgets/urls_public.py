"""Public pages of a business, under /w/<business_slug>/: no login, the business found from the slug."""

from django.urls import include, path

from . import views_embed, views_public

app_name = "widget_public"

urlpatterns = [
    path("", views_public.landing, name="landing"),
    path("logo/<str:digest>", views_embed.logo, name="logo"),
    # The booking flow and the client profile live in their own modules and share this namespace.
    path("", include("widgets.urls_booking")),
    path("", include("widgets.urls_profile")),
]
