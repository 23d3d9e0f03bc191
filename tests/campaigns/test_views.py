"""The Outbox and the thank-you settings as owner, staff and outsider."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_scopes import scope

from campaigns.models import Autopilot, MessageStatus, OutboxMessage
from campaigns.selectors import outbox_page

from .conftest import enqueue, make_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed(business):
    with scope(business=business):
        client = make_client(business, "Bella", email="bella@example.com")
        message = enqueue(business, client, key="failed")
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=MessageStatus.FAILED, attempts=4, last_error="SMTPServerDisconnected: gone"
        )
        message.refresh_from_db()
        return message


def url(name, business, *args):
    return reverse(f"campaigns:{name}", args=[business.slug, *args])


def test_the_outbox_lists_messages_newest_first_with_a_status_filter(
    owner_client, business, failed, django_assert_max_num_queries
):
    with scope(business=business):
        enqueue(business, to_address="zoe@example.com", key="newer")
    with django_assert_max_num_queries(13):
        response = owner_client.get(url("index", business))
    page = response.content.decode()
    assert response.status_code == 200
    assert page.index("zoe@example.com") < page.index("bella@example.com")
    filtered = owner_client.get(url("index", business) + "?status=failed").content.decode()
    assert "bella@example.com" in filtered and "zoe@example.com" not in filtered


def test_the_outbox_pages_by_keyset(business):
    with scope(business=business):
        made = [enqueue(business, to_address=f"c{i}@example.com", key=f"k{i}") for i in range(5)]
        first = outbox_page(business=business, size=2)
        assert [m.pk for m in first.messages] == [made[4].pk, made[3].pk]
        second = outbox_page(business=business, size=2, before=first.next_before)
        third = outbox_page(business=business, size=2, before=second.next_before)
    assert [m.pk for m in second.messages] == [made[2].pk, made[1].pk]
    assert ([m.pk for m in third.messages], third.next_before) == ([made[0].pk], None)


def test_a_message_page_shows_the_error_and_the_owner_can_resend(
    owner_client, business, failed, mailoutbox, django_capture_on_commit_callbacks
):
    page = owner_client.get(url("message", business, failed.pk)).content.decode()
    assert "SMTPServerDisconnected: gone" in page and "Send again" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url("message_resend", business, failed.pk), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="message-status"' in response.content.decode()
    with scope(business=business):
        failed.refresh_from_db()
    assert failed.status == MessageStatus.SENT and len(mailoutbox) == 1


def test_only_a_failed_message_can_be_resent(owner_client, business, failed):
    with scope(business=business):
        OutboxMessage.objects.filter(pk=failed.pk).update(status=MessageStatus.SUPPRESSED)
    response = owner_client.post(url("message_resend", business, failed.pk), HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "Only a message that failed can be sent again." in response.content.decode()
    response = owner_client.post(url("message_resend", business, failed.pk), follow=True)
    assert "Only a message that failed can be sent again." in response.content.decode()


def test_staff_see_the_outbox_but_cannot_resend_or_edit_the_autopilot(staff_client, business, failed):
    assert staff_client.get(url("index", business)).status_code == 200
    page = staff_client.get(url("message", business, failed.pk)).content.decode()
    assert "Send again" not in page
    assert staff_client.post(url("message_resend", business, failed.pk)).status_code == 403
    assert staff_client.get(url("thank_you", business)).status_code == 403


def test_an_outsider_gets_404_everywhere(outsider_client, business, failed):
    for name, args in (("index", ()), ("message", (failed.pk,)), ("thank_you", ())):
        assert outsider_client.get(url(name, business, *args)).status_code == 404
    assert outsider_client.post(url("message_resend", business, failed.pk)).status_code == 404


def test_a_message_of_another_business_is_404(owner_client, business, other_business):
    with scope(business=other_business):
        theirs = enqueue(other_business, to_address="x@example.com", key="theirs")
    assert owner_client.get(url("message", business, theirs.pk)).status_code == 404
    assert owner_client.post(url("message_resend", business, theirs.pk)).status_code == 404


def settings_form(**changes):
    return {
        "enabled": "on",
        "delay_minutes": "15",
        "subject": "Thanks, {{ referrer_first_name }}!",
        "body": "{{ friend_first_name }} booked. Your code: {{ coupon_code }}",
        "action": "save",
        **changes,
    }


def test_the_owner_saves_the_thank_you(owner_client, business):
    page = owner_client.get(url("thank_you", business)).content.decode()
    assert "Preview with sample data" in page and "Hi Anna," in page  # the defaults, previewed
    response = owner_client.post(url("thank_you", business), settings_form())
    assert response.status_code == 302
    with scope(business=business):
        autopilot = Autopilot.objects.get(business=business)
    assert (autopilot.enabled, autopilot.delay_minutes, autopilot.subject) == (
        True,
        15,
        "Thanks, {{ referrer_first_name }}!",
    )


@pytest.mark.parametrize(
    "field,source,message",
    [
        ("body", "Hi {% if referrer_first_name %}", "Unclosed tag"),
        ("body", "{% load static %}", "{% load %} is not available in messages"),
        ("subject", "{{ business_name.__class__ }}", "may not begin with underscores"),
        ("body", "{% for x in referral_count %}{% endfor %}", "This cannot be filled in"),
    ],
)
def test_bad_template_syntax_is_a_field_error_not_a_500(owner_client, business, field, source, message):
    response = owner_client.post(url("thank_you", business), settings_form(**{field: source}))
    assert response.status_code == 400
    assert message in response.context["form"].errors[field][0]
    with scope(business=business):
        assert not Autopilot.objects.exists()


def test_the_preview_renders_sample_data_without_saving(owner_client, business):
    response = owner_client.post(
        url("thank_you", business), settings_form(action="preview", body="{{ friend_first_name }} & {{ reward }}")
    )
    assert response.status_code == 200
    assert "Bob &amp; £20.00 off" in response.content.decode()
    broken = owner_client.post(
        url("thank_you", business), settings_form(action="preview", body="{% if %}"), HTTP_HX_REQUEST="true"
    )
    assert broken.status_code == 400 and "Message:" in broken.content.decode()
    assert 'id="preview"' in broken.content.decode() and "<form" not in broken.content.decode()
    with scope(business=business):
        assert not Autopilot.objects.exists()


def test_a_delay_out_of_range_is_a_field_error(owner_client, business):
    response = owner_client.post(url("thank_you", business), settings_form(delay_minutes="-1"))
    assert response.status_code == 400 and response.context["form"].errors["delay_minutes"]
