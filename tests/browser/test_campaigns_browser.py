"""A targeted campaign in a browser: the owner writes it for a segment (live count, promotion link inserted at the
cursor), previews it, sends a test to themself, sends it, and watches the progress reach 100% with its counts."""

from __future__ import annotations

import re

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from businesses.models import Role
from campaigns.models import Campaign, CampaignRecipient
from clients.models import ClientTag, Segment, Tag

from ..campaigns.campaign_fixtures import bulk_clients, make_promotion
from ..factories import BusinessFactory, make_member
from .conftest import scroll_to


@pytest.fixture
def studio():
    business = BusinessFactory(name="Serene Spa", slug="serene-spa")
    with scope(business=business):
        yield business


@pytest.fixture
def owner(studio):
    return make_member(studio, Role.OWNER, email="maya@serene.example", first_name="Maya", last_name="Lind")


def test_write_preview_test_and_send_a_campaign_to_a_segment(studio, owner, signed_in, shot, site_url, mailoutbox):
    vip = Tag.objects.create(business=studio, name="VIP")
    regulars = bulk_clients(studio, 3, prefix="vip")
    unconsented = bulk_clients(studio, 1, prefix="quiet", consent=False)
    bulk_clients(studio, 2, prefix="other")
    for client in regulars + unconsented:
        ClientTag.objects.create(business=studio, client=client, tag=vip)
    Segment.objects.create(business=studio, name="VIP clients", filters={"tag": vip.pk})
    make_promotion(studio, owner)

    page = signed_in(owner)
    page.goto(f"/b/{studio.slug}/campaigns/")
    page.get_by_role("link", name="See the campaigns").click()
    expect(page.get_by_text("No campaigns yet")).to_be_visible()
    page.get_by_role("link", name="New campaign").first.click()

    page.get_by_label("Name").fill("VIP spring offer")
    segment_picker = page.locator("#id_segment")
    expect(segment_picker).to_be_hidden()
    page.get_by_label("A saved segment of the clients list").check()
    segment_picker.select_option(label="VIP clients")
    count = page.locator("#audience-count")
    expect(count).to_contain_text("4 clients")
    expect(count).to_contain_text("3 of whom agreed to marketing e-mail")
    page.get_by_label("Promotion").select_option(label="Spring offer")
    page.get_by_label("Subject").fill("A spring treat for you, {{ first_name }}")
    body = page.get_by_label("Message")
    body.fill("Hi {{ first_name }},\n\nBook with 20% off: \n\nSee you soon!")
    # The cursor goes after "off: " and the helper inserts the variable there.
    body.evaluate("(el) => { const at = el.value.indexOf('off: ') + 5; el.setSelectionRange(at, at); }")
    page.get_by_role("button", name="Insert promotion link").click()
    expect(body).to_have_value(re.compile(r"Book with 20% off: \{\{ promotion_link \}\}\n"))

    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("A spring treat for you, Client0")
    expect(preview).to_contain_text("promo=SPRING20")
    scroll_to(preview, "end")
    shot(page, "form-with-preview")

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", name="VIP spring offer")).to_be_visible()
    expect(page.locator("#preview")).to_contain_text("Hi Client0")

    page.get_by_role("button", name="Send a test to me").click()
    expect(page.get_by_text("A test is on its way to maya@serene.example")).to_be_visible()
    assert [m.to for m in mailoutbox] == [["maya@serene.example"]]
    shot(page, "draft-after-test-send")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Send now").click()
    progress = page.locator("#campaign-progress")
    expect(progress).to_contain_text("100%")
    expect(progress).to_contain_text("4 of 4 messages handled")
    expect(progress.locator("[data-count=sent]")).to_have_text("3")
    expect(progress.locator("[data-count=suppressed]")).to_have_text("1")
    expect(progress.locator("[data-count=clicked]")).to_have_text("0")
    expect(page.locator("#campaign-recipients tbody tr")).to_have_count(4)
    scroll_to(progress)
    shot(page, "sent-with-progress", docs="campaign.png")

    with scope(business=studio):
        campaign = Campaign.objects.get(business=studio)
        recipient = CampaignRecipient.objects.filter(campaign=campaign, message__status="sent").first()
    sent_mail = [m for m in mailoutbox if m.to == [recipient.client.email]]
    assert len(sent_mail) == 1 and f"/c/{recipient.token}p/" in sent_mail[0].body

    # The client clicks the tracked link: the owner sees the click after a reload.
    page.goto(f"/c/{recipient.token}p/")
    page.goto(f"/b/{studio.slug}/campaigns/targeted/{campaign.pk}/")
    expect(page.locator("#campaign-progress [data-count=clicked]")).to_have_text("1")
    page.get_by_role("link", name="Clicked").click()
    expect(page.locator("#campaign-recipients tbody tr")).to_have_count(1)
    shot(page, "clicked-recipients")
