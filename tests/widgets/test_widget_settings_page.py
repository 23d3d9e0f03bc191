"""The dashboard's Widget page: owner only, the snippet, saving the look/texts/logo/origins, the logo's URL, the
live preview, and the public landing page drawn with the saved theme."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope, scopes_disabled

from businesses.models import AuditLog
from widgets.look import LOGO_MAX_BYTES
from widgets.models import DEFAULT_PRIMARY_COLOUR, OnlineBookingStatus, WidgetSettings
from widgets.selectors import widget_theme

from .images import SVG, png

VALID = {
    "primary_colour": "#6D28D9",
    "accent_colour": "#be185d",
    "headline": "  Book your calm  ",
    "intro": "Deep tissue and relaxing massage in the old town.",
    "button_label": "Book a massage",
    "share_message": "I love {business_name}: book with my link and get {offer}: {link}",
    "allowed_origins": "https://www.serenity.example/\n\nhttp://localhost:8080",
}


def url(business, name: str = "") -> str:
    return f"/b/{business.slug}/widget/{name}"


def saved(business) -> WidgetSettings | None:
    with scopes_disabled():
        return WidgetSettings.objects.filter(business=business).first()


def test_the_owner_sees_the_snippet_with_the_site_address(owner_client, business, settings):
    settings.SITE_URL = "https://app.referrals.example"
    response = owner_client.get(url(business))
    assert response.status_code == 200
    html = response.content.decode()
    snippet = (
        f"&lt;div data-referral-widget=&quot;{business.slug}&quot;&gt;&lt;/div&gt;\n"
        "&lt;script async src=&quot;https://app.referrals.example/w/embed.js&quot;&gt;&lt;/script&gt;"
    )
    assert snippet in html
    assert "data-referral-widget-path=&quot;me/&quot;" in html
    assert f"https://app.referrals.example/w/{business.slug}/" in html
    assert "data-no-origins" in html
    assert f'src="/b/{business.slug}/widget/preview/"' in html
    assert 'value="#0f766e"' in html


def test_staff_get_403_and_another_business_404(client, business, staff, outsider):
    client.force_login(staff)
    assert client.get(url(business)).status_code == 403
    assert client.post(url(business), VALID).status_code == 403
    assert client.get(url(business, "preview/")).status_code == 403
    client.force_login(outsider)
    assert client.get(url(business)).status_code == 404
    assert client.post(url(business), VALID).status_code == 404
    assert saved(business) is None


def test_the_widget_section_is_in_the_owners_navigation_only(client, business, owner, staff):
    client.force_login(owner)
    assert f'href="/b/{business.slug}/widget/"' in client.get(f"/b/{business.slug}/").content.decode()
    client.force_login(staff)
    assert f'href="/b/{business.slug}/widget/"' not in client.get(f"/b/{business.slug}/").content.decode()


def test_saving_stores_normalised_values_and_keeps_the_booking_status(owner_client, business, owner):
    with scope(business=business):
        WidgetSettings.objects.create(business=business, online_booking_status=OnlineBookingStatus.CONFIRMED)
    response = owner_client.post(url(business), VALID)
    assert response.status_code == 302
    assert response["Location"] == url(business)
    row = saved(business)
    assert row.primary_colour == "#6d28d9"
    assert row.accent_colour == "#be185d"
    assert row.headline == "Book your calm"
    assert row.button_label == "Book a massage"
    assert row.allowed_origins == "https://www.serenity.example\nhttp://localhost:8080"
    assert row.allowed_origin_list == ["https://www.serenity.example", "http://localhost:8080"]
    assert row.online_booking_status == OnlineBookingStatus.CONFIRMED
    with scopes_disabled():
        audit = AuditLog.objects.get(business=business, action="widget.look_updated")
    assert audit.actor == owner
    assert "allowed_origins" in audit.payload["changed"] and "primary_colour" in audit.payload["changed"]
    page = owner_client.get(url(business)).content.decode()
    assert "The widget settings were saved." in page
    assert "<code>https://www.serenity.example</code>" in page
    assert "data-no-origins" not in page


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("primary_colour", "#8b5cf6", "too light for white text"),
        ("accent_colour", "yellow", "#rrggbb"),
        ("allowed_origins", "https://ok.example\nwww.example.com", "Line 2 (www.example.com): start it with https://"),
        ("share_message", "Hi {first_name}: {link}", "Only these placeholders"),
        ("share_message", "Come to {business_name}", "must contain {link}"),
        ("button_label", "   ", "This field is required"),
        ("headline", "x" * 81, "at most 80 characters"),
    ],
)
def test_a_refused_value_is_shown_and_nothing_is_saved(owner_client, business, field, value, message):
    response = owner_client.post(url(business), {**VALID, field: value})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html.replace("&#x27;", "'").replace("&quot;", '"')
    assert saved(business) is None
    assert "data-bound" in html


def test_a_png_logo_is_stored_and_served_under_its_digest(owner_client, client, business):
    image = png()
    upload = SimpleUploadedFile("logo.png", image, content_type="image/png")
    assert owner_client.post(url(business), {**VALID, "logo": upload}).status_code == 302
    row = saved(business)
    assert bytes(row.logo) == image
    assert row.logo_content_type == "image/png"
    assert re.fullmatch(r"[0-9a-f]{16}", row.logo_digest)

    logo_url = f"/w/{business.slug}/logo/{row.logo_digest}"
    response = client.get(logo_url)
    assert response.status_code == 200
    assert response.content == image
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in response["Cache-Control"] and "max-age=31536000" in response["Cache-Control"]
    assert "frame-ancestors" not in response.get("Content-Security-Policy", "")
    assert client.get(f"/w/{business.slug}/logo/0000000000000000").status_code == 404
    assert client.post(logo_url).status_code == 405
    # The public pages and the Widget page show it.
    assert f'src="{logo_url}"' in client.get(f"/w/{business.slug}/").content.decode()
    assert f'src="{logo_url}"' in owner_client.get(url(business)).content.decode()


def test_a_new_logo_gets_a_new_url_and_removing_it_stops_serving(owner_client, client, business):
    owner_client.post(url(business), {**VALID, "logo": SimpleUploadedFile("a.png", png(rgb=(1, 2, 3)))})
    first = saved(business).logo_digest
    owner_client.post(url(business), {**VALID, "logo": SimpleUploadedFile("b.png", png(rgb=(4, 5, 6)))})
    second = saved(business).logo_digest
    assert first != second
    assert client.get(f"/w/{business.slug}/logo/{first}").status_code == 404
    assert client.get(f"/w/{business.slug}/logo/{second}").status_code == 200
    # Saving without a file keeps the logo.
    owner_client.post(url(business), VALID)
    assert saved(business).logo_digest == second
    owner_client.post(url(business), {**VALID, "remove_logo": "on"})
    row = saved(business)
    assert (row.logo, row.logo_content_type, row.logo_digest) == (None, "", "")
    assert client.get(f"/w/{business.slug}/logo/{second}").status_code == 404


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("logo.svg", SVG, "SVG logos are not accepted"),
        ("logo.png", SVG, "SVG logos are not accepted"),
        ("logo.png", b"GIF89a" + b"\x00" * 30, "must be a PNG, JPEG or WebP"),
        ("logo.png", png() + b"\x00" * LOGO_MAX_BYTES, "the most is 200 KB"),
    ],
)
def test_a_refused_logo_changes_nothing(owner_client, business, name, data, message):
    response = owner_client.post(url(business), {**VALID, "logo": SimpleUploadedFile(name, data)})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert saved(business) is None


def test_the_preview_draws_the_unsaved_values_without_saving(owner_client, business):
    response = owner_client.get(
        url(business, "preview/"),
        {"primary_colour": "#6d28d9", "accent_colour": "#ffff00", "headline": "Try me", "intro": "Unsaved intro"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "--brand: #6d28d9" in html
    # A colour that would be refused shows the saved (here the default) one.
    assert "--widget-accent: #b54708" in html
    assert "<h1>Try me</h1>" in html and "Unsaved intro" in html
    # Framed by the Widget page on this site only.
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert saved(business) is None
    assert owner_client.post(url(business, "preview/")).status_code == 405


def test_the_landing_page_uses_the_saved_theme(owner_client, client, business):
    landing = client.get(f"/w/{business.slug}/").content.decode()
    assert f"--brand: {DEFAULT_PRIMARY_COLOUR}" in landing
    assert f"<h1>{business.name}</h1>" in landing
    assert "widgets/frame.js" in landing
    owner_client.post(url(business), VALID)
    landing = client.get(f"/w/{business.slug}/").content.decode()
    assert "--brand: #6d28d9" in landing and "--widget-accent: #be185d" in landing
    assert "<h1>Book your calm</h1>" in landing
    assert "Deep tissue and relaxing massage in the old town." in landing


def test_the_theme_is_one_query_and_never_loads_the_logo_bytes(business, django_assert_num_queries):
    with scope(business=business):
        WidgetSettings.objects.create(business=business, logo=png(), logo_content_type="image/png", logo_digest="ab")
        with django_assert_num_queries(1) as captured:
            theme = widget_theme(business)
    assert theme["logo_url"] == f"/w/{business.slug}/logo/ab"
    assert theme["headline"] == business.name
    assert '"logo"' not in captured.captured_queries[0]["sql"].replace('"logo_', "")


def test_the_demo_widget_is_seeded_once_and_the_owners_changes_are_kept(business, owner):
    from businesses.demo import DemoContext
    from widgets.demo import widget_look_seed

    context = DemoContext(business=business, owner=owner, staff=None)
    widget_look_seed(context)
    row = saved(business)
    assert row.allowed_origin_list == ["http://localhost:8080", "http://127.0.0.1:8080"]
    assert row.headline == "Book your massage at Serenity"
    with scopes_disabled():
        WidgetSettings.objects.filter(pk=row.pk).update(headline="Changed by the owner")
    widget_look_seed(context)
    assert saved(business).headline == "Changed by the owner"
