from django.urls import path

from . import views, views_campaigns, views_promotions, views_sender

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
    path("sender/", views_sender.sender, name="sender"),
    path("promotions/", views_promotions.promotion_list, name="promotions"),
    path("promotions/new/", views_promotions.promotion_new, name="promotion_new"),
    path("promotions/<int:promotion_id>/", views_promotions.promotion_edit, name="promotion_edit"),
    path("promotions/<int:promotion_id>/archive/", views_promotions.promotion_archive, name="promotion_archive"),
    path("targeted/", views_campaigns.campaign_index, name="campaigns"),
    path("targeted/new/", views_campaigns.campaign_new, name="campaign_new"),
    path("targeted/audience-count/", views_campaigns.audience_count, name="campaign_audience_count"),
    path("targeted/<int:campaign_id>/", views_campaigns.campaign_detail, name="campaign"),
    path("targeted/<int:campaign_id>/edit/", views_campaigns.campaign_edit, name="campaign_edit"),
    path("targeted/<int:campaign_id>/progress/", views_campaigns.campaign_progress_view, name="campaign_progress"),
    path("targeted/<int:campaign_id>/test/", views_campaigns.campaign_test_send, name="campaign_test_send"),
    path("targeted/<int:campaign_id>/send/", views_campaigns.campaign_send, name="campaign_send"),
    path("targeted/<int:campaign_id>/schedule/", views_campaigns.campaign_schedule, name="campaign_schedule"),
    path("targeted/<int:campaign_id>/cancel/", views_campaigns.campaign_cancel, name="campaign_cancel"),
]
