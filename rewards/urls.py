from django.urls import path

from . import views, views_milestones, views_points, views_wallet

app_name = "rewards"

urlpatterns = [
    path("", views.index, name="index"),
    path("points/", views_points.points_settings, name="points"),
    path("milestones/", views_milestones.milestone_list, name="milestones"),
    path("milestones/new/", views_milestones.milestone_new, name="milestone_new"),
    path("milestones/<int:milestone_id>/", views_milestones.milestone_edit, name="milestone_edit"),
    path("milestones/<int:milestone_id>/delete/", views_milestones.milestone_remove, name="milestone_delete"),
    path("clients/<int:client_id>/history/", views_wallet.wallet_history, name="wallet_history"),
]
