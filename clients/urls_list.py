from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="index"),
    path("tags/", views.tags, name="tags"),
    path("export.csv", views.export, name="export"),
    path("segments/save/", views.segment_save, name="segment_save"),
    path("segments/<int:segment_id>/", views.segment, name="segment"),
    path("segments/<int:segment_id>/count/", views.segment_count_view, name="segment_count"),
    path("segments/<int:segment_id>/delete/", views.segment_delete_view, name="segment_delete"),
]
