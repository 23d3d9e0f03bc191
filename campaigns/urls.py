from django.urls import path

from . import views

app_name = "campaigns"

urlpatterns = [
    path("", views.index, name="index"),
    path("outbox/<int:message_id>/", views.message_detail, name="message"),
    path("outbox/<int:message_id>/resend/", views.message_resend, name="message_resend"),
    path("autopilots/thank-you/", views.thank_you, name="thank_you"),
    path("autopilots/reward-expiring/", views.reward_expiring, name="reward_expiring"),
    path("autopilots/encourage-referrals/", views.encourage, name="encourage"),
    path("autopilots/welcome/", views.welcome, name="welcome"),
    path("autopilots/milestone-reached/", views.milestone_reached, name="milestone_reached"),
]
