"""Magic-link sign-in to the client profile: neutral answers, hashed single-use tokens that expire, rate limits,
GET never uses a link, sign-out, and a session that belongs to one business and one live client."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope

from businesses.models import hash_token
from campaigns.models import OutboxMessage
from clients.models import Client, ClientLoginToken
from clients.privacy import client_erase
from clients.services import client_merge
from referrals.models import ClientSighting
from widgets import magic_links

from ..referrals.conftest import make_client
from .profile_helpers import ask_for_link, last_sign_in_link, profile_url, referrer_setup, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def anna(business):
    return referrer_setup(business)[0]


def sign_in_emails(business):
    with scope(business=business):
        return list(OutboxMessage.objects.filter(business=business, template="client_sign_in").order_by("id"))


def tokens(business):
    with scope(business=business):
        return list(ClientLoginToken.objects.filter(business=business).order_by("id"))


def test_a_visitor_is_asked_for_their_address(client, business):
    response = client.get(profile_url(business))
    assert response.status_code == 200
    html = response.content.decode()
    assert "E-mail me a sign-in link" in html and 'autocomplete="email"' in html
    assert '<label for="id_email">' in html


def test_an_unknown_business_is_404(client, db):
    assert client.get("/w/nobody-here/me/").status_code == 404
    assert client.post("/w/nobody-here/me/", {"email": "a@example.com"}).status_code == 404


def test_a_client_gets_a_link_and_a_stranger_gets_the_same_answer(client, business, anna):
    # The address as typed differently (case, dots, +tag on gmail) still finds the client.
    known = ask_for_link(client, business, "Anna.Berg+spa@GMAIL.com")
    unknown = ask_for_link(client, business, "nobody@example.com")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert known["Location"] == f"/w/{business.slug}/me/sent/"
    page = client.get(known["Location"]).content.decode()
    assert "If that address belongs to a client" in page and "nobody@example.com" not in page
    [message] = sign_in_emails(business)
    assert (message.to_address, message.client_id, message.marketing) == ("anna.berg@gmail.com", anna.pk, False)
    assert message.get_template_display() == "Sign-in link"
    assert "Hi Anna" in message.body_text and "expires in 15 minutes" in message.body_text
    assert len(tokens(business)) == 1


@pytest.mark.parametrize("who", ["erased", "test", "other_business"])
def test_no_link_for_an_erased_or_test_client_or_another_business_s_client(client, business, other_business, who):
    if who == "erased":
        anna = referrer_setup(business)[0]
        with scope(business=business):
            client_erase(business=business, client=anna, actor=None)
    elif who == "test":
        with scope(business=business):
            tess = make_client(business, "Tess", email="anna.berg@gmail.com")
            Client.objects.filter(business=business, pk=tess.pk).update(is_test=True)
    else:
        with scope(business=other_business):
            make_client(other_business, "Anna", email="anna.berg@gmail.com")
    response = ask_for_link(client, business, "anna.berg@gmail.com")
    assert response.status_code == 302 and response["Location"].endswith("/me/sent/")
    assert sign_in_emails(business) == [] and tokens(business) == []


def test_an_invalid_address_is_a_clear_error(client, business):
    response = ask_for_link(client, business, "not an address")
    assert response.status_code == 400
    assert "Enter a valid e-mail address" in response.content.decode()
    assert tokens(business) == []


def test_the_token_is_stored_only_as_its_sha256(client, business, anna):
    ask_for_link(client, business, "anna.berg@gmail.com")
    _, raw = last_sign_in_link(business)
    [row] = tokens(business)
    assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest() == hash_token(raw)
    with scope(business=business):
        stored = [str(value) for value in ClientLoginToken.objects.filter(pk=row.pk).values().get().values()]
    assert not any(raw in value for value in stored)
    assert row.expires_at - row.created_at == timedelta(minutes=15)
    assert row.used_at is None and row.client_id == anna.pk


def test_opening_the_link_does_not_use_it_pressing_sign_in_does_once(client, business, anna):
    ask_for_link(client, business, "anna.berg@gmail.com")
    path, _ = last_sign_in_link(business)
    for _ in range(3):  # a mail scanner, a preview, the client
        page = client.get(path)
        assert page.status_code == 200 and "data-sign-in" in page.content.decode()
        assert page["Referrer-Policy"] == "same-origin"
    assert tokens(business)[0].used_at is None

    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == profile_url(business)
    assert tokens(business)[0].used_at is not None
    profile = client.get(profile_url(business)).content.decode()
    assert "Hi Anna" in profile

    again = client.post(path)
    assert again.status_code == 400 and "This link no longer works" in again.content.decode()
    assert client.get(path).status_code == 400


def test_signing_in_records_a_hashed_sighting(client, business, anna):
    ask_for_link(client, business, "anna.berg@gmail.com")
    path, _ = last_sign_in_link(business)
    client.post(path, REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Phone browser")
    with scope(business=business):
        [sighting] = ClientSighting.objects.filter(business=business, client=anna)
    assert len(sighting.network_hash) == 64 and "203.0.113" not in sighting.network_hash


def test_the_link_expires_after_15_minutes(business, anna):
    start = timezone.now()
    with scope(business=business):
        magic_links.magic_link_request(business=business, email="anna.berg@gmail.com", now=start)
    _, raw = last_sign_in_link(business)
    almost = start + timedelta(minutes=14, seconds=59)
    expired = start + timedelta(minutes=15)
    with scope(business=business):
        assert magic_links.magic_link_check(business=business, token=raw, now=almost) == anna
        assert magic_links.magic_link_check(business=business, token=raw, now=expired) is None
        assert magic_links.magic_link_consume(business=business, token=raw, now=expired) is None
        assert ClientLoginToken.objects.get(business=business).used_at is None
        assert magic_links.magic_link_consume(business=business, token=raw, now=almost) == anna


def test_an_expired_link_says_so_and_signs_nobody_in(client, business, anna):
    ask_for_link(client, business, "anna.berg@gmail.com")
    path, _ = last_sign_in_link(business)
    with scope(business=business):
        ClientLoginToken.objects.filter(business=business).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(path)
    assert response.status_code == 400 and "expire after 15 minutes" in response.content.decode()
    assert "Hi Anna" not in client.get(profile_url(business)).content.decode()


def test_a_link_of_one_business_does_nothing_at_another(client, business, other_business, anna):
    ask_for_link(client, business, "anna.berg@gmail.com")
    _, raw = last_sign_in_link(business)
    response = client.post(f"/w/{other_business.slug}/me/login/{raw}/")
    assert response.status_code == 400
    assert tokens(business)[0].used_at is None


@pytest.mark.parametrize("token", ["x", "A" * 43, "A" * 5000])
def test_unknown_tokens_answer_400(client, business, token):
    assert client.get(f"/w/{business.slug}/me/login/{token}/").status_code == 400
    assert client.post(f"/w/{business.slug}/me/login/{token}/").status_code == 400


def test_requests_per_address_are_limited_whoever_owns_it(client, business, anna):
    for address in ("anna.berg@gmail.com", "stranger@example.com"):
        for _ in range(magic_links.REQUESTS_PER_ADDRESS):
            assert ask_for_link(client, business, address).status_code == 302
        refused = ask_for_link(client, business, address)
        assert refused.status_code == 429
        assert "Too many sign-in requests. Please wait 15 minutes" in refused.content.decode()
    assert len(sign_in_emails(business)) == magic_links.REQUESTS_PER_ADDRESS


def test_requests_per_ip_address_are_limited(client, business):
    for number in range(magic_links.REQUESTS_PER_IP):
        assert ask_for_link(client, business, f"person{number}@example.com").status_code == 302
    assert ask_for_link(client, business, "one.more@example.com").status_code == 429
    # Another network is not held back.
    assert ask_for_link(client, business, "one.more@example.com", REMOTE_ADDR="198.51.100.9").status_code == 302


def test_sign_out_ends_the_session(client, business, anna):
    sign_in(client, business, "anna.berg@gmail.com")
    assert "data-sign-out" in client.get(profile_url(business)).content.decode()
    response = client.post(f"/w/{business.slug}/me/sign-out/")
    assert response.status_code == 302 and response["Location"] == profile_url(business)
    page = client.get(profile_url(business)).content.decode()
    assert "You are signed out." in page and "Hi Anna" not in page and "E-mail me a sign-in link" in page


def test_sign_out_needs_a_post(client, business):
    assert client.get(f"/w/{business.slug}/me/sign-out/").status_code == 405


def test_a_client_signed_in_at_one_business_is_nobody_at_another(client, business, other_business, anna):
    with scope(business=other_business):
        referrer_setup(other_business, email="anna.berg@gmail.com")
    sign_in(client, business, "anna.berg@gmail.com")
    other = client.get(profile_url(other_business)).content.decode()
    assert "Hi Anna" not in other and "E-mail me a sign-in link" in other
    invite = client.post(f"/w/{other_business.slug}/me/invite/", {"first_name": "Bob", "email": "bob@example.com"})
    assert invite.status_code == 302 and invite["Location"] == profile_url(other_business)
    # Still signed in where she signed in.
    assert "Hi Anna" in client.get(profile_url(business)).content.decode()


def test_a_forged_session_entry_signs_nobody_in(client, business, anna):
    session = client.session
    session[f"widget_client:{business.pk}"] = {"id": anna.pk, "v": "guessed"}
    session.save()
    assert "Hi Anna" not in client.get(profile_url(business)).content.decode()


def test_an_erased_client_loses_access_and_their_links(client, business, anna):
    sign_in(client, business, "anna.berg@gmail.com")
    ask_for_link(client, business, "anna.berg@gmail.com")
    with scope(business=business):
        client_erase(business=business, client=anna, actor=None)
    page = client.get(profile_url(business)).content.decode()
    assert "Hi Anna" not in page and "E-mail me a sign-in link" in page
    assert tokens(business) == []


def test_a_client_merged_into_another_loses_access(client, business, anna):
    with scope(business=business):
        keep = make_client(business, "Anna", "Berg-Smith", email="anna@work.example")
    sign_in(client, business, "anna.berg@gmail.com")
    ask_for_link(client, business, "anna.berg@gmail.com")  # a link still unused when the merge happens
    path, _ = last_sign_in_link(business)
    with scope(business=business):
        client_merge(business=business, keep=keep, merge=anna)
        assert not Client.objects.filter(pk=anna.pk).exists()
    assert "E-mail me a sign-in link" in client.get(profile_url(business)).content.decode()
    assert client.post(path).status_code == 400
