"""/w/embed.js: the script a business's website loads; the origin it frames and trusts comes from SITE_URL."""

from __future__ import annotations

import pytest

from widgets.views import embed_snippet


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://app.referrals.example"
    return settings


def test_it_is_javascript_with_the_sites_origin_baked_in(client, db, site):
    response = client.get("/w/embed.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript; charset=utf-8"
    body = response.content.decode()
    assert 'var ORIGIN = "https://app.referrals.example";' in body
    assert body.count("{{") == 0 and "{%" not in body
    assert response["Cache-Control"] == "public, max-age=3600"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_it_checks_the_origin_and_the_frame_of_every_message(client, db, site):
    body = client.get("/w/embed.js").content.decode()
    assert "event.origin !== ORIGIN" in body
    assert "frames[i].contentWindow === event.source" in body
    assert '"referral-widget:height"' in body
    # First-party storage only, namespaced per business, never cookies.
    assert "localStorage" in body and 'STORE_PREFIX = "referral-widget:"' in body
    assert "document.cookie" not in body
    assert "90 * 24 * 60 * 60 * 1000" in body


def test_only_the_origin_of_site_url_is_used(client, db, settings):
    settings.SITE_URL = "http://127.0.0.1:8000/some/prefix"
    body = client.get("/w/embed.js").content.decode()
    assert 'var ORIGIN = "http://127.0.0.1:8000";' in body


def test_a_repeated_request_is_answered_not_modified(client, db, site):
    first = client.get("/w/embed.js")
    again = client.get("/w/embed.js", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    site.SITE_URL = "https://other.example"
    assert client.get("/w/embed.js", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_only_get_and_head(client, db, site):
    assert client.head("/w/embed.js").status_code == 200
    assert client.post("/w/embed.js").status_code == 405


def test_no_session_or_database_is_needed(client, db, site, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/w/embed.js")
    assert "Set-Cookie" not in str(response.headers)
    assert not response.cookies


def test_the_snippet_points_at_the_script_and_the_business(site):
    assert embed_snippet("serenity-massage") == (
        '<div data-referral-widget="serenity-massage"></div>\n'
        '<script async src="https://app.referrals.example/w/embed.js"></script>'
    )
    assert 'data-referral-widget-path="me/"' in embed_snippet("serenity-massage", "me/")


def test_the_widget_pages_report_their_height_to_the_parent(client, business):
    html = client.get(f"/w/{business.slug}/").content.decode()
    assert 'src="/static/widgets/frame.js"' in html


def test_the_height_script_posts_only_a_height(client, db):
    from pathlib import Path

    from django.conf import settings

    script = (Path(settings.BASE_DIR) / "static" / "widgets" / "frame.js").read_text()
    assert 'window.parent.postMessage({ type: "referral-widget:height", height: height }, "*")' in script
    assert "ResizeObserver" in script and 'addEventListener("message"' not in script
