from referrals_saas.tenancy import business_view
from referrals_saas.views import section_not_ready


@business_view
def index(request):
    return section_not_ready(
        request,
        "campaigns",
        planned=[
            "Autopilots: Referral Thank You, Encourage Referrals, Welcome, reward reminders",
            "Promotions and targeted e-mail campaigns, with an outbox that loses nothing",
        ],
    )
