from referrals_saas.tenancy import business_view
from referrals_saas.views import section_not_ready


@business_view
def index(request):
    return section_not_ready(
        request,
        "rewards",
        planned=[
            "Coupons, store credit, loyalty points and service credits",
            "Milestones for top referrers and a staff check-out that applies them",
        ],
    )
