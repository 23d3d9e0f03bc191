from django.urls import path

from . import views

app_name = "bookings"

urlpatterns = [
    path("", views.index, name="index"),
    path("list/", views.booking_list, name="list"),
    path("new/", views.booking_new, name="new"),
    path("client-search/", views.client_search, name="client_search"),
    path("slot-check/", views.slot_check, name="slot_check"),
    path("<int:booking_id>/", views.booking_detail, name="detail"),
    path("<int:booking_id>/payments/<int:payment_id>/record/", views.payment_record, name="payment_record"),
    path("<int:booking_id>/<str:action>/", views.transition, name="transition"),
]
