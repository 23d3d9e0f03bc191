from django.urls import include, path

app_name = "clients"

# The list (filters, segments, tags, export) and the records (detail, edit, merge, privacy, import) are
# separate modules; both answer under the "clients" namespace.
urlpatterns = [
    path("", include("clients.urls_list")),
    path("", include("clients.urls_records")),
]
