"""The Widget page's checks, without a database: colours and their contrast, origins, logo bytes, share message."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from widgets.look import (
    LOGO_MAX_BYTES,
    colour_clean,
    contrast_ratio,
    logo_content_type,
    mix,
    share_message_clean,
)
from widgets.origins import MAX_ORIGINS, frame_ancestors, origin_normalise, origins_parse

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 40


@pytest.mark.parametrize(
    "first,second,ratio",
    [
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#ffffff", 1.0),
        ("#767676", "#ffffff", 4.54),
        ("#ffffff", "#777777", 4.48),
    ],
)
def test_contrast_ratio_follows_wcag(first, second, ratio):
    assert contrast_ratio(first, second) == pytest.approx(ratio, abs=0.01)


@pytest.mark.parametrize(
    "typed,stored",
    [("#0F766E", "#0f766e"), ("0f766e", "#0f766e"), (" #767676 ", "#767676"), ("#000000", "#000000")],
)
def test_a_dark_enough_colour_is_kept_in_lower_case(typed, stored):
    assert colour_clean(typed, label="Main colour") == stored


@pytest.mark.parametrize("typed", ["", "red", "#fff", "#0f766", "#0f766eff", "#gggggg", "rgb(0,0,0)"])
def test_a_colour_that_is_not_rrggbb_is_refused(typed):
    with pytest.raises(ValidationError) as error:
        colour_clean(typed, label="Main colour")
    assert error.value.code == "colour_format"
    assert "#rrggbb" in error.value.messages[0]


@pytest.mark.parametrize("typed", ["#777777", "#8b5cf6", "#2dd4bf", "#ffffff", "#ffff00"])
def test_a_colour_white_text_is_unreadable_on_is_refused_with_its_contrast(typed):
    with pytest.raises(ValidationError) as error:
        colour_clean(typed, label="The main colour")
    assert error.value.code == "colour_contrast"
    message = error.value.messages[0]
    assert typed in message and "needs at least 4.5:1" in message
    # Rounded down: #777777 (4.48:1) never reads as if it met the 4.5:1 it is refused for.
    if typed == "#777777":
        assert "4.47:1" in message


def test_mix_moves_towards_the_other_colour():
    assert mix("#000000", "#ffffff", 0.5) == "#808080"
    assert mix("#0f766e", "#000000", 0) == "#0f766e"
    assert mix("#0f766e", "#ffffff", 1) == "#ffffff"


@pytest.mark.parametrize(
    "typed,origin",
    [
        ("https://www.example.com", "https://www.example.com"),
        ("HTTPS://WWW.Example.COM/", "https://www.example.com"),
        ("https://example.com:443", "https://example.com"),
        ("http://example.com:80", "http://example.com"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("https://example.com:8443/", "https://example.com:8443"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("https://[0:0:0:0:0:0:0:1]", "https://[::1]"),
        ("https://bücher.de", "https://xn--bcher-kva.de"),
        ("https://*.example.com", "https://*.example.com"),
        ("  https://spa-studio.co.uk  ", "https://spa-studio.co.uk"),
    ],
)
def test_an_origin_is_normalised(typed, origin):
    assert origin_normalise(typed) == origin


@pytest.mark.parametrize(
    "typed,reason",
    [
        ("www.example.com", "start it with https://"),
        ("ftp://example.com", "only http:// and https://"),
        ("javascript://example.com", "only http:// and https://"),
        ("https://example.com/booking", "without a page path"),
        ("https://example.com/?x=1", "without a page path"),
        ("https://example.com#top", "without a page path"),
        ("https://user:pw@example.com", "user name or password"),
        ("https://example.com:99999", "port must be a number"),
        ("https://example.com:0", "port must be a number"),
        ("https://example.com:http", "port must be a number"),
        ("https://", "host name is missing"),
        ("https://*", "wildcard"),
        ("https://*.com", "a wildcard needs a domain under it"),
        ("https://www.*.example.com", "only allowed as the first part"),
        ("https://*.*.example.com", "only stand for the first part"),
        ("*", "start it with https://"),
        ("https://exa mple.com", "spaces, quotes"),
        ("https://example.com 'unsafe-inline'", "spaces, quotes"),
        ("https://example.com;script-src", "spaces, quotes"),
        ("https://example.com,https://other.com", "spaces, quotes"),
        ("https://-bad-.example.com", "host name is not valid"),
        ("https://example..com", "host name is not valid"),
        ("https://999.1.1.1", "not a valid IP address"),
        ("https://[::zz]", "is not valid"),
        ("https://[::1", "is not valid"),
        ("'self'", "spaces, quotes"),
    ],
)
def test_a_bad_origin_says_what_is_wrong(typed, reason):
    with pytest.raises(ValueError) as error:
        origin_normalise(typed)
    assert reason in str(error.value)


def test_origins_are_one_per_line_without_blanks_or_duplicates():
    text = (
        "https://www.example.com\n\n  http://localhost:8080/ \nHTTPS://www.example.com:443\r\nhttps://*.example.org\n"
    )
    assert origins_parse(text) == ["https://www.example.com", "http://localhost:8080", "https://*.example.org"]
    assert origins_parse("") == []
    assert origins_parse("\n \n") == []


def test_every_bad_line_is_named_at_once():
    with pytest.raises(ValidationError) as error:
        origins_parse("https://ok.example.com\nexample.com\nhttps://example.com/page")
    messages = error.value.messages
    assert len(messages) == 2
    assert messages[0].startswith("Line 2 (example.com): start it with https://")
    assert messages[1].startswith("Line 3 (https://example.com/page): give the website's address only")


def test_at_most_twenty_origins():
    lines = [f"https://site{n}.example.com" for n in range(MAX_ORIGINS)]
    assert len(origins_parse("\n".join(lines))) == MAX_ORIGINS
    with pytest.raises(ValidationError) as error:
        origins_parse("\n".join([*lines, "https://one-too-many.example.com"]))
    assert "At most 20 websites" in error.value.messages[0]


def test_the_csp_directive_is_self_plus_the_origins():
    assert frame_ancestors([]) == "frame-ancestors 'self'"
    assert frame_ancestors(["https://a.example", "http://localhost:8080"]) == (
        "frame-ancestors 'self' https://a.example http://localhost:8080"
    )


@pytest.mark.parametrize("data,content_type", [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")])
def test_a_logo_is_recognised_by_its_first_bytes(data, content_type):
    assert logo_content_type(data) == content_type


@pytest.mark.parametrize(
    "data,code",
    [
        (b"", "logo_empty"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "logo_svg"),
        (b"  <svg xmlns='http://www.w3.org/2000/svg'></svg>", "logo_svg"),
        (b"<!-- logo --><svg></svg>", "logo_svg"),
        (b"GIF89a" + b"\x00" * 20, "logo_type"),
        (b"<html><script>alert(1)</script></html>", "logo_type"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "logo_type"),
        (PNG[:7], "logo_type"),
        (PNG + b"\x00" * LOGO_MAX_BYTES, "logo_size"),
    ],
)
def test_anything_but_a_small_png_jpeg_or_webp_is_refused(data, code):
    with pytest.raises(ValidationError) as error:
        logo_content_type(data)
    assert error.value.code == code


def test_a_logo_of_exactly_the_limit_is_accepted():
    assert logo_content_type(PNG + b"\x00" * (LOGO_MAX_BYTES - len(PNG))) == "image/png"


@pytest.mark.parametrize(
    "typed,stored",
    [
        ("Book {business_name} with my link: {link}", "Book {business_name} with my link: {link}"),
        ("Get {offer} at {business_name}:\n{link}", "Get {offer} at {business_name}: {link}"),
        ("{link}", "{link}"),
    ],
)
def test_a_share_message_with_the_three_placeholders_is_kept(typed, stored):
    assert share_message_clean(typed) == stored


@pytest.mark.parametrize(
    "typed,code",
    [
        ("", "share_empty"),
        ("   ", "share_empty"),
        ("Come to {business_name}!", "share_link"),
        ("Hi {first_name}, book: {link}", "share_placeholder"),
        ("{link.__class__}", "share_placeholder"),
        ("{link!r}", "share_placeholder"),
        ("{link:>100}", "share_placeholder"),
        ("{0} {link}", "share_placeholder"),
        ("Smile :} {link}", "share_placeholder"),
        ("{{link}}", "share_placeholder"),
    ],
)
def test_a_share_message_with_anything_else_in_braces_is_refused(typed, code):
    with pytest.raises(ValidationError) as error:
        share_message_clean(typed)
    assert error.value.code == code


def test_the_refused_placeholder_is_named():
    with pytest.raises(ValidationError) as error:
        share_message_clean("Hi {first_name}, book: {link}")
    assert "{first_name}" in error.value.messages[0]
    assert "{business_name}, {offer}, {link}" in error.value.messages[0]
