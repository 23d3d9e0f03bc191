from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from businesses.models import Invitation, Membership, Role
from businesses.services import invitation_create

from ..factories import PASSWORD, UserFactory, make_member

pytestmark = pytest.mark.django_db


def invite_url(business) -> str:
    return f"/b/{business.slug}/settings/team/invite/"


def accept_path_from_outbox() -> str:
    return re.search(r"https?://[^/]+(/invitations/\S+/)", mail.outbox[-1].body).group(1)


def test_owner_invites_staff_who_signs_up_from_the_e_mail(
    owner_client, business, django_capture_on_commit_callbacks, client
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(invite_url(business), {"email": "Sam@Example.com", "role": "staff"})
    assert response.status_code == 302
    assert mail.outbox[-1].to == ["Sam@example.com"]
    path = accept_path_from_outbox()
    with scope(business=business):
        invitation = Invitation.objects.get(business=business)
        # Only the hash of the token is stored.
        assert path.split("/")[2] not in invitation.token_hash

    client.logout()
    page = client.get(path)
    assert page.status_code == 200 and "Create your account" in page.content.decode()
    response = client.post(
        path, {"first_name": "Sam", "last_name": "Lee", "password1": "sam-secret-pass", "password2": "sam-secret-pass"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/b/{business.slug}/"
    with scope(business=business):
        membership = Membership.objects.get(business=business, user__email="Sam@example.com")
        assert membership.role == Role.STAFF
        invitation.refresh_from_db()
        assert invitation.accepted_at is not None
    # The link is single use.
    assert client.get(path).status_code == 410


def test_an_existing_user_accepts_while_signed_in(business, owner, client, django_capture_on_commit_callbacks):
    existing = UserFactory(email="pat@example.com")
    with scope(business=business), django_capture_on_commit_callbacks(execute=True):
        invitation_create(business=business, email="pat@example.com", role=Role.OWNER, invited_by=owner)
    path = accept_path_from_outbox()
    assert "Log in to accept" in client.get(path).content.decode()
    client.force_login(existing)
    assert client.post(path).status_code == 302
    with scope(business=business):
        assert Membership.objects.get(business=business, user=existing).role == Role.OWNER


def test_signed_in_as_someone_else_cannot_accept(business, owner, client, django_capture_on_commit_callbacks):
    with scope(business=business), django_capture_on_commit_callbacks(execute=True):
        invitation_create(business=business, email="pat@example.com", role=Role.STAFF, invited_by=owner)
    stranger = UserFactory()
    client.force_login(stranger)
    path = accept_path_from_outbox()
    response = client.post(path)
    assert response.status_code == 400
    assert "This invitation is for pat@example.com" in response.content.decode()
    with scope(business=business):
        assert not Membership.objects.filter(user=stranger).exists()


def test_an_expired_invitation_is_refused_clearly(business, owner, client, django_capture_on_commit_callbacks):
    with scope(business=business), django_capture_on_commit_callbacks(execute=True):
        invitation, token = invitation_create(
            business=business, email="late@example.com", role=Role.STAFF, invited_by=owner
        )
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.get(f"/invitations/{token}/")
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    response = client.post(f"/invitations/{token}/", {"password1": "whatever-pass-1", "password2": "whatever-pass-1"})
    assert response.status_code == 410
    with scopes_disabled():
        assert not Membership.objects.filter(user__email="late@example.com").exists()


def test_an_unknown_or_revoked_invitation_link_says_so(client):
    response = client.get("/invitations/not-a-real-token/")
    assert response.status_code == 410
    assert "not valid" in response.content.decode()


def test_inviting_an_existing_member_is_refused(owner_client, business, staff):
    response = owner_client.post(invite_url(business), {"email": staff.email.upper(), "role": "staff"})
    assert response.status_code == 400
    assert "already a member" in response.content.decode()
    with scope(business=business):
        assert not Invitation.objects.exists()


def test_inviting_again_refreshes_the_open_invitation(owner_client, business, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(invite_url(business), {"email": "kim@example.com", "role": "staff"})
    first = accept_path_from_outbox()
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(invite_url(business), {"email": "KIM@example.com", "role": "owner"})
    second = accept_path_from_outbox()
    with scope(business=business):
        invitation = Invitation.objects.get(business=business)
    assert invitation.role == Role.OWNER
    assert first != second
    # The first link no longer works; the newest one does.
    assert "not valid" in owner_client.get(first).content.decode()


@pytest.mark.parametrize("bad", [{"email": "nope", "role": "staff"}, {"email": "a@b.co", "role": "emperor"}])
def test_bad_invitation_input_gets_field_errors(owner_client, business, bad):
    response = owner_client.post(invite_url(business), bad)
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    with scope(business=business):
        assert not Invitation.objects.exists()


def test_owner_revokes_an_invitation(owner_client, business, owner):
    with scope(business=business):
        invitation, token = invitation_create(business=business, email="x@example.com", role="staff", invited_by=owner)
    response = owner_client.post(f"/b/{business.slug}/settings/team/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 302
    assert owner_client.get(f"/invitations/{token}/").status_code == 410


def test_staff_cannot_reach_owner_only_pages(staff_client, business):
    for path in ("settings/", "settings/team/"):
        assert staff_client.get(f"/b/{business.slug}/{path}").status_code == 403
    response = staff_client.post(f"/b/{business.slug}/settings/", {"name": "Hijacked"})
    assert response.status_code == 403
    business.refresh_from_db()
    assert business.name != "Hijacked"
    # Staff do not see the Settings section in the navigation.
    assert "/settings/" not in staff_client.get(f"/b/{business.slug}/").content.decode()


def test_owner_edits_business_details(owner_client, business):
    response = owner_client.post(
        f"/b/{business.slug}/settings/",
        {"name": "Calm Hands", "country": "IE", "currency": "EUR", "time_zone": "Europe/Dublin"},
    )
    assert response.status_code == 302
    business.refresh_from_db()
    assert (business.name, business.currency, business.time_zone) == ("Calm Hands", "EUR", "Europe/Dublin")
    assert business.clients_apply_credit_online is False  # off by default: only staff apply store credit


def test_owner_lets_clients_use_store_credit_online(owner_client, business):
    details = {"name": business.name, "country": "GB", "currency": "GBP", "time_zone": "Europe/London"}
    owner_client.post(f"/b/{business.slug}/settings/", {**details, "clients_apply_credit_online": "on"})
    business.refresh_from_db()
    assert business.clients_apply_credit_online is True


def test_bad_business_details_are_refused(owner_client, business):
    response = owner_client.post(
        f"/b/{business.slug}/settings/", {"name": "", "country": "IE", "currency": "EURO", "time_zone": "Europe/Dublin"}
    )
    assert response.status_code == 200
    assert response.content.decode().count("errorlist") >= 2
    old_name = business.name
    business.refresh_from_db()
    assert business.name == old_name


def test_roles_change_but_the_last_owner_stays(owner_client, business, owner, staff):
    with scope(business=business):
        owner_membership = Membership.objects.get(user=owner)
        staff_membership = Membership.objects.get(user=staff)
    base = f"/b/{business.slug}/settings/team/members"
    response = owner_client.post(f"{base}/{owner_membership.pk}/role/", {"role": "staff"}, follow=True)
    assert "at least one owner" in response.content.decode()
    owner_client.post(f"{base}/{staff_membership.pk}/role/", {"role": "owner"})
    with scope(business=business):
        staff_membership.refresh_from_db()
        assert staff_membership.role == Role.OWNER
    response = owner_client.post(f"{base}/{owner_membership.pk}/role/", {"role": "staff"})
    with scope(business=business):
        owner_membership.refresh_from_db()
        assert owner_membership.role == Role.STAFF


def test_removing_a_member_and_never_the_last_owner(owner_client, business, owner, staff):
    with scope(business=business):
        owner_membership = Membership.objects.get(user=owner)
        staff_membership = Membership.objects.get(user=staff)
    base = f"/b/{business.slug}/settings/team/members"
    response = owner_client.post(f"{base}/{owner_membership.pk}/remove/", follow=True)
    assert "at least one owner" in response.content.decode()
    owner_client.post(f"{base}/{staff_membership.pk}/remove/")
    with scope(business=business):
        assert list(Membership.objects.filter(business=business).values_list("user", flat=True)) == [owner.pk]


def test_a_removed_member_loses_access(client, business, owner):
    member = make_member(business, Role.STAFF)
    client.force_login(member)
    assert client.get(f"/b/{business.slug}/").status_code == 200
    with scope(business=business):
        Membership.objects.filter(user=member).delete()
    assert client.get(f"/b/{business.slug}/").status_code == 404


def test_login_form_with_a_wrong_password_says_so(client, owner):
    response = client.post("/accounts/login/", {"login": owner.email, "password": PASSWORD + "x"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()
