"""A local webhook receiver for the tests: http.server in a thread on 127.0.0.1, answering from a script of
statuses, recording each request (headers, body, and whether it verified with the secrets it was given)."""

from __future__ import annotations

import http.server
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified_with: list[str]
    server_name: str | None = None


@dataclass
class Receiver:
    port: int
    statuses: list[int]
    secrets: list[str] = field(default_factory=list)
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)
    scheme: str = "http"

    def url(self, host: str = "127.0.0.1", path: str = "/hooks") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"


def _handler(receiver: Receiver):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {key.lower(): value for key, value in self.headers.items()}
            verified = []
            for secret in receiver.secrets:
                try:
                    Webhook(secret).verify(body, headers)
                    verified.append(secret)
                except WebhookVerificationError:
                    pass
            receiver.requests.append(
                Received(
                    self.path, headers, body, verified, receiver.server_names[-1] if receiver.server_names else None
                )
            )
            if receiver.delay:
                time.sleep(receiver.delay)
            status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
            answer = f"answer {status}".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    return Handler


@contextmanager
def receiving(
    statuses=(200,), secrets=(), delay: float = 0.0, tls: tuple[str, str] | None = None
) -> Iterator[Receiver]:
    """Serve on 127.0.0.1 (an ephemeral port) until the block ends. `tls` is (certfile, keyfile): HTTPS, with
    the server name each client asked for (SNI) recorded."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), None)
    receiver = Receiver(port=server.server_address[1], statuses=list(statuses), secrets=list(secrets), delay=delay)
    server.RequestHandlerClass = _handler(receiver)
    server.daemon_threads = True
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        context.sni_callback = lambda sock, name, ctx: receiver.server_names.append(name)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        receiver.scheme = "https"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
