from referrals_saas.tenancy import business_view
from referrals_saas.views import section_not_ready


@business_view
def index(request):
    return section_not_ready(
        request,
        "widget",
        planned=[
            "The copy-paste snippet for your website, colours, texts and allowed origins",
            "A booking widget that applies referral discounts, and a client profile with their referral link",
        ],
    )
