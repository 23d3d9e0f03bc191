"""Public widget pages (booking), included under /w/<business_slug>/ by widgets.urls_public."""

from django.urls import path

from . import views_booking

urlpatterns = [
    path("book/", views_booking.services, name="book"),
    path("book/time/", views_booking.time_step, name="book_time"),
    path("book/details/", views_booking.details, name="book_details"),
    path("book/referrers/", views_booking.referrers, name="book_referrers"),
    path("book/confirm/", views_booking.confirm, name="book_confirm"),
    path("book/done/", views_booking.done, name="book_done"),
]
