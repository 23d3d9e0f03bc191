from django.urls import path

from . import views, views_campaigns, views_promotions, views_sender, views_webhooks

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
    path("webhooks/", views_webhooks.webhook_list, name="webhooks"),
    path("webhooks/new/", views_webhooks.webhook_new, name="webhook_new"),
    path("webhooks/<int:endpoint_id>/", views_webhooks.webhook_detail, name="webhook"),
    path("webhooks/<int:endpoint_id>/edit/", views_webhooks.webhook_edit, name="webhook_edit"),
    path("webhooks/<int:endpoint_id>/rotate/", views_webhooks.webhook_rotate, name="webhook_rotate"),
    path("webhooks/<int:endpoint_id>/toggle/", views_webhooks.webhook_toggle, name="webhook_toggle"),
    path("webhooks/<int:endpoint_id>/test/", views_webhooks.webhook_test, name="webhook_test"),
    path("webhooks/<int:endpoint_id>/delete/", views_webhooks.webhook_delete, name="webhook_delete"),
    path(
        "webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/",
        views_webhooks.webhook_delivery,
        name="webhook_delivery",
    ),
    path(
        "webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/resend/",
        views_webhooks.webhook_resend,
        name="webhook_resend",
    ),
]
