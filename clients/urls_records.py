from django.urls import path

from . import views_import, views_records

urlpatterns = [
    path("new/", views_records.new, name="new"),
    path("pick/", views_records.pick, name="pick"),
    path("<int:client_id>/", views_records.detail, name="detail"),
    path("<int:client_id>/edit/", views_records.edit, name="edit"),
    path("<int:client_id>/referrer/", views_records.set_referrer, name="set_referrer"),
    path("<int:client_id>/merge/", views_records.merge, name="merge"),
    path("<int:client_id>/privacy/export.json", views_records.privacy_export_json, name="privacy_export_json"),
    path("<int:client_id>/privacy/export.csv", views_records.privacy_export_csv, name="privacy_export_csv"),
    path("<int:client_id>/erase/", views_records.erase, name="erase"),
    path("import/", views_import.import_page, name="import"),
    path("import/<int:import_id>/", views_import.import_status, name="import_status"),
    path("import/<int:import_id>/refused.csv", views_import.import_refused_csv, name="import_refused_csv"),
]
