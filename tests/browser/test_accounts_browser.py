"""The accounts foundation as a person meets it in a browser: sign-up, team invitations, roles, switching, mobile."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core import mail
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from businesses.models import Business, Membership, Role

from ..factories import PASSWORD, BusinessFactory, make_member
from .conftest import PHONE

User = get_user_model()

NEW_PASSWORD = "a-strong-pass-phrase"


def path_of(url: str) -> str:
    """The path of an absolute link from an e-mail, so the browser opens it on the live server."""
    return re.sub(r"^https?://[^/]+", "", url)


def link_in_last_email(pattern: str) -> str:
    assert mail.outbox, "no e-mail was sent"
    found = re.search(pattern, mail.outbox[-1].body)
    assert found, f"no link matching {pattern!r} in:\n{mail.outbox[-1].body}"
    return found.group(0)


def field(label: str) -> re.Pattern:
    """A label matched whole, with or without Django's colon: "Password:", but not "Password (again):"."""
    return re.compile(rf"^{re.escape(label)}:?$")


def sidebar(page):
    return page.locator("#sidebar")


def log_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_placeholder("Email address").fill(email)
    page.get_by_placeholder("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()


def fill_signup(page, *, email: str, business_name: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label(field("Password")).fill(NEW_PASSWORD)
    page.get_by_label("Password (again)").fill(NEW_PASSWORD)
    page.get_by_label("Business name").fill(business_name)


def test_sign_up_verify_the_e_mail_and_land_on_the_new_dashboard(page, live_server, shot):
    page.goto("/")
    shot(page, "home")
    page.get_by_role("link", name="Create your business").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/signup/")
    expect(page.get_by_role("heading", name="Create your business")).to_be_visible()
    # The browser's time zone (Europe/Berlin) was taken as the business's until the person picks another.
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    shot(page, "signup-empty")

    fill_signup(page, email="anna@brightsmile.example", business_name="Bright Smile Dental")
    # The web address fills itself from the name.
    expect(page.get_by_label("Web address")).to_have_value("bright-smile-dental")
    page.get_by_label("Country").select_option(label="Germany")
    page.get_by_label("Currency").select_option("EUR")
    page.get_by_label("Time zone").select_option("Europe/Vienna")
    shot(page, "signup-filled", docs="signup.png")
    page.get_by_role("button", name="Create business").click()

    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))
    shot(page, "verify-your-e-mail")
    # Not verified yet, so not signed in: the dashboard sends the visitor to the login page.
    page.goto("/b/bright-smile-dental/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/b/bright-smile-dental/")

    assert [message.to for message in mail.outbox] == [["anna@brightsmile.example"]]
    page.goto(path_of(link_in_last_email(r"https?://\S+/accounts/confirm-email/\S+/")))
    expect(page.get_by_role("heading", name="Confirm Email Address")).to_be_visible()
    shot(page, "confirm-e-mail")
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(f"{live_server.url}/b/bright-smile-dental/")
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    expect(sidebar(page).locator(".business-name")).to_have_text("Bright Smile Dental")
    expect(sidebar(page).locator(".role-badge")).to_have_text("Owner")
    # A new business has no program yet: the overview walks the owner through starting one.
    expect(page.get_by_role("heading", name="Start your referral program")).to_be_visible()
    shot(page, "dashboard-overview", docs="dashboard-overview.png")

    business = Business.objects.get(slug="bright-smile-dental")
    assert (business.name, business.country.code, business.currency, business.time_zone) == (
        "Bright Smile Dental",
        "DE",
        "EUR",
        "Europe/Vienna",
    )
    with scopes_disabled():
        membership = Membership.objects.get(business=business)
    assert (membership.user.email, membership.role) == ("anna@brightsmile.example", Role.OWNER)


def test_a_taken_web_address_is_refused_and_nothing_is_created(page, shot):
    BusinessFactory(name="Taken Studio", slug="taken")

    page.goto("/accounts/signup/")
    fill_signup(page, email="tom@example.com", business_name="Taken")
    expect(page.get_by_label("Web address")).to_have_value("taken")
    page.get_by_label("Country").select_option(label="United Kingdom")
    page.get_by_label("Currency").select_option("GBP")
    page.get_by_label("Time zone").select_option("Europe/London")
    page.get_by_role("button", name="Create business").click()

    error = page.get_by_text("The address “taken” is already taken.")
    expect(error).to_be_visible()
    expect(error).to_contain_text("How about “taken-2”?")
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    # What the person typed is kept for the next attempt.
    expect(page.get_by_label("Email")).to_have_value("tom@example.com")
    expect(page.get_by_label("Business name")).to_have_value("Taken")
    error.scroll_into_view_if_needed()
    shot(page, "web-address-taken")

    assert not User.objects.exists()
    assert list(Business.objects.values_list("slug", flat=True)) == ["taken"]
    assert mail.outbox == []


def test_owner_invites_staff_who_joins_without_settings(page, new_context, live_server, site_url, shot):
    business = BusinessFactory(name="Bright Smile Dental", slug="bright-smile")
    make_member(business, Role.OWNER, email="olivia@brightsmile.example", first_name="Olivia", last_name="Owens")

    log_in(page, "olivia@brightsmile.example")
    expect(page).to_have_url(f"{live_server.url}/b/bright-smile/")
    sidebar(page).get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Business details")).to_be_visible()
    shot(page, "settings-business")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Team").click()
    expect(page).to_have_url(f"{live_server.url}/b/bright-smile/settings/team/")
    expect(page.get_by_text("No invitations are waiting.")).to_be_visible()
    shot(page, "team-before-inviting")

    page.get_by_label("E-mail address").fill("sam@brightsmile.example")
    expect(page.get_by_label(field("Role"))).to_have_value("staff")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to sam@brightsmile.example.")).to_be_visible()
    pending = page.locator("li", has_text="sam@brightsmile.example")
    expect(pending).to_contain_text("as staff")
    expect(pending.get_by_role("button", name="Revoke")).to_be_visible()
    shot(page, "team-invitation-pending")

    assert mail.outbox[-1].to == ["sam@brightsmile.example"]
    accept_link = link_in_last_email(r"https?://\S+/invitations/\S+/")
    assert accept_link.startswith(f"{live_server.url}/invitations/"), "the e-mailed link must use SITE_URL"

    # The invitee, in a browser of their own.
    invitee = new_context().new_page()
    invitee.goto(accept_link)
    expect(invitee.get_by_role("heading", name="Join Bright Smile Dental")).to_be_visible()
    expect(invitee.get_by_text("Olivia Owens invited sam@brightsmile.example")).to_be_visible()
    invitee.get_by_label("First name").fill("Sam")
    invitee.get_by_label("Last name").fill("Lee")
    invitee.get_by_label(field("Password")).fill(NEW_PASSWORD)
    invitee.get_by_label("Password (again)").fill(NEW_PASSWORD)
    shot(invitee, "invitation-accept")
    invitee.get_by_role("button", name="Create account and join").click()

    expect(invitee).to_have_url(f"{live_server.url}/b/bright-smile/")
    expect(invitee.get_by_text("Welcome to Bright Smile Dental!")).to_be_visible()
    expect(sidebar(invitee).locator(".business-name")).to_have_text("Bright Smile Dental")
    expect(sidebar(invitee).locator(".role-badge")).to_have_text("Staff")
    nav = invitee.get_by_role("navigation", name="Sections")
    expect(nav.get_by_role("link", name="Clients")).to_be_visible()
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)
    shot(invitee, "staff-overview")
    response = invitee.goto("/b/bright-smile/settings/")
    assert response.status == 403
    shot(invitee, "staff-settings-forbidden")
    response = invitee.goto("/b/bright-smile/settings/team/")
    assert response.status == 403

    # The owner now sees Sam in the team, and no invitation is waiting any more.
    page.reload()
    expect(page.get_by_role("row", name=re.compile("Sam Lee"))).to_contain_text("sam@brightsmile.example")
    expect(page.get_by_text("No invitations are waiting.")).to_be_visible()
    # The README's team picture: an owner and a staff member (no dated invitation, so the file stays stable).
    shot(page, "team-after-joining", docs="team.png")


def test_switching_between_two_businesses(page, live_server, shot):
    salon = BusinessFactory(name="Anna's Salon", slug="annas-salon")
    studio = BusinessFactory(name="Zen Yoga Studio", slug="zen-yoga")
    anna = make_member(salon, Role.OWNER, email="anna@example.com", first_name="Anna", last_name="Berg")
    with scopes_disabled():
        Membership.objects.create(business=studio, user=anna, role=Role.STAFF)

    log_in(page, "anna@example.com")
    shot(page, "first-business")
    # With no business used before, the first by name opens.
    expect(page).to_have_url(f"{live_server.url}/b/annas-salon/")
    switcher = sidebar(page).locator("details.switcher")
    expect(switcher.get_by_role("link", name=re.compile("Zen Yoga Studio"))).to_be_hidden()
    page.get_by_label("Switch business").click()
    expect(switcher.get_by_role("link", name=re.compile("Anna's Salon"))).to_have_attribute("aria-current", "true")
    expect(switcher.get_by_role("link", name="+ Add a business")).to_be_visible()
    shot(page, "switcher-open")
    switcher.get_by_role("link", name=re.compile("Zen Yoga Studio")).click()

    expect(page).to_have_url(f"{live_server.url}/b/zen-yoga/")
    expect(sidebar(page).locator(".business-name")).to_have_text("Zen Yoga Studio")
    expect(sidebar(page).locator(".role-badge")).to_have_text("Staff")
    # Staff at the studio: no Settings there, though Anna owns the salon.
    expect(page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings")).to_have_count(0)
    shot(page, "switched")
    # The dashboard remembers the business used last.
    page.goto("/dashboard/")
    expect(page).to_have_url(f"{live_server.url}/b/zen-yoga/")


def test_on_a_phone_the_sidebar_opens_from_the_menu_button(new_context, live_server, shot):
    business = BusinessFactory(name="Bright Smile Dental", slug="bright-smile")
    make_member(business, Role.OWNER, email="olivia@brightsmile.example", first_name="Olivia", last_name="Owens")
    page = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()

    log_in(page, "olivia@brightsmile.example")
    expect(page).to_have_url(f"{live_server.url}/b/bright-smile/")
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(sidebar(page)).to_be_hidden()
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    shot(page, "phone-menu-closed")

    menu.tap()
    expect(sidebar(page)).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(sidebar(page).locator(".business-name")).to_have_text("Bright Smile Dental")
    shot(page, "phone-menu-open")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").tap()
    expect(page).to_have_url(f"{live_server.url}/b/bright-smile/settings/")
    # A new page starts with the menu closed again.
    expect(sidebar(page)).to_be_hidden()

    menu = page.get_by_role("button", name="Menu")
    menu.tap()
    expect(sidebar(page)).to_be_visible()
    menu.tap()
    expect(sidebar(page)).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")


def test_the_web_address_hint_reads_as_written(page):
    page.goto("/accounts/signup/")
    hint = page.locator("#id_business_slug_helptext")
    expect(hint).to_contain_text("Your booking page will live at /w/your-address/.", timeout=2_000)
    expect(hint.locator("address")).to_have_count(0, timeout=1_000)
