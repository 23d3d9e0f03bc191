"""django-allauth hooks: signing up creates the user's business in the same transaction, and e-mailed links
are built from SITE_URL (never from the request's Host header, which a visitor controls)."""

from __future__ import annotations

from urllib.parse import quote

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from .services import business_create


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        if not commit:
            return super().save_user(request, user, form, commit=False)
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=True)
            if hasattr(form, "business_fields"):
                business_create(owner=user, **form.business_fields())
        return user

    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        return settings.SITE_URL + reverse("account_confirm_email", args=[emailconfirmation.key])

    def get_reset_password_from_key_url(self, key: str) -> str:
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return settings.SITE_URL + path.replace("UID-KEY", quote(key))
