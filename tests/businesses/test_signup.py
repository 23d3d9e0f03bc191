from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django_scopes import scopes_disabled

from businesses.models import AuditLog, Business, Membership, Role

from ..factories import BusinessFactory

User = get_user_model()

SIGNUP = {
    "email": "anna@brightsmile.example",
    "password1": "a-strong-pass-phrase",
    "password2": "a-strong-pass-phrase",
    "business_name": "Bright Smile Dental",
    "business_slug": "bright-smile",
    "country": "DE",
    "currency": "EUR",
    "time_zone": "Europe/Berlin",
}

pytestmark = pytest.mark.django_db


def test_sign_up_creates_a_business_with_the_user_as_owner(client):
    response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 302
    user = User.objects.get(email="anna@brightsmile.example")
    business = Business.objects.get(slug="bright-smile")
    assert (business.name, business.currency, business.country.code, business.time_zone) == (
        "Bright Smile Dental",
        "EUR",
        "DE",
        "Europe/Berlin",
    )
    with scopes_disabled():
        membership = Membership.objects.get(business=business)
        assert AuditLog.objects.filter(business=business, action="business.created").count() == 1
    assert (membership.user, membership.role) == (user, Role.OWNER)


def test_e_mail_must_be_verified_before_the_dashboard_opens(client):
    client.post("/accounts/signup/", SIGNUP)
    assert len(mail.outbox) == 1
    # Logging in before verifying is turned back to the verification page.
    response = client.post("/accounts/login/", {"login": SIGNUP["email"], "password": SIGNUP["password1"]})
    assert response.status_code == 302
    assert "confirm-email" in response["Location"]
    assert client.get("/b/bright-smile/").status_code == 302

    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    path = re.sub(r"^https?://[^/]+", "", link)
    response = client.post(path)
    assert response.status_code == 302
    response = client.get("/dashboard/", follow=True)
    assert response.redirect_chain[-1][0] == "/b/bright-smile/"
    assert b"Bright Smile Dental" in response.content


def test_a_taken_web_address_is_refused_with_a_suggestion_and_nothing_is_created(client):
    BusinessFactory(slug="bright-smile")
    response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 200
    assert "already taken" in response.content.decode()
    assert "bright-smile-2" in response.content.decode()
    assert not User.objects.filter(email=SIGNUP["email"]).exists()
    assert Business.objects.count() == 1


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("business_slug", "Not A Slug!", "lower-case letters"),
        ("business_name", "", "This field is required"),
        ("currency", "XYZ", "Select a valid choice"),
        ("time_zone", "Mars/Olympus", "Select a valid choice"),
        ("email", "not-an-email", "valid email"),
    ],
)
def test_bad_sign_up_input_gets_a_field_error_and_changes_nothing(client, field, value, message):
    response = client.post("/accounts/signup/", {**SIGNUP, field: value})
    assert response.status_code == 200
    assert message.lower() in response.content.decode().lower()
    assert Business.objects.count() == 0
    assert User.objects.count() == 0


def test_an_existing_user_can_add_a_second_business_and_switch(owner_client, owner, business):
    response = owner_client.post(
        "/businesses/new/",
        {
            "business_name": "Second Studio",
            "business_slug": "second-studio",
            "country": "GB",
            "currency": "GBP",
            "time_zone": "Europe/London",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/b/second-studio/"
    page = owner_client.get("/b/second-studio/").content.decode()
    # The switcher lists both businesses.
    assert business.name in page and "Second Studio" in page
    # The dashboard entry point remembers the business used last.
    owner_client.get(f"/b/{business.slug}/")
    assert owner_client.get("/dashboard/")["Location"] == f"/b/{business.slug}/"


def test_a_user_without_a_business_is_asked_to_create_one(client):
    from ..factories import UserFactory

    client.force_login(UserFactory())
    assert client.get("/dashboard/")["Location"] == "/businesses/new/"


def test_password_reset_sends_a_link_that_sets_a_new_password(client, owner):
    client.post("/accounts/password/reset/", {"email": owner.email})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/password/reset/key/\S+/)", mail.outbox[0].body).group(1)
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link
    response = client.post(form_url, {"password1": "brand-new-secret-42", "password2": "brand-new-secret-42"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("brand-new-secret-42")


def test_log_in_and_out(client, owner):
    from ..factories import PASSWORD

    response = client.post("/accounts/login/", {"login": owner.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 302
    client.post("/accounts/logout/")
    assert client.get("/dashboard/")["Location"].startswith("/accounts/login/")
