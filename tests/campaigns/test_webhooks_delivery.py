"""Delivering webhooks to a local receiver: Standard Webhooks signatures, secret rotation, retries with backoff,
410 Gone, timeouts, the sweep, and the SSRF guard (refused targets, the pinned connection, TLS to the host name)."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from standardwebhooks import Webhook

from campaigns import webhook_delivery, webhook_net
from campaigns.models import MessageStatus, WebhookDelivery, WebhookEndpoint
from campaigns.tasks import webhooks_sweep
from campaigns.webhook_delivery import BACKOFF, MAX_ATTEMPTS, webhook_deliver, webhooks_due_for_sweep
from campaigns.webhooks import EndpointData, endpoint_create, endpoint_rotate_secret, endpoint_send_test

from .webhook_receiver import receiving

REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def loopback(settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = True


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> list[str]:
    """Stand in for DNS for the names in `answers` (a list is answered in turn, the last one repeated); every
    other lookup goes to the real resolver. Returns the names looked up, in order."""
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            asked.append(host)
            queue = answers[host]
            address = queue.pop(0) if len(queue) > 1 else queue[0]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port))]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def make_endpoint(business, url, events=("client.created",)):
    return endpoint_create(business=business, data=EndpointData(url=url, events=list(events)))


def queued(business, endpoint, payload=None):
    """A queued delivery written directly (what an event writes), to attempt by hand."""
    return WebhookDelivery.objects.create(
        business=business,
        endpoint=endpoint,
        event_type="client.created",
        event_id="msg_" + "a" * 32,
        payload=payload or {"type": "client.created", "timestamp": "2026-01-01T00:00:00Z", "data": {"id": 1}},
    )


# ------------------------------------------------------------------------------------------------ signatures


def test_a_delivery_is_signed_and_verifies_at_the_receiver(in_scope, loopback):
    with receiving(statuses=[200]) as receiver:
        endpoint = make_endpoint(in_scope, receiver.url())
        receiver.secrets = [endpoint.secret]
        delivery = queued(in_scope, endpoint)
        assert webhook_deliver(business=in_scope, delivery_id=delivery.pk).outcome == "sent"
    [request] = receiver.requests
    assert request.verified_with == [endpoint.secret]
    assert request.path == "/hooks" and request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == delivery.event_id
    assert abs(int(request.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 10
    assert Webhook(endpoint.secret).verify(request.body, request.headers) == delivery.payload
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (MessageStatus.SENT, 1, 200)
    assert delivery.sent_at and delivery.last_response == "answer 200" and delivery.history[0]["status_code"] == 200


def test_a_tampered_body_or_another_secret_does_not_verify(in_scope, loopback):
    with receiving(statuses=[200]) as receiver:
        endpoint = make_endpoint(in_scope, receiver.url())
        webhook_deliver(business=in_scope, delivery_id=queued(in_scope, endpoint).pk)
    [request] = receiver.requests
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(endpoint.secret).verify(request.body.replace(b'"id":1', b'"id":2'), request.headers)
    other = make_endpoint(in_scope, "http://127.0.0.1:9/x")
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(other.secret).verify(request.body, request.headers)


def test_rotation_signs_with_both_secrets_for_24_hours_then_only_the_new(in_scope, loopback):
    with receiving(statuses=[200]) as receiver:
        endpoint = make_endpoint(in_scope, receiver.url())
        old = endpoint.secret
        endpoint = endpoint_rotate_secret(business=in_scope, endpoint=endpoint)
        new = endpoint.secret
        receiver.secrets = [old, new]
        assert new != old and endpoint.previous_secret == old
        assert endpoint.previous_secret_expires_at - timezone.now() > timedelta(hours=23, minutes=59)
        first = queued(in_scope, endpoint)
        webhook_deliver(business=in_scope, delivery_id=first.pk)
        # A day later the old secret has lapsed.
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
        )
        second = WebhookDelivery.objects.create(
            business=in_scope, endpoint=endpoint, event_type="x", event_id="msg_second", payload={"a": 1}
        )
        webhook_deliver(business=in_scope, delivery_id=second.pk)
    during, after = receiver.requests
    assert during.verified_with == [old, new] and len(during.headers["webhook-signature"].split(" ")) == 2
    assert after.verified_with == [new] and len(after.headers["webhook-signature"].split(" ")) == 1


# ------------------------------------------------------------------------------------------------ outcomes


def test_a_500_is_retried_with_backoff_then_a_200_sends_it(in_scope, loopback):
    with receiving(statuses=[500, 500, 200]) as receiver:
        endpoint = make_endpoint(in_scope, receiver.url())
        delivery = queued(in_scope, endpoint)
        now = timezone.now()
        first = webhook_deliver(business=in_scope, delivery_id=delivery.pk, now=now)
        assert (first.outcome, first.retry_in) == ("retry", BACKOFF[0])
        delivery.refresh_from_db()
        assert delivery.status == MessageStatus.QUEUED and delivery.next_attempt_at == now + timedelta(seconds=30)
        assert (delivery.last_status_code, delivery.last_response, delivery.dispatched_at) == (500, "answer 500", None)
        # Not due yet: nothing happens.
        assert webhook_deliver(business=in_scope, delivery_id=delivery.pk, now=now).outcome == "skipped"
        later = now + timedelta(seconds=31)
        assert webhook_deliver(business=in_scope, delivery_id=delivery.pk, now=later).retry_in == BACKOFF[1]
        final = webhook_deliver(business=in_scope, delivery_id=delivery.pk, now=later + timedelta(seconds=121))
    assert final.outcome == "sent" and len(receiver.requests) == 3
    # The same webhook-id on every attempt, so the receiver can drop a duplicate.
    assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery.event_id}
    delivery.refresh_from_db()
    assert delivery.status == MessageStatus.SENT and delivery.attempts == 3
    assert [entry["status_code"] for entry in delivery.history] == [500, 500, 200]


def test_the_backoff_lasts_about_a_day_then_the_delivery_fails(in_scope, loopback):
    assert timedelta(hours=20) < timedelta(seconds=sum(BACKOFF)) <= timedelta(hours=24)
    assert list(BACKOFF) == sorted(BACKOFF)
    with receiving(statuses=[503]) as receiver:
        endpoint = make_endpoint(in_scope, receiver.url())
        delivery = queued(in_scope, endpoint)
        now = timezone.now()
        for _ in range(MAX_ATTEMPTS):
            outcome = webhook_deliver(business=in_scope, delivery_id=delivery.pk, now=now)
            now += timedelta(hours=13)
    assert outcome.outcome == "failed" and len(receiver.requests) == MAX_ATTEMPTS
    delivery.refresh_from_db()
    assert delivery.status == MessageStatus.FAILED and delivery.last_error == "The endpoint answered 503."


def test_410_gone_disables_the_endpoint_and_fails_the_delivery(in_scope, loopback):
    with receiving(statuses=[410]) as receiver:
        endpoint = make_endpoint(in_scope, receiver.url())
        delivery = queued(in_scope, endpoint)
        assert webhook_deliver(business=in_scope, delivery_id=delivery.pk).outcome == "failed"
    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert not endpoint.enabled and "410 Gone" in endpoint.disabled_reason
    assert delivery.status == MessageStatus.FAILED and delivery.last_status_code == 410
    # Nothing more goes to it, and a test event is refused with a clear message.
    with pytest.raises(ValidationError, match="Enable the endpoint"):
        endpoint_send_test(business=in_scope, endpoint=endpoint)


def test_a_timeout_is_recorded_and_retried(in_scope, loopback, monkeypatch):
    monkeypatch.setattr(webhook_net, "TOTAL_TIMEOUT", 0.3)
    with receiving(statuses=[200], delay=1.0) as receiver:
        endpoint = make_endpoint(in_scope, receiver.url())
        delivery = queued(in_scope, endpoint)
        outcome = webhook_deliver(business=in_scope, delivery_id=delivery.pk)
    assert outcome.outcome == "retry"
    delivery.refresh_from_db()
    assert delivery.status == MessageStatus.QUEUED and delivery.last_status_code is None
    assert "timed out" in delivery.last_error.lower() and delivery.history[0]["error"] == delivery.last_error


def test_a_refused_connection_is_recorded_and_retried(in_scope, loopback):
    with receiving() as receiver:
        url = receiver.url()
    endpoint = make_endpoint(in_scope, url)  # the receiver is gone: nothing listens there any more
    delivery = queued(in_scope, endpoint)
    assert webhook_deliver(business=in_scope, delivery_id=delivery.pk).outcome == "retry"
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.last_error


def test_a_delivery_claimed_by_another_attempt_is_skipped(in_scope, loopback):
    endpoint = make_endpoint(in_scope, "http://127.0.0.1:9/")
    delivery = queued(in_scope, endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_until=timezone.now() + timedelta(minutes=1))
    assert webhook_deliver(business=in_scope, delivery_id=delivery.pk).outcome == "skipped"


# ------------------------------------------------------------------------------------------------ the sweep


def test_the_sweep_hands_out_due_retries_and_lost_tasks_once(in_scope, loopback, django_capture_on_commit_callbacks):
    with receiving(statuses=[200]) as receiver:
        endpoint = make_endpoint(in_scope, receiver.url())
        now = timezone.now()
        lost = queued(in_scope, endpoint)  # its task was sent long ago and never ran
        WebhookDelivery.objects.filter(pk=lost.pk).update(dispatched_at=now - timedelta(minutes=10))
        retry = WebhookDelivery.objects.create(
            business=in_scope, endpoint=endpoint, event_type="x", event_id="msg_retry", payload={}, dispatched_at=None
        )
        fresh = WebhookDelivery.objects.create(
            business=in_scope, endpoint=endpoint, event_type="x", event_id="msg_fresh", payload={}, dispatched_at=now
        )
        later = WebhookDelivery.objects.create(
            business=in_scope,
            endpoint=endpoint,
            event_type="x",
            event_id="msg_later",
            payload={},
            next_attempt_at=now + timedelta(minutes=5),
        )
        sweep_at = timezone.now()
        due = webhooks_due_for_sweep(now=sweep_at)
        assert sorted(pk for _, pk in due) == sorted([lost.pk, retry.pk])
        assert webhooks_due_for_sweep(now=sweep_at) == []  # marked as dispatched: a second sweep finds nothing
        WebhookDelivery.objects.filter(pk__in=[lost.pk, retry.pk]).update(dispatched_at=None)
        assert webhooks_sweep() == 2  # eager in tests: the tasks run here
    assert {r.headers["webhook-id"] for r in receiver.requests} == {lost.event_id, "msg_retry"}
    assert WebhookDelivery.objects.get(pk=fresh.pk).status == MessageStatus.QUEUED
    assert WebhookDelivery.objects.get(pk=later.pk).status == MessageStatus.QUEUED


# ------------------------------------------------------------------------------------------------ SSRF guard


@pytest.mark.parametrize(
    "url,words",
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://192.168.1.20:8080/hook", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fc00::1]/", "private"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://100.64.0.1/", "reserved"),
        ("http://240.0.0.1/", "reserved"),
        # Refused whatever this Python's tables say: a cloud metadata address, and IPv6 forms carrying IPv4 ones.
        ("http://192.0.0.192/", "reserved"),
        ("http://[2002:a9fe:a9fe::1]/", "link-local"),
        ("http://[2002:7f00:1::1]/", "loopback"),
        ("http://[64:ff9b::a00:1]/", "private"),
        ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "reserved|private|link-local|loopback"),
        ("ftp://example.com/", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("http://user:pw@example.com/", "user name and password"),
        ("http:///nohost", "no host"),
    ],
)
def test_unsafe_targets_are_refused_before_connecting(url, words, monkeypatch):
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: pytest.fail("connected"))
    with pytest.raises(webhook_net.UnsafeTarget, match=words):
        webhook_net.check(url)


def test_a_host_name_resolving_to_a_private_address_is_refused(monkeypatch):
    fake_dns(monkeypatch, {"internal.example.com": ["10.1.2.3"], "mixed.example.com": ["203.0.113.9"]})
    with pytest.raises(
        webhook_net.UnsafeTarget, match=r"internal.example.com points to a private address \(10.1.2.3\)"
    ):
        webhook_net.check("https://internal.example.com/hook")
    # One private address among public ones is enough to refuse.
    monkeypatch.setattr(webhook_net, "resolve", lambda host, port: ["93.184.215.14", "127.0.0.1"])
    with pytest.raises(webhook_net.UnsafeTarget, match="loopback"):
        webhook_net.check("https://mixed.example.com/hook")


def test_a_public_host_passes_and_is_pinned_to_its_address(monkeypatch):
    fake_dns(monkeypatch, {"hooks.example.com": ["93.184.215.14"]})
    target = webhook_net.check("https://Hooks.Example.com:8443/in?x=1")
    assert (target.scheme, target.host, target.port, target.path, target.ip) == (
        "https",
        "hooks.example.com",
        8443,
        "/in?x=1",
        "93.184.215.14",
    )


def test_loopback_is_allowed_only_with_the_setting(settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    with pytest.raises(webhook_net.UnsafeTarget):
        webhook_net.check("http://127.0.0.1:8000/")
    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    assert webhook_net.check("http://127.0.0.1:8000/").ip == "127.0.0.1"
    assert webhook_net.check("http://[::1]:8000/").ip == "::1"
    with pytest.raises(webhook_net.UnsafeTarget, match="private"):
        webhook_net.check("http://10.0.0.1/")  # the setting allows loopback only


def test_saving_an_endpoint_refuses_unsafe_targets_with_a_clear_message(in_scope, monkeypatch):
    fake_dns(monkeypatch, {"intranet.example.com": ["192.168.0.10"]})
    for url, words in [
        ("http://127.0.0.1:8000/hook", "loopback"),
        ("http://169.254.169.254/", "link-local"),
        ("https://intranet.example.com/", "private"),
        ("gopher://example.com/", "http:// or https://"),
    ]:
        with pytest.raises(ValidationError) as error:
            make_endpoint(in_scope, url)
        assert words in " ".join(error.value.message_dict["url"])
    assert not WebhookEndpoint.objects.exists()


def test_a_delivery_to_a_host_that_now_resolves_privately_is_refused_without_connecting(in_scope, monkeypatch):
    fake_dns(monkeypatch, {"hooks.example.com": ["93.184.215.14", "10.0.0.7"]})
    endpoint = make_endpoint(in_scope, "https://hooks.example.com/in")  # public when saved
    monkeypatch.setattr(webhook_net, "post", lambda *a, **k: pytest.fail("connected"))
    delivery = queued(in_scope, endpoint)
    assert webhook_deliver(business=in_scope, delivery_id=delivery.pk).outcome == "retry"
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("Refused: hooks.example.com points to a private address")


def test_the_connection_goes_to_the_checked_address_whatever_dns_says_next(in_scope, loopback, monkeypatch):
    """DNS rebinding: the first answer (checked) is 127.0.0.1, every later one 127.0.0.2, where nothing listens.
    The delivery reaches the receiver on the first address, asks DNS once, and names the host in Host."""
    with receiving(statuses=[200]) as receiver:
        endpoint = WebhookEndpoint.objects.create(
            business=in_scope,
            url=receiver.url(host="rebind.example.com"),
            events=["client.created"],
            secret="whsec_" + "A" * 32,
        )
        asked = fake_dns(monkeypatch, {"rebind.example.com": ["127.0.0.1", "127.0.0.2"]})
        delivery = queued(in_scope, endpoint)
        assert webhook_deliver(business=in_scope, delivery_id=delivery.pk).outcome == "sent"
    assert asked == ["rebind.example.com"]
    assert receiver.requests[0].headers["host"] == f"rebind.example.com:{receiver.port}"


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for hooks.example.test, made with the openssl command."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=hooks.example.test",
            "-addext", "subjectAltName=DNS:hooks.example.test",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


def test_https_to_a_pinned_address_sends_sni_and_verifies_the_certificate_for_the_host(
    in_scope, loopback, monkeypatch, certificate
):
    cert, _ = certificate
    monkeypatch.setattr(webhook_net, "ssl_context", lambda: ssl.create_default_context(cafile=cert))
    fake_dns(monkeypatch, {"hooks.example.test": ["127.0.0.1"], "other.example.test": ["127.0.0.1"]})
    with receiving(statuses=[200], tls=certificate) as receiver:
        good = make_endpoint(in_scope, receiver.url(host="hooks.example.test"))
        receiver.secrets = [good.secret]
        delivery = queued(in_scope, good)
        assert webhook_deliver(business=in_scope, delivery_id=delivery.pk).outcome == "sent"
        # A certificate that does not name the host is refused, although the address is the same.
        wrong = make_endpoint(in_scope, receiver.url(host="other.example.test"))
        refused = WebhookDelivery.objects.create(
            business=in_scope, endpoint=wrong, event_type="x", event_id="msg_wrong", payload={}
        )
        assert webhook_deliver(business=in_scope, delivery_id=refused.pk).outcome == "retry"
    [request] = receiver.requests
    assert receiver.server_names[0] == "hooks.example.test" and request.verified_with == [good.secret]
    refused.refresh_from_db()
    assert "certificate" in refused.last_error.lower() or "hostname" in refused.last_error.lower()


def test_redirects_are_not_followed(in_scope, loopback):
    with receiving(statuses=[302]) as receiver:
        endpoint = make_endpoint(in_scope, receiver.url())
        delivery = queued(in_scope, endpoint)
        assert webhook_deliver(business=in_scope, delivery_id=delivery.pk).outcome == "retry"
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.last_status_code == 302


def test_the_test_event_goes_out_after_commit(in_scope, loopback, django_capture_on_commit_callbacks):
    with receiving(statuses=[200]) as receiver:
        endpoint = make_endpoint(in_scope, receiver.url(), events=["points.changed"])
        receiver.secrets = [endpoint.secret]
        with django_capture_on_commit_callbacks(execute=True):
            delivery = endpoint_send_test(business=in_scope, endpoint=endpoint)
    [request] = receiver.requests
    body = json.loads(request.body)
    assert body["type"] == "webhook.test" and body["data"]["endpoint_id"] == endpoint.pk
    assert request.verified_with == [endpoint.secret]
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == MessageStatus.SENT


def test_the_response_excerpt_is_cut_to_2_kb(in_scope, loopback, monkeypatch):
    monkeypatch.setattr(
        webhook_net, "post", lambda target, body, headers: webhook_net.Response(200, "x" * webhook_net.RESPONSE_LIMIT)
    )
    endpoint = make_endpoint(in_scope, "http://127.0.0.1:9/")
    delivery = queued(in_scope, endpoint)
    webhook_delivery.webhook_deliver(business=in_scope, delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert len(delivery.last_response) == 2048 and len(delivery.history[0]["response"]) == 200
