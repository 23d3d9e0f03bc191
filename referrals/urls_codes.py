"""A client's referral codes (owner only), reached from the client's page."""

from django.urls import path

from . import views_codes

urlpatterns = [
    path("codes/<int:client_id>/new/", views_codes.code_regenerate_view, name="code_regenerate"),
    path("codes/<int:client_id>/<int:code_id>/retire/", views_codes.code_retire_view, name="code_retire"),
]
