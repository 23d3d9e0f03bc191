from django.contrib import admin
from django.urls import include, path

from businesses import views as business_views
from campaigns import views_public as campaign_views_public
from referrals import views_overview
from referrals import views_public as referral_views_public

from . import views

# Everything under /b/<business_slug>/ is the dashboard: the tenancy middleware checks membership and
# activates the business's scope before any of these views run.
dashboard_patterns = [
    path("", views_overview.overview, name="overview"),
    path("overview.csv", views_overview.overview_export, name="overview_export"),
    path("", include("businesses.urls")),
    path("clients/", include("clients.urls")),
    path("bookings/", include("bookings.urls")),
    path("services/", include("businesses.urls_services")),
    path("referrals/", include("referrals.urls")),
    path("rewards/", include("rewards.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("widget/", include("widgets.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Public: a client's referral link (no session, no database write) and a business's hosted booking page.
    path("r/<str:code>", referral_views_public.click, name="referral_click"),
    path("r/<str:code>/", referral_views_public.click),
    # Public: a client's "Pay now" (/w/<slug>/pay/<token>/) and Stripe's webhook (/stripe/webhook/).
    path("", include("bookings.urls_stripe")),
    path("w/<slug:business_slug>/", include("widgets.urls_public")),
    path("", include("widgets.urls_root")),
    # Public: the one-click unsubscribe link of marketing e-mail (a signed token, no login).
    path("u/<str:token>/", campaign_views_public.unsubscribe, name="unsubscribe"),
    # Public: the tracked links of campaign e-mail (/c/<token>/).
    path("", include("campaigns.urls_public")),
    path("dashboard/", views.dashboard_home, name="dashboard_home"),
    path("businesses/new/", business_views.business_new, name="business_new"),
    path("invitations/<str:token>/", business_views.invitation_accept, name="invitation_accept"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    # The public REST API, authenticated by per-business API keys (referrals_saas/api/).
    path("api/v1/", include("referrals_saas.api.urls")),
    path("b/<slug:business_slug>/", include(dashboard_patterns)),
]
