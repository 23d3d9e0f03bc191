"""Pure checks for what an owner sets on the Widget page: colours (with their contrast), the logo, the share message.

No database: each function takes what was typed or uploaded and returns the normalised value, or raises a
ValidationError that says in plain words what to change.
"""

from __future__ import annotations

import hashlib
import re

from django.core.exceptions import ValidationError

# WCAG 2 level AA for normal text: the widget's buttons and banners put white text on these colours.
MIN_CONTRAST = 4.5
_HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")

LOGO_MAX_BYTES = 200 * 1024
LOGO_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP"}

SHARE_PLACEHOLDERS = ("{business_name}", "{offer}", "{link}")


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #rrggbb colour."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def colour_clean(raw: str, *, label: str) -> str:
    """`raw` as a lower-case #rrggbb that white text can sit on (contrast at least 4.5:1), or ValidationError."""
    match = _HEX_COLOUR.fullmatch((raw or "").strip())
    if match is None:
        raise ValidationError(f"{label}: enter a colour as #rrggbb, for example #0f766e.", code="colour_format")
    colour = "#" + match.group(1).lower()
    ratio = contrast_ratio(colour, "#ffffff")
    # Rounded down, so that 4.496 is not shown as "4.5:1" next to "needs 4.5:1".
    if ratio < MIN_CONTRAST:
        raise ValidationError(
            f"{label} {colour} is too light for white text: its contrast is {int(ratio * 100) / 100:.2f}:1 and "
            f"needs at least {MIN_CONTRAST}:1 (WCAG AA). Choose a darker shade.",
            code="colour_contrast",
        )
    return colour


def mix(colour: str, other: str, share: float) -> str:
    """`colour` moved `share` (0..1) of the way towards `other`: shades for hover states and soft backgrounds."""
    channels = []
    for i in (1, 3, 5):
        a, b = int(colour[i : i + 2], 16), int(other[i : i + 2], 16)
        channels.append(round(a + (b - a) * share))
    return "#" + "".join(f"{c:02x}" for c in channels)


def logo_content_type(data: bytes) -> str:
    """The image type of an uploaded logo, told by its first bytes (never by its name or the browser's word)."""
    if not data:
        raise ValidationError("The logo file is empty.", code="logo_empty")
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError(
            f"The logo is {len(data) // 1024} KB; the most is {LOGO_MAX_BYTES // 1024} KB. Export it smaller.",
            code="logo_size",
        )
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    head = data[:256].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head:
        # An SVG can carry scripts and is served from our own origin: never accepted.
        raise ValidationError("SVG logos are not accepted: upload a PNG, JPEG or WebP image.", code="logo_svg")
    raise ValidationError("The logo must be a PNG, JPEG or WebP image.", code="logo_type")


def logo_digest(data: bytes) -> str:
    """A short content hash: part of the logo's URL, so a new logo gets a new URL and the old one can be cached."""
    return hashlib.sha256(data).hexdigest()[:16]


def share_message_clean(raw: str) -> str:
    """The share message with only {business_name}, {offer} and {link} as placeholders, and {link} present."""
    text = " ".join((raw or "").split())
    if not text:
        raise ValidationError("Write the message your clients share; it must contain {link}.", code="share_empty")
    rest = text
    for placeholder in SHARE_PLACEHOLDERS:
        rest = rest.replace(placeholder, "")
    if "{" in rest or "}" in rest:
        unknown = sorted(set(re.findall(r"\{[^{}]*\}", rest)))
        named = f" ({', '.join(unknown)})" if unknown else ""
        raise ValidationError(
            f"Only these placeholders can be used: {', '.join(SHARE_PLACEHOLDERS)}{named}. "
            "Curly braces cannot be used otherwise.",
            code="share_placeholder",
        )
    if "{link}" not in text:
        raise ValidationError("The message must contain {link}, the client's referral link.", code="share_link")
    return text
