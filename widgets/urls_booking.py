"""Public widget pages (booking), included under /w/<business_slug>/ by widgets.urls_public."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
