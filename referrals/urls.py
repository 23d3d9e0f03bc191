from django.urls import path

from . import views
from .urls_codes import urlpatterns as code_patterns
from .urls_program import urlpatterns as program_patterns

app_name = "referrals"

urlpatterns = [
    path("", views.index, name="index"),
    path("review/", views.review, name="review"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("leaderboard/spotlight.csv", views.leaderboard_csv, name="leaderboard_csv"),
    path("<int:referral_id>/", views.detail, name="detail"),
    path("<int:referral_id>/approve/", views.approve, name="approve"),
    path("<int:referral_id>/reject/", views.reject, name="reject"),
    *program_patterns,
    *code_patterns,
]
