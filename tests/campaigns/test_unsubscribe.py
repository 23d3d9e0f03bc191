"""One-click unsubscribe: the signed link, the headers and footer of marketing e-mail, and what still goes out."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core import signing
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from businesses.models import DomainEvent
from campaigns.delivery import outbox_deliver
from campaigns.models import MessageStatus, OutboxMessage, Suppression
from campaigns.services import client_unsubscribe
from campaigns.unsubscribe import SALT, BadToken, make_token, read_token, unsubscribe_url
from clients.models import Client
from tests.factories import BusinessFactory

from .conftest import enqueue, make_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def bella(business):
    with scope(business=business):
        return make_client(business, "Bella", "Moss", email="bella@example.com", email_consent=True)


def link(business, client, channel="email"):
    return reverse("unsubscribe", args=[make_token(business_id=business.pk, client_id=client.pk, channel=channel)])


def reload(business, client):
    with scope(business=business):
        return Client.objects.get(business=business, pk=client.pk)


def test_the_token_round_trips_and_refuses_forgeries():
    token = make_token(business_id=3, client_id=7)
    wanted = read_token(token)
    assert (wanted.business_id, wanted.client_id, wanted.channel) == (3, 7, "email")
    for forged in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        signing.dumps({"b": 3, "c": 8, "ch": "email"}, salt="another.purpose"),
        signing.dumps({"b": 3, "c": 8, "ch": "email"}, salt=SALT, key="not-our-secret"),
        signing.dumps({"b": "3", "c": 8, "ch": "email"}, salt=SALT),
        signing.dumps({"b": 3, "c": 8, "ch": "pigeon"}, salt=SALT),
        signing.dumps([3, 8], salt=SALT),
        "nonsense",
    ):
        with pytest.raises(BadToken):
            read_token(forged)


def test_an_expired_token_is_refused():
    token = make_token(business_id=3, client_id=7)
    with mock.patch("campaigns.unsubscribe.MAX_AGE", timedelta(seconds=-1)), pytest.raises(BadToken):
        read_token(token)


def test_get_shows_a_confirm_page_and_changes_nothing(client, business, bella):
    response = client.get(link(business, bella))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Unsubscribe</button>" in page and business.name in page
    assert reload(business, bella).email_consent is True
    with scope(business=business):
        assert not Suppression.objects.filter(business=business).exists()


def test_post_withdraws_consent_records_a_suppression_and_an_event(client, business, bella):
    response = client.post(link(business, bella))
    assert response.status_code == 200 and "You are unsubscribed" in response.content.decode()
    bella = reload(business, bella)
    assert bella.email_consent is False and bella.email_consent_changed_at is not None
    with scope(business=business):
        [suppression] = Suppression.objects.filter(business=business)
        assert (suppression.client_id, suppression.channel) == (bella.pk, "email")
        assert suppression.reason == "unsubscribe_link"
        events = DomainEvent.objects.filter(business=business, kind="client.unsubscribed", subject_id=bella.pk)
        assert events.count() == 1
    # A second click is harmless: one suppression, one event.
    assert client.post(link(business, bella)).status_code == 200
    with scope(business=business):
        assert Suppression.objects.filter(business=business).count() == 1
        assert DomainEvent.objects.filter(business=business, kind="client.unsubscribed").count() == 1


def test_rfc_8058_one_click_post(client, business, bella):
    response = client.post(
        link(business, bella), data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert reload(business, bella).email_consent is False
    with scope(business=business):
        assert Suppression.objects.get(business=business).reason == "one_click"


def test_no_csrf_token_is_needed(business, bella):
    from django.test import Client as HttpClient

    response = HttpClient(enforce_csrf_checks=True).post(link(business, bella), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert reload(business, bella).email_consent is False


@pytest.mark.parametrize("method", ["get", "post"])
def test_bad_links_get_a_friendly_400(client, business, bella, method):
    token = make_token(business_id=business.pk, client_id=bella.pk)
    for bad in (token[:-3] + "xyz", "garbage", signing.dumps({"b": business.pk, "c": bella.pk, "ch": "email"})):
        response = getattr(client, method)(reverse("unsubscribe", args=[bad]))
        assert response.status_code == 400
        assert "This link does not work" in response.content.decode()
    # A well-signed link for a business that is gone.
    gone = reverse("unsubscribe", args=[make_token(business_id=10**9, client_id=bella.pk)])
    assert getattr(client, method)(gone).status_code == 400
    assert reload(business, bella).email_consent is True


def test_a_token_cannot_reach_another_business_client(client, business, bella):
    other = BusinessFactory()
    response = client.post(reverse("unsubscribe", args=[make_token(business_id=other.pk, client_id=bella.pk)]))
    assert response.status_code == 200  # nothing to say about who exists where
    assert reload(business, bella).email_consent is True
    with scopes_disabled():
        assert not Suppression.objects.exists()


def test_other_methods_are_refused(client, business, bella):
    assert client.put(link(business, bella)).status_code == 405


def test_marketing_mail_has_the_link_in_its_footer_and_the_headers(in_scope, bella, mailoutbox):
    message = enqueue(in_scope, bella, key="promo", marketing=True)
    assert outbox_deliver(business=in_scope, message_id=message.pk).outcome == "sent"
    [email] = mailoutbox
    url = unsubscribe_url(business_id=in_scope.pk, client_id=bella.pk)
    assert email.extra_headers["List-Unsubscribe"] == f"<{url}>"
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email.body.startswith("Hi there\n") and url in email.body
    [(html, _)] = email.alternatives
    assert url in html and "Unsubscribe</a>" in html
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in email.message().as_string()


def test_transactional_mail_has_neither(in_scope, bella, mailoutbox):
    message = enqueue(in_scope, bella, key="note")
    outbox_deliver(business=in_scope, message_id=message.pk)
    [email] = mailoutbox
    assert "List-Unsubscribe" not in email.extra_headers and "List-Unsubscribe-Post" not in email.extra_headers
    assert "/u/" not in email.body and "Unsubscribe" not in email.alternatives[0][0]


def test_after_unsubscribing_marketing_stops_and_transactional_still_goes(in_scope, bella, mailoutbox):
    waiting = enqueue(in_scope, bella, key="promo-queued", marketing=True)
    client_unsubscribe(business=in_scope, client=bella)
    waiting.refresh_from_db()
    assert waiting.status == MessageStatus.SUPPRESSED and "unsubscribed" in waiting.suppressed_reason
    assert outbox_deliver(business=in_scope, message_id=waiting.pk).outcome == "skipped"
    bella.refresh_from_db()
    later = enqueue(in_scope, bella, key="promo-later", marketing=True)
    assert later.status == MessageStatus.SUPPRESSED
    for key in ("thank-you", "revoked", "expiring"):
        note = enqueue(in_scope, bella, key=key)
        assert note.status == MessageStatus.QUEUED
        assert outbox_deliver(business=in_scope, message_id=note.pk).outcome == "sent"
    assert len(mailoutbox) == 3
    assert OutboxMessage.objects.filter(business=in_scope, status=MessageStatus.SENT).count() == 3
