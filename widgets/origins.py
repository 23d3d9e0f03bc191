"""The websites allowed to embed a business's widget: parsed, checked and normalised into CSP host sources.

Each origin is rebuilt from its parsed parts (scheme, host, port), never copied as typed, so nothing an owner types
can add a directive or a keyword such as 'unsafe-inline' to the Content-Security-Policy header.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

MAX_ORIGINS = 20
DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_FORBIDDEN = re.compile(r"[\s'\";,\\]")


def _hostname(host: str, *, wildcard_allowed: bool) -> str:
    if host.startswith("*."):
        if not wildcard_allowed:
            raise ValueError("a wildcard can only stand for the first part of the name")
        # Two labels at least after the wildcard: *.example.com, never *.com.
        rest = _hostname(host[2:], wildcard_allowed=False)
        if "." not in rest:
            raise ValueError("a wildcard needs a domain under it, such as *.example.com")
        return "*." + rest
    if "*" in host:
        raise ValueError("a wildcard is only allowed as the first part of the name, such as https://*.example.com")
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as error:
        raise ValueError("the host name is not valid") from error
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError("the host name is not valid")
    if labels[-1].isdigit():
        raise ValueError("the address is not a valid IP address")
    return ascii_host


def origin_normalise(raw: str) -> str:
    """`raw` as `scheme://host[:port]` (lower case, default port dropped), or ValueError saying what is wrong."""
    text = raw.strip()
    if _FORBIDDEN.search(text):
        raise ValueError("it contains spaces, quotes or punctuation that no web address has")
    if "://" not in text:
        raise ValueError("start it with https:// (or http://)")
    try:
        parts = urlsplit(text)
    except ValueError as error:
        # Python checks the brackets of an IPv6 address (and what is inside them) while splitting.
        raise ValueError("the address is not valid") from error
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("only http:// and https:// websites can embed the widget")
    if parts.username is not None or parts.password is not None:
        raise ValueError("a user name or password does not belong in it")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValueError("give the website's address only, without a page path")
    try:
        port = parts.port
    except ValueError as error:
        raise ValueError("the port must be a number from 1 to 65535") from error
    if port == 0:
        raise ValueError("the port must be a number from 1 to 65535")
    host = parts.hostname or ""
    if not host:
        raise ValueError("the host name is missing")
    if parts.netloc.split("@")[-1].startswith("["):
        try:
            host = f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError as error:
            raise ValueError("the IPv6 address is not valid") from error
    else:
        try:
            host = str(ipaddress.IPv4Address(host))
        except ValueError:
            host = _hostname(host, wildcard_allowed=True)
    if port is not None and port != DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def origins_parse(text: str) -> list[str]:
    """One origin per line, normalised, without duplicates (first kept), at most MAX_ORIGINS; blank lines skipped.

    Raises one ValidationError listing every line that is wrong, so the owner can fix them all at once.
    """
    origins: list[str] = []
    problems: list[str] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            origin = origin_normalise(line)
        except ValueError as error:
            shown = line.strip()
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            problems.append(f"Line {number} ({shown}): {error}.")
            continue
        if origin not in origins:
            origins.append(origin)
    if problems:
        raise ValidationError(problems, code="origin")
    if len(origins) > MAX_ORIGINS:
        raise ValidationError(
            f"At most {MAX_ORIGINS} websites can embed the widget; {len(origins)} are listed.", code="origin_count"
        )
    return origins


def frame_ancestors(origins: list[str]) -> str:
    """The CSP directive: this site itself plus the allowed origins (which origins_parse already normalised)."""
    return " ".join(["frame-ancestors", "'self'", *origins])
