"""Demo for the client profile: the studio's busiest referrer (whose address seed_demo prints, so anyone can sign
in with a magic link shown in the server's console) has invited a friend by e-mail. Idempotent."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_scopes import scope

from referrals.models import FriendInvitation, ReferrerTally

from .selectors import widget_settings_for
from .services import WidgetLookData, widget_look_update


def seed(context) -> None:
    widget_look_seed(context)
    business = context.business
    with scope(business=business):
        tally = (
            ReferrerTally.objects.filter(business=business, client__erased_at__isnull=True, client__is_test=False)
            .exclude(client__email="")
            .select_related("client")
            .order_by("-successful_referrals", "client_id")
            .first()
        )
        if tally is None:
            return
        referrer = tally.client
        context.extras["profile_email"] = referrer.email
        if not FriendInvitation.objects.filter(business=business, referrer=referrer).exists():
            # Invited two days ago: the reminder goes out tomorrow unless Marta books.
            FriendInvitation.objects.create(
                business=business,
                referrer=referrer,
                first_name="Marta",
                email="marta.friend@example.com",
                email_canonical="marta.friend@example.com",
                created_at=timezone.now() - timedelta(days=2),
            )


def widget_look_seed(context) -> None:
    """The studio's widget: its colours and texts, embeddable from a local test site (http://localhost:8080).
    Written once; what the owner changes later is kept."""
    business = context.business
    with scope(business=business):
        current = widget_settings_for(business)
        if current.pk is not None and (current.headline or current.allowed_origins):
            return
        widget_look_update(
            business=business,
            data=WidgetLookData(
                primary_colour="#7c3aed",
                accent_colour="#be185d",
                headline="Book your massage at Serenity",
                intro="Swedish, deep tissue and hot stone massage in a calm studio. Friends of our clients get "
                "a discount on their first visit.",
                button_label="Book a massage",
                share_message="I love {business_name}: book with my link and get {offer}: {link}",
                allowed_origins="http://localhost:8080\nhttp://127.0.0.1:8080",
            ),
            actor=context.owner,
        )
