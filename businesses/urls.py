from django.urls import path

from . import views, views_api_keys, views_billing, views_hours

app_name = "businesses"

urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("opening-hours/", views_hours.opening_hours, name="opening_hours"),
    path("settings/team/", views.team, name="team"),
    path("settings/team/invite/", views.invite, name="invite"),
    path(
        "settings/team/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("settings/team/members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("settings/team/members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("settings/api-keys/", views_api_keys.api_keys, name="api_keys"),
    path(
        "settings/api-keys/<str:key_prefix>/revoke/",
        views_api_keys.api_key_revoke_view,
        name="api_key_revoke",
    ),
    path("settings/billing/", views_billing.billing_page, name="billing"),
    path("settings/billing/upgrade/", views_billing.billing_upgrade, name="billing_upgrade"),
    path("settings/billing/portal/", views_billing.billing_portal, name="billing_portal"),
]
