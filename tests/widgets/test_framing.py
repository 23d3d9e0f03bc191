"""Who may frame the widget: CSP frame-ancestors from the business's allowed origins, and no X-Frame-Options."""

from __future__ import annotations

from django.http import HttpResponse
from django.test import RequestFactory
from django_scopes import scope

from widgets import framing
from widgets.models import WidgetSettings
from widgets.services import WidgetLookData, widget_look_update


def allow(business, owner, origins: str) -> None:
    with scope(business=business):
        widget_look_update(
            business=business,
            data=WidgetLookData(
                primary_colour="#0f766e",
                accent_colour="#b54708",
                button_label="Book now",
                share_message="Book: {link}",
                allowed_origins=origins,
            ),
            actor=owner,
        )


def test_without_allowed_origins_only_this_site_may_frame_the_widget(client, business):
    response = client.get(f"/w/{business.slug}/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert not response.has_header("X-Frame-Options")


def test_the_allowed_origins_are_listed(client, business, owner):
    allow(business, owner, "https://www.serenity.example\nhttp://localhost:8080\nhttps://*.serenity.example")
    response = client.get(f"/w/{business.slug}/")
    assert response["Content-Security-Policy"] == (
        "frame-ancestors 'self' https://www.serenity.example http://localhost:8080 https://*.serenity.example"
    )
    assert not response.has_header("X-Frame-Options")


def test_every_page_under_the_business_gets_the_policy_even_a_404(client, business, owner):
    allow(business, owner, "https://www.serenity.example")
    response = client.get(f"/w/{business.slug}/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Security-Policy"] == "frame-ancestors 'self' https://www.serenity.example"
    assert not response.has_header("X-Frame-Options")


def test_an_unknown_business_answers_404_framed_by_this_site_only(client, db):
    response = client.get("/w/no-such-studio/")
    assert response.status_code == 404
    assert response["Content-Security-Policy"] == "frame-ancestors 'self'"


def test_one_business_origins_never_apply_to_another(client, business, owner, other_business):
    allow(business, owner, "https://www.serenity.example")
    assert client.get(f"/w/{other_business.slug}/")["Content-Security-Policy"] == "frame-ancestors 'self'"


def test_saving_takes_effect_at_once_and_the_lookup_is_cached(client, business, owner, django_assert_num_queries):
    client.get(f"/w/{business.slug}/")
    with django_assert_num_queries(0):
        assert framing.allowed_origins(business.slug) == []
    allow(business, owner, "https://www.serenity.example")
    with django_assert_num_queries(1):
        assert framing.allowed_origins(business.slug) == ["https://www.serenity.example"]
    with django_assert_num_queries(0):
        assert framing.allowed_origins(business.slug) == ["https://www.serenity.example"]
    allow(business, owner, "")
    assert client.get(f"/w/{business.slug}/")["Content-Security-Policy"] == "frame-ancestors 'self'"


def test_the_cache_is_forgotten_again_after_commit(business, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        allow(business, owner, "https://www.serenity.example")
    assert len(callbacks) == 1
    assert framing.allowed_origins(business.slug) == ["https://www.serenity.example"]


def test_other_pages_keep_their_x_frame_options(client, db):
    response = client.get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors" not in response.get("Content-Security-Policy", "")


def test_the_embed_script_and_the_logo_are_not_framing_documents(client, business, owner):
    response = client.get("/w/embed.js")
    assert "frame-ancestors" not in response.get("Content-Security-Policy", "")
    allow(business, owner, "https://www.serenity.example")
    with scope(business=business):
        WidgetSettings.objects.filter(business=business).update(
            logo=b"\x89PNG\r\n\x1a\nxx", logo_content_type="image/png", logo_digest="ab"
        )
    response = client.get(f"/w/{business.slug}/logo/ab")
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_a_policy_of_the_page_itself_is_kept_and_only_framing_replaced(business, owner):
    allow(business, owner, "https://www.serenity.example")

    def view(request):
        response = HttpResponse("ok")
        response["Content-Security-Policy"] = "default-src 'self'; frame-ancestors *; img-src data:"
        return response

    middleware = framing.WidgetFramingMiddleware(view)
    response = middleware(RequestFactory().get(f"/w/{business.slug}/book/"))
    assert response["Content-Security-Policy"] == (
        "default-src 'self'; img-src data:; frame-ancestors 'self' https://www.serenity.example"
    )


def test_the_middleware_runs_after_x_frame_options_on_the_response(settings):
    middleware = list(settings.MIDDLEWARE)
    assert middleware.index("widgets.framing.WidgetFramingMiddleware") < middleware.index(
        "django.middleware.clickjacking.XFrameOptionsMiddleware"
    )
