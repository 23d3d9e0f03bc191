"""Public widget pages (profile), included under /w/<business_slug>/ by widgets.urls_public."""

from django.urls import path

from . import views_profile

urlpatterns = [
    path("me/", views_profile.profile, name="profile"),
    path("me/sent/", views_profile.link_sent, name="profile_link_sent"),
    path("me/login/<str:token>/", views_profile.login, name="profile_login"),
    path("me/sign-out/", views_profile.sign_out, name="profile_sign_out"),
    path("me/invite/", views_profile.invite, name="profile_invite"),
]
