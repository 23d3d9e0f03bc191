"""The widget embedded in a business's own website, in a real browser.

The website is a second HTTP server on another host name than the live server's (127.0.0.1 against localhost, or
the other way round): another origin and another site, so the iframe is truly cross-site, as on a customer's site.
Also the owner's Widget page: the live preview follows the colours and texts as they are typed, and the copy button
puts the snippet on the clipboard.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from businesses.models import Role, Service
from clients.services import ClientData, client_create
from referrals.codes import code_for_client
from referrals.models import ReferralProgram, ReferralRule
from widgets.services import WidgetLookData, widget_look_update

from ..factories import BusinessFactory, make_member

SLUG = "serenity-embed"
HOST_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Serenity Massage: our own website</title>
<link rel="icon" href="data:,"></head>
<body style="margin:0;font-family:sans-serif">
<header style="padding:1rem;background:#eee"><h1>Welcome to Serenity (the business's own site)</h1></header>
<main style="max-width:60rem;margin:0 auto">
{snippet}
</main>
<footer style="padding:1rem">Footer of the host page</footer>
</body></html>
"""
# Chromium's console line when a frame-ancestors policy refuses the frame (provoked on purpose below).
REFUSED_TO_FRAME = r"^Framing '.*' violates the following Content Security Policy directive"


@pytest.fixture
def host_site(website):
    """`host_site.page(name, snippet)`: a page of the business's own website with the snippet in it."""

    class HostSite:
        origin = website.origin

        @staticmethod
        def page(name: str, snippet: str) -> str:
            return website(f"/{name}", HOST_PAGE.format(snippet=snippet))

    return HostSite


@pytest.fixture
def studio(site_url):
    business = BusinessFactory(name="Serenity Massage Studio", slug=SLUG, currency="USD")
    with scope(business=business):
        yield business


@pytest.fixture
def owner(studio):
    return make_member(studio, Role.OWNER, email="maya@serenity.example", first_name="Maya", last_name="Lindqvist")


@pytest.fixture
def anna_code(studio):
    """Anna refers friends; the program gives them 15% off the massage."""
    massage = Service.objects.create(
        business=studio, name="Swedish massage", price=85_00, duration_minutes=60, online_bookable=True
    )
    Service.objects.create(business=studio, name="Hot stone massage", price=110_00, duration_minutes=90)
    program = ReferralProgram.objects.create(business=studio, enabled=True)
    rule = ReferralRule.objects.create(
        business=studio, program=program, position=0, referee_kind="percent", referee_percent=15
    )
    rule.services.set([massage])
    anna = client_create(business=studio, data=ClientData(first_name="Anna", last_name="Berg", email="anna@x.example"))
    return code_for_client(business=studio, client=anna)


def allow_origins(business, owner, origins: str, **texts) -> None:
    widget_look_update(
        business=business,
        data=WidgetLookData(
            primary_colour=texts.get("primary_colour", "#6d28d9"),
            accent_colour="#be185d",
            headline=texts.get("headline", "Book your calm"),
            intro=texts.get("intro", "Massage in the old town. Referred friends get 15% off their first visit."),
            button_label="Book a massage",
            share_message="Book {business_name} with my link: {link}",
            allowed_origins=origins,
        ),
        actor=owner,
    )


def snippet(live_server_url: str, path: str = "") -> str:
    extra = f' data-referral-widget-path="{path}"' if path else ""
    return (
        f'<div data-referral-widget="{SLUG}"{extra}></div>\n<script async src="{live_server_url}/w/embed.js"></script>'
    )


def widget_frame(page):
    return page.frame_locator("[data-referral-widget] iframe")


def content_height(page) -> int:
    frame = page.locator("[data-referral-widget] iframe").element_handle().content_frame()
    return frame.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)")


def iframe_height(page) -> float:
    return page.locator("[data-referral-widget] iframe").bounding_box()["height"]


def assert_fits_content(page) -> None:
    """The iframe's height becomes its document's height (postMessage takes a moment to arrive)."""
    for _ in range(50):
        if abs(iframe_height(page) - content_height(page)) <= 1:
            return
        page.wait_for_timeout(100)
    pytest.fail(f"The iframe is {iframe_height(page)}px high for {content_height(page)}px of content")


def test_a_referral_link_to_the_business_website_is_kept_and_the_widget_fits_its_content(
    studio, owner, anna_code, host_site, live_server, new_context, console, shot, quiet_clicks
):
    url = host_site.page("book.html", snippet(live_server.url))
    allow_origins(studio, owner, f"{host_site.origin}\nhttps://www.serenity.example")
    ReferralProgram.objects.filter(business=studio).update(booking_url=url)

    context = new_context()
    console.watch(context)
    page = context.new_page()
    # The friend follows Anna's link: /r/<code> counts the click and sends them to the business's own website.
    page.goto(f"{live_server.url}/r/{anna_code.code.lower()}")
    expect(page).to_have_url(re.compile(rf"^{re.escape(url)}\?ref={anna_code.code}&ref_t="))
    frame = widget_frame(page)
    expect(frame.get_by_role("heading", level=1)).to_have_text("Book your calm")
    expect(frame.locator("[data-referral-banner]")).to_contain_text("Referred by Anna")
    expect(frame.locator("[data-referral-banner]")).to_contain_text("15% off Swedish massage")
    iframe = page.locator("[data-referral-widget] iframe")
    expect(iframe).to_have_attribute("title", "Online booking")
    src = iframe.get_attribute("src")
    assert src.startswith(f"{live_server.url}/w/{SLUG}/?ref={anna_code.code}&ref_t=")

    # The frame grows (or shrinks) to exactly its content: no inner scroll bar, no empty space.
    assert_fits_content(page)
    assert iframe_height(page) != 640
    # New content in the widget (a booking step opening, say) resizes it again through postMessage.
    before = iframe_height(page)
    iframe.element_handle().content_frame().evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', "
        "'<div id=grown style=\"height:500px\">More content</div>')"
    )
    page.wait_for_function(
        "(before) => document.querySelector('[data-referral-widget] iframe').getBoundingClientRect().height"
        " >= before + 499",
        arg=before,
    )
    assert_fits_content(page)
    shot(page, "host-page-with-referred-widget", docs="widget-embedded.png")

    # Kept in the host site's own storage, per business, with the time it was seen; no cookie anywhere.
    stored = json.loads(page.evaluate(f"localStorage.getItem('referral-widget:{SLUG}')"))
    assert stored["ref"] == anna_code.code and stored["ref_t"] and stored["at"] > 0
    assert page.evaluate("document.cookie") == ""
    assert context.cookies(host_site.origin) == []

    # Days later the friend comes back to the website without the link: the referral is still passed on.
    page.goto(url)
    expect(widget_frame(page).locator("[data-referral-banner]")).to_contain_text("Referred by Anna")
    src = page.locator("[data-referral-widget] iframe").get_attribute("src")
    assert src == f"{live_server.url}/w/{SLUG}/?ref={anna_code.code}&ref_t={quote(stored['ref_t'], safe='')}"
    shot(page, "host-page-later-visit")

    # Past the 90 days the script keeps a referral for, it is dropped: the widget opens without it.
    page.evaluate(
        f"""localStorage.setItem('referral-widget:{SLUG}', JSON.stringify(Object.assign(
            JSON.parse(localStorage.getItem('referral-widget:{SLUG}')), {{at: Date.now() - 91 * 86400000}})))"""
    )
    page.goto(url)
    expect(widget_frame(page).get_by_role("heading", level=1)).to_have_text("Book your calm")
    assert page.locator("[data-referral-widget] iframe").get_attribute("src") == f"{live_server.url}/w/{SLUG}/"
    expect(widget_frame(page).locator("[data-referral-banner]")).to_have_count(0)
    assert page.evaluate(f"localStorage.getItem('referral-widget:{SLUG}')") is None


def test_a_sub_page_opens_with_the_path_attribute_and_a_forged_height_message_is_ignored(
    studio, owner, host_site, live_server, new_context, console
):
    url = host_site.page(
        "profile.html",
        snippet(live_server.url, path="no-such-page/")
        + f'\n<div id="evil" data-referral-widget="{SLUG}" data-referral-widget-path="//evil.example/../x"></div>',
    )
    allow_origins(studio, owner, host_site.origin)
    context = new_context()
    console.watch(context)
    console.allow(r"status of 404")
    page = context.new_page()
    page.goto(url)
    iframe = page.locator("[data-referral-widget] iframe").first
    expect(iframe).to_have_attribute("src", f"{live_server.url}/w/{SLUG}/no-such-page/")
    # A path that is not a plain relative one opens the widget's first page, never somewhere else.
    expect(page.locator("#evil iframe")).to_have_attribute("src", f"{live_server.url}/w/{SLUG}/")
    # The host page itself (a different origin from ours) posts a height: the script ignores it.
    page.wait_for_timeout(300)
    height = iframe.bounding_box()["height"]
    page.evaluate("window.postMessage({type: 'referral-widget:height', height: 5}, '*')")
    page.wait_for_timeout(300)
    assert iframe.bounding_box()["height"] == height


def test_a_website_that_is_not_allowed_cannot_frame_the_widget(
    studio, owner, anna_code, host_site, live_server, new_context, console, shot
):
    url = host_site.page("stranger.html", snippet(live_server.url))
    allow_origins(studio, owner, "https://www.serenity.example")
    context = new_context()
    console.watch(context)
    console.allow(REFUSED_TO_FRAME)
    page = context.new_page()
    blocked = []
    page.on(
        "console", lambda message: blocked.append(message.text) if re.match(REFUSED_TO_FRAME, message.text) else None
    )
    page.goto(f"{url}?ref={anna_code.code}")
    iframe = page.locator("[data-referral-widget] iframe")
    expect(iframe).to_have_count(1)
    page.wait_for_timeout(500)
    frame = iframe.element_handle().content_frame()
    # Chromium refuses to render our page in the frame: it shows its own error page instead.
    assert frame.url == "chrome-error://chromewebdata/"
    assert "Book your calm" not in frame.content()
    assert "Referred by" not in frame.content()
    assert blocked and "frame-ancestors 'self' https://www.serenity.example" in blocked[0]
    shot(page, "host-page-not-allowed")


def test_the_owner_previews_colours_and_texts_live_and_copies_the_snippet(
    studio, owner, signed_in, live_server, console, shot
):
    page = signed_in(owner, permissions=["clipboard-read", "clipboard-write"])
    page.goto(f"/b/{SLUG}/widget/")
    expect(page.get_by_role("heading", name="Put the widget on your website")).to_be_visible()
    preview = page.frame_locator("#widget-preview")
    expect(preview.get_by_role("heading", level=1)).to_have_text("Serenity Massage Studio")

    page.get_by_label("Headline").fill("Relax, you're in good hands")
    page.get_by_label("Main colour").fill("#6d28d9")
    expect(preview.get_by_role("heading", level=1)).to_have_text("Relax, you're in good hands")
    # The preview is on this site, so the page can read the frame's colours: the typed one, not yet saved.
    page.wait_for_function(
        "(frame) => frame.contentDocument && getComputedStyle(frame.contentDocument.documentElement)"
        ".getPropertyValue('--brand').trim() === '#6d28d9'",
        arg=page.locator("#widget-preview").element_handle(),
    )
    shot(page, "widget-page-live-preview", docs="widget-settings.png")

    page.get_by_role("button", name="Copy the code").first.click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == (
        f'<div data-referral-widget="{SLUG}"></div>\n<script async src="{live_server.url}/w/embed.js"></script>'
    )

    # A colour white text is unreadable on is refused, with the reason next to it; the preview keeps a readable one.
    page.get_by_label("Main colour").fill("#8b5cf6")
    console.allow(r"^Failed to load resource: the server responded with a status of 400 .*/widget/")
    page.get_by_label("Websites allowed to embed the widget").fill(
        "https://www.serenity.example/\nhttp://localhost:8080"
    )
    page.get_by_role("button", name="Save the widget").click()
    expect(page.get_by_text(re.compile(r"too light for white text: its contrast is 4\.2\d:1"))).to_be_visible()
    shot(page, "widget-page-refused-colour")
    page.get_by_label("Main colour").fill("#6d28d9")
    page.get_by_role("button", name="Save the widget").click()
    expect(page.get_by_text("The widget settings were saved.")).to_be_visible()
    expect(page.get_by_label("Websites allowed to embed the widget")).to_have_value(
        "https://www.serenity.example\nhttp://localhost:8080"
    )
    expect(preview.get_by_role("heading", level=1)).to_have_text("Relax, you're in good hands")
