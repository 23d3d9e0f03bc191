"""Outbound HTTP for webhooks, guarded against server-side request forgery.

A business types any URL; without a guard it could make our workers call the cloud metadata service, the database
or an admin port on the private network. So a target is checked twice: on save (a clear form error) and before
every connection. The host is resolved once, every address it resolves to must be public, and the connection goes
to that checked address (pinned): a DNS answer that changes after the check (rebinding) is never asked for. For
https the TLS handshake still names the host (SNI) and the certificate is verified against the host, not the IP.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 10.0
# The response body kept for the deliveries log.
RESPONSE_LIMIT = 2048
USER_AGENT = "ReferralsSaaS-Webhooks/1.0"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(Exception):
    """The URL may not be called: wrong scheme, credentials, or a host that is not on the public internet."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as it goes into the Host header, SNI and certificate check (IDNA, lower case)
    port: int
    path: str  # path and query
    ip: str  # the checked address the connection goes to


@dataclass(frozen=True)
class Response:
    status: int
    body: str  # the first RESPONSE_LIMIT bytes, decoded


# Special-purpose ranges refused whatever this Python's `ipaddress` tables say (they changed between patch releases:
# 3.11.7 calls 192.0.0.192, a cloud metadata address, global).
_ALWAYS_REFUSED = tuple(
    ipaddress.ip_network(net)
    for net in ("0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "240.0.0.0/4", "64:ff9b:1::/48")
)


def _carried_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: IPv4-mapped, 6to4 (2002::/16), Teredo, NAT64 (64:ff9b::/96)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(ip: IPAddress) -> str:
    """Why a connection to `ip` is refused, or "" if it is a public address. An IPv6 address that carries an IPv4
    one (IPv4-mapped, 6to4, Teredo, NAT64) is judged as that IPv4 address."""
    ip = _carried_ipv4(ip) or ip
    if ip.is_loopback:
        return "" if settings.WEBHOOKS_ALLOW_LOOPBACK else "a loopback address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global or any(ip in network for network in _ALWAYS_REFUSED if network.version == ip.version):
        return "a reserved address"  # shared (carrier-grade NAT), documentation and other special ranges
    return ""


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (a module function so tests can stand in for DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL without credentials; UnsafeTarget otherwise."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget("This is not a valid URL.") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("Use an http:// or https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("Remove the user name and password from the URL; every request is signed instead.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeTarget("The URL has no host.")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise UnsafeTarget("The host name is not valid.") from exc
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def check(url: str) -> Target:
    """The target of `url` with its host resolved and checked: every address must be allowed (a name that
    resolves to one public and one private address is refused), and the first one is the one connected to."""
    scheme, host, port, path = parse(url)
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise UnsafeTarget(f"The host {host} could not be found.") from exc
        if not addresses:
            raise UnsafeTarget(f"The host {host} could not be found.")
    for address in addresses:
        refusal = address_refusal(ipaddress.ip_address(address.split("%")[0]))
        if refusal:
            raise UnsafeTarget(f"{host} points to {refusal} ({address}); webhooks only go to the public internet.")
    return Target(scheme=scheme, host=host.strip("[]"), port=port, path=path, ip=addresses[0].split("%")[0])


def ssl_context() -> ssl.SSLContext:
    """The system's trusted certificates, host names checked (tests stand in a context that trusts their own)."""
    return ssl.create_default_context()


def post(target: Target, body: bytes, headers: dict[str, str]) -> Response:
    """POST `body` to the checked address of `target`, naming the host in the Host header (and SNI, and the
    certificate check, for https). No redirects (a redirect could lead anywhere), no retries here (the delivery
    schedules them), CONNECT_TIMEOUT to connect and about TOTAL_TIMEOUT in all. Raises urllib3's errors."""
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if ":" in target.host and target.port != default_port:
        host_header = f"[{target.host}]:{target.port}"
    deadline = time.monotonic() + TOTAL_TIMEOUT
    timeout = urllib3.Timeout(connect=min(CONNECT_TIMEOUT, TOTAL_TIMEOUT), read=TOTAL_TIMEOUT)
    common = {"port": target.port, "timeout": timeout, "retries": False, "maxsize": 1}
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.ip, server_hostname=target.host, ssl_context=ssl_context(), cert_reqs="CERT_REQUIRED", **common
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.ip, **common)
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": host_header, "User-Agent": USER_AGENT},
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            received = b""
            # Reads in small pieces until the excerpt is full, so a body trickled byte by byte stops at the deadline.
            while len(received) < RESPONSE_LIMIT and time.monotonic() < deadline:
                chunk = response.read(min(512, RESPONSE_LIMIT - len(received)))
                if not chunk:
                    break
                received += chunk
        finally:
            response.release_conn()
        return Response(status=response.status, body=received.decode("utf-8", errors="replace"))
    finally:
        pool.close()
