from django.urls import path

from . import views_services as views

app_name = "services"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("<int:service_id>/edit/", views.edit, name="edit"),
    path("<int:service_id>/archive/", views.archive, name="archive"),
]
