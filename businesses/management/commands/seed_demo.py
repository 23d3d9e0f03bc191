"""Load the demo business with believable data. Safe to run again: it only adds what is missing."""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from django.core.management.base import BaseCommand
from django.db import transaction
from django.urls import reverse

# Apps seed in dependency order; each `<app>/demo.py` with a `seed(context)` adds its part.
DEMO_APPS = ["clients", "bookings", "rewards", "referrals", "campaigns", "widgets"]


class Command(BaseCommand):
    help = "Create or complete the demo business (idempotent) and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="Where the server listens.")

    def handle(self, *args, base_url: str, **options):
        from businesses import demo

        with transaction.atomic():
            context = demo.seed()
            for app in DEMO_APPS:
                if find_spec(f"{app}.demo") is not None:
                    import_module(f"{app}.demo").seed(context)
        base_url = base_url.rstrip("/")
        slug = context.business.slug
        lines = [
            "",
            f"Demo business ready: {context.business.name}",
            f"  Dashboard        {base_url}{reverse('overview', args=[slug])}",
            f"  Referrals        {base_url}{reverse('referrals:index', args=[slug])}",
            f"  Booking page     {base_url}{reverse('widget_public:landing', args=[slug])}",
            *([f"  A client's link  {context.extras['referral_link']}"] if "referral_link" in context.extras else []),
            *(
                [
                    f"  Client profile   {base_url}{reverse('widget_public:profile', args=[slug])} (sign in as "
                    f"{context.extras['profile_email']}: the e-mailed link prints in the server's console)"
                ]
                if "profile_email" in context.extras
                else []
            ),
            f"  Log in at        {base_url}{reverse('account_login')}",
            f"  Owner            {demo.DEMO_OWNER_EMAIL} / {demo.DEMO_PASSWORD}",
            f"  Staff            {demo.DEMO_STAFF_EMAIL} / {demo.DEMO_PASSWORD}",
            f"  Health check     {base_url}{reverse('healthz')}",
            f"  Operators' admin {base_url}/admin/ (.venv/bin/python manage.py createsuperuser)",
            "",
        ]
        self.stdout.write("\n".join(lines))
