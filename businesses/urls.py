from django.urls import path

from . import views

app_name = "businesses"

urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("settings/team/", views.team, name="team"),
    path("settings/team/invite/", views.invite, name="invite"),
    path(
        "settings/team/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("settings/team/members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("settings/team/members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
]
