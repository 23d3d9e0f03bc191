"""Public widget URLs outside a business's folder (the embed script), included at the site root."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
