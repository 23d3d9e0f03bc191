"""Public routes of campaigns (no login): the tracked links of campaign e-mail."""

from django.urls import path

from . import views_campaigns

urlpatterns = [
    path("c/<str:token>/", views_campaigns.click, name="campaign_click"),
]
