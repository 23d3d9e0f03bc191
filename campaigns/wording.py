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
{% if promotion_link %}
And one more thing for you: {{ promotion_name }}, {{ promotion_offer }}. Book it here: {{ promotion_link }}
{% endif %}
See you soon,
{{ business_name }}
"""

EXPIRING_SUBJECT = "Your reward from {{ business_name }} expires on {{ expires_on }}"
EXPIRING_BODY = """Hi {{ first_name }},

A reminder from {{ business_name }}: you still have {{ reward }}, which you can use until {{ expires_on }}\
{% if days_left == 1 %} (that is tomorrow){% elif days_left > 1 %} (in {{ days_left }} days){% endif %}.
{% if coupon_code %}
Use the code {{ coupon_code }} when you book before then.
{% else %}
Book your next visit before then and it comes off the price.
{% endif %}
See you soon,
{{ business_name }}
"""

ENCOURAGE_SUBJECT = "Know someone who would like {{ business_name }}?"
ENCOURAGE_BODY = """Hi {{ first_name }},

Thank you for visiting {{ business_name }}! If you enjoyed it, a friend might too.
{% if offer %}
Our referral program: {{ offer }}.
{% endif %}
Your personal link: {{ referral_link }}

Share it in one tap:
E-mail: {{ share_email }}
Text message: {{ share_sms }}
WhatsApp: {{ share_whatsapp }}
Facebook: {{ share_facebook }}
X: {{ share_x }}

See you soon,
{{ business_name }}
"""

WELCOME_SUBJECT = "Welcome to {{ business_name }}, {{ first_name }}!"
WELCOME_BODY = """Hi {{ first_name }},

Welcome to {{ business_name }}! {% if referrer_first_name %}{{ referrer_first_name }} recommended us, and we are \
glad they did.{% endif %}
{% if discount %}
As a friend of {{ referrer_first_name|default:"one of our clients" }}, you get {{ discount }} your first visit.
{% endif %}
We look forward to seeing you,
{{ business_name }}
"""

MILESTONE_SUBJECT = "{{ referral_count }} friends referred: thank you, {{ first_name }}!"
MILESTONE_BODY = """Hi {{ first_name }},

You have now sent {{ referral_count }} friends to {{ business_name }}. To celebrate, here is {{ reward }}.
{% if coupon_code %}Use the code {{ coupon_code }} when you book.{% endif %}
Thank you for spreading the word,
{{ business_name }}
"""

DEFAULTS: dict[str, tuple[str, str]] = {
    AutopilotKind.REFERRAL_THANK_YOU: (THANK_YOU_SUBJECT, THANK_YOU_BODY),
    AutopilotKind.REWARD_EXPIRING: (EXPIRING_SUBJECT, EXPIRING_BODY),
    AutopilotKind.ENCOURAGE_REFERRALS: (ENCOURAGE_SUBJECT, ENCOURAGE_BODY),
    AutopilotKind.WELCOME: (WELCOME_SUBJECT, WELCOME_BODY),
    AutopilotKind.MILESTONE_REACHED: (MILESTONE_SUBJECT, MILESTONE_BODY),
}

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
    # Filled when the owner attaches a promotion to the thank-you; empty otherwise.
    "promotion_name": "Spring offer",
    "promotion_offer": "20% off",
    "promotion_link": "https://example.com/w/bright-smile/?promo=SPRING20",
}


# What an owner may write in a Reward expiring reminder. `reward` says what expires: "£20.00 of store credit",
# "the coupon THX-… (£20.00 off)", "250 points worth £12.50".
EXPIRING_VARIABLES: dict[str, str | int] = {
    "first_name": "Anna",
    "reward": "the coupon THX-ABCD-EFGH (£20.00 off)",
    "coupon_code": "THX-ABCD-EFGH",
    "expires_on": "1 June 2026",
    "days_left": 7,
    "business_name": "",
}

# What an owner may write in Encourage Referrals: the client's link, ready-made share links (URL-encoded) and what
# the program offers (empty when the program is off).
_SAMPLE_LINK = "https://example.com/r/ANNA1234"
_SAMPLE_SHARE = "I%20recommend%20Bright%20Smile%20Studio%3A%20https%3A%2F%2Fexample.com%2Fr%2FANNA1234"
ENCOURAGE_VARIABLES: dict[str, str | int] = {
    "first_name": "Anna",
    "business_name": "",
    "referral_link": _SAMPLE_LINK,
    "offer": "Deep tissue massage: new client 15% off · referrer gets a £20.00 coupon",
    "share_email": f"mailto:?subject=Bright%20Smile%20Studio&body={_SAMPLE_SHARE}",
    "share_sms": f"sms:?body={_SAMPLE_SHARE}",
    "share_whatsapp": f"https://wa.me/?text={_SAMPLE_SHARE}",
    "share_facebook": "https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Fexample.com%2Fr%2FANNA1234",
    "share_x": f"https://x.com/intent/post?text={_SAMPLE_SHARE}",
}

# What an owner may write in the Welcome of a referred new client.
WELCOME_VARIABLES: dict[str, str | int] = {
    "first_name": "Bob",
    "referrer_first_name": "Anna",
    "discount": "£15.00 off",
    "business_name": "",
}

# What an owner may write when a referrer reaches a milestone.
MILESTONE_VARIABLES: dict[str, str | int] = {
    "first_name": "Anna",
    "referral_count": 5,
    "reward": "£20.00 of store credit",
    "coupon_code": "",
    "business_name": "",
}

VARIABLES: dict[str, dict[str, str | int]] = {
    AutopilotKind.REFERRAL_THANK_YOU: THANK_YOU_VARIABLES,
    AutopilotKind.REWARD_EXPIRING: EXPIRING_VARIABLES,
    AutopilotKind.ENCOURAGE_REFERRALS: ENCOURAGE_VARIABLES,
    AutopilotKind.WELCOME: WELCOME_VARIABLES,
    AutopilotKind.MILESTONE_REACHED: MILESTONE_VARIABLES,
}


def sample_variables(business: Business | None = None, kind: str = AutopilotKind.REFERRAL_THANK_YOU) -> Variables:
    return {**VARIABLES[kind], "business_name": business.name if business else "Bright Smile Studio"}
