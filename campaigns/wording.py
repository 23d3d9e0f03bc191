"""The autopilots' default wording and the variables an owner may use, with the sample values of the preview."""

from __future__ import annotations

from businesses.models import Business

from .models import AutopilotKind
from .sandbox import Variables

THANK_YOU_SUBJECT = "Thank you for recommending {{ business_name }}!"
THANK_YOU_BODY = """Hi {{ referrer_first_name }},

Thank you for recommending {{ business_name }}! {{ friend_first_name }} has booked their first visit with us\
{% if referral_count > 1 %} — that makes {{ referral_count }} friends you have sent our way{% endif %}.
{% if coupon_code %}
As a thank-you, here is {{ reward }} your next visit: use the code {{ coupon_code }} when you book\
{% if expires_on %} before {{ expires_on }}{% endif %}.
{% endif %}
Know someone else who would like us? Share your link: {{ referral_link }}

See you soon,
{{ business_name }}
"""

DEFAULTS: dict[str, tuple[str, str]] = {AutopilotKind.REFERRAL_THANK_YOU: (THANK_YOU_SUBJECT, THANK_YOU_BODY)}

# What an owner may write in a thank-you, with what the preview shows for it.
THANK_YOU_VARIABLES: dict[str, str | int] = {
    "referrer_first_name": "Anna",
    "friend_first_name": "Bob",
    "referral_count": 3,
    "reward": "£20.00 off",
    "coupon_code": "THX-ABCD-EFGH",
    "expires_on": "1 June 2026",
    "business_name": "",
    "referral_link": "https://example.com/r/ANNA1234",
}


def sample_variables(business: Business | None = None) -> Variables:
    return {**THANK_YOU_VARIABLES, "business_name": business.name if business else "Bright Smile Studio"}
