from referrals_saas.tenancy import business_view
from referrals_saas.views import section_not_ready


@business_view
def index(request):
    return section_not_ready(
        request,
        "referrals",
        planned=[
            "Program settings and ordered rules: the new client's discount and the referrer's reward",
            "Personal referral links and codes, the referrals board, review queue and leaderboard",
        ],
    )
