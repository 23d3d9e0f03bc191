"""A local Stripe for the tests: localstripe (from PyPI) behind a small stand-in that adds what it lacks.

localstripe speaks Stripe's API and keeps state (customers, products, subscriptions...) but has no Checkout
Sessions and no billing portal. The stand-in serves those two with Stripe's JSON shapes, checks the customers they
name against localstripe, records every request it gets, and passes everything else through to localstripe. Both
listen on 127.0.0.1 only; nothing reaches the internet.

Use the `stripe_api` fixture: it points the settings at the stand-in and yields it (`.requests`, `.sessions`).
`signed_event(...)` builds a webhook body and its Stripe-Signature header with the signing secret.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

SECRET_KEY = "sk_test_standin"
WEBHOOK_SECRET = "whsec_test_signing"
PAID_PLAN_PRICE = "price_test_paid_plan"
# What the stand-in knows of the paid plan's Price: amount, currency, interval.
PRICES = {PAID_PLAN_PRICE: (29_00, "usd", "month")}
CHECKOUT_HOST = "https://checkout.stripe.test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def form_decode(body: str) -> dict:
    """Stripe's form encoding (`line_items[0][price_data][unit_amount]=100`) back into dicts and lists."""
    root: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = [key.split("[", 1)[0], *re.findall(r"\[([^\]]*)\]", key)]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        if node and all(key.isdigit() for key in node):
            return [_lists(node[key]) for key in sorted(node, key=int)]
        return {key: _lists(value) for key, value in node.items()}
    return node


class StripeStandIn:
    def __init__(self, localstripe_url: str):
        self.localstripe_url = localstripe_url
        self.requests: list[tuple[str, str, dict]] = []
        self.sessions: dict[str, dict] = {}
        self.portal_sessions: dict[str, dict] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        self.requests.clear()
        self.sessions.clear()
        self.portal_sessions.clear()

    def calls(self, path: str) -> list[dict]:
        return [params for method, seen, params in self.requests if method == "POST" and seen == path]

    # --- What localstripe lacks --------------------------------------------------------------------------------

    def customer_exists(self, customer_id: str, headers) -> bool:
        status, _ = self.forward("GET", f"/v1/customers/{customer_id}", b"", headers)
        return status == 200

    def checkout_session(self, params: dict, headers) -> tuple[int, dict]:
        mode = params.get("mode")
        if mode not in ("payment", "subscription"):
            return _error("mode must be payment or subscription")
        if not params.get("success_url") or not params.get("cancel_url"):
            return _error("success_url and cancel_url are required")
        items = params.get("line_items") or []
        if len(items) != 1:
            return _error("the stand-in takes exactly one line item")
        item = items[0]
        if "price" in item:
            if item["price"] not in PRICES:
                return _error(f"No such price: '{item['price']}'", param="line_items[0][price]", status=404)
            amount, currency, interval = PRICES[item["price"]]
        else:
            data = item.get("price_data") or {}
            amount, currency = int(data.get("unit_amount", -1)), data.get("currency", "")
            interval = (data.get("recurring") or {}).get("interval", "")
            if amount < 0 or not currency or not (data.get("product_data") or {}).get("name"):
                return _error("price_data needs unit_amount, currency and product_data[name]")
        if (mode == "subscription") != bool(interval):
            return _error("subscription mode needs a recurring price, payment mode a one-time one")
        customer = params.get("customer")
        if customer and not self.customer_exists(customer, headers):
            return _error(f"No such customer: '{customer}'", param="customer", status=404)
        session_id = f"cs_test_{secrets.token_hex(12)}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": mode,
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": amount * int(item.get("quantity", 1)),
            "currency": currency,
            "customer": customer,
            "customer_email": params.get("customer_email"),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata") or {},
            "success_url": params["success_url"],
            "cancel_url": params["cancel_url"],
            "subscription": None,
            "payment_intent": None,
            "url": f"{CHECKOUT_HOST}/c/pay/{session_id}",
            "livemode": False,
        }
        self.sessions[session_id] = session
        return 200, session

    def portal_session(self, params: dict, headers) -> tuple[int, dict]:
        customer = params.get("customer", "")
        if not customer or not self.customer_exists(customer, headers):
            return _error(f"No such customer: '{customer}'", param="customer", status=404)
        session_id = f"bps_{secrets.token_hex(12)}"
        session = {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": customer,
            "return_url": params.get("return_url"),
            "url": f"https://billing.stripe.test/p/session/{session_id}",
            "livemode": False,
        }
        self.portal_sessions[session_id] = session
        return 200, session

    # --- Everything else: localstripe ----------------------------------------------------------------------------

    def forward(self, method: str, path: str, body: bytes, headers) -> tuple[int, bytes]:
        request = urllib.request.Request(self.localstripe_url + path, data=body or None, method=method)
        for name in ("Authorization", "Content-Type", "Idempotency-Key", "Stripe-Version"):
            if headers.get(name):
                request.add_header(name, headers[name])
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _serve(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = urlsplit(self.path).path
                params = form_decode(body.decode()) if method == "POST" else {}
                standin.requests.append((method, path, params))
                if self.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
                    status, answer = _error("Invalid API Key provided", status=401)
                elif method == "POST" and path == "/v1/checkout/sessions":
                    status, answer = standin.checkout_session(params, self.headers)
                elif method == "POST" and path == "/v1/billing_portal/sessions":
                    status, answer = standin.portal_session(params, self.headers)
                elif method == "GET" and path.startswith("/v1/checkout/sessions/"):
                    found = standin.sessions.get(path.rsplit("/", 1)[1])
                    status, answer = (200, found) if found else _error("No such checkout.session", status=404)
                else:
                    self._answer(*standin.forward(method, self.path, body, self.headers))
                    return
                self._answer(status, json.dumps(answer).encode())

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_DELETE(self):
                self._serve("DELETE")

        return Handler


def _error(message: str, *, param: str = "", status: int = 400) -> tuple[int, dict]:
    return status, {"error": {"type": "invalid_request_error", "message": message, "param": param or None}}


# localstripe's own command listens on every interface and writes its state to /tmp/localstripe.pickle, which
# parallel test runs would share: run its app on 127.0.0.1 with the state kept in memory only.
LOCALSTRIPE = """
import sys
from aiohttp import web
from localstripe import resources
from localstripe.server import app
resources.Store.dump_to_disk = lambda self: None
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def _wait_until_answering(url: str, process: subprocess.Popen, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    request = urllib.request.Request(f"{url}/v1/customers", headers={"Authorization": f"Bearer {SECRET_KEY}"})
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"localstripe exited with {process.returncode}; run the launcher by hand to see why")
        try:
            with urllib.request.urlopen(request, timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    pytest.fail("localstripe did not answer within 20 seconds")


@pytest.fixture(scope="session")
def stripe_standin():
    port = free_port()
    if importlib.util.find_spec("localstripe") is None:
        pytest.fail("localstripe is not installed: pip install -e '.[dev]'")
    process = subprocess.Popen(
        [sys.executable, "-c", LOCALSTRIPE, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        localstripe_url = f"http://127.0.0.1:{port}"
        _wait_until_answering(localstripe_url, process)
        standin = StripeStandIn(localstripe_url)
        yield standin
        standin.stop()
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def stripe_api(stripe_standin, settings):
    """Payments on, pointed at the local stand-in; the stand-in's record starts empty."""
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_PRICE_PAID_PLAN = PAID_PLAN_PRICE
    settings.STRIPE_API_BASE = stripe_standin.url
    stripe_standin.reset()
    return stripe_standin


@pytest.fixture
def stripe_webhooks(settings):
    """Payments on for webhooks only: no Stripe API call may happen (the API base is a closed port)."""
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_PRICE_PAID_PLAN = PAID_PLAN_PRICE
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"


def signed_event(
    kind: str,
    obj: dict,
    *,
    event_id: str = "",
    created: int | None = None,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
) -> tuple[bytes, str]:
    """A webhook body and its Stripe-Signature header: t=<time>,v1=HMAC-SHA256(secret, "<time>.<body>")."""
    now = int(time.time())
    event = {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "type": kind,
        "created": created if created is not None else now,
        "livemode": False,
        "api_version": "2025-01-01",
        "data": {"object": obj},
    }
    payload = json.dumps(event).encode()
    signed_at = timestamp if timestamp is not None else now
    signature = hmac.new(secret.encode(), f"{signed_at}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={signed_at},v1={signature}"
