"""Reward expiring: each coupon, store credit lot and points lot is reminded once, ahead of its expiry, if unused."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from campaigns.expiring import reward_expiring_remind
from campaigns.models import Autopilot, AutopilotKind, MessageStatus, OutboxMessage
from campaigns.services import autopilot_save
from campaigns.tasks import remind_expiring
from campaigns.wording import EXPIRING_BODY, EXPIRING_SUBJECT
from clients.models import Client
from referrals_saas.celery import app
from rewards.ledger import points_award, store_credit_apply, store_credit_grant, store_credit_reverse
from rewards.models import CouponKind, CouponStatus, PointsProgram
from rewards.services import CouponSpec, coupon_issue

from ..bookings.conftest import make_booking
from .conftest import make_client, make_service

pytestmark = pytest.mark.django_db

TWENTY_OFF = CouponSpec(kind=CouponKind.FIXED, amount=20_00)


def in_days(days: float):
    return timezone.now() + timedelta(days=days)


def reminders(business) -> dict[str, OutboxMessage]:
    with scope(business=business):
        rows = OutboxMessage.objects.filter(business=business, template=AutopilotKind.REWARD_EXPIRING)
        return {message.idempotency_key: message for message in rows}


@pytest.fixture
def anna(business):
    with scope(business=business):
        return make_client(business, "Anna", "Berg", email="anna@example.com")


@pytest.fixture
def soon_expiring(business, anna):
    """A £20 coupon, £20 of store credit and 250 points (worth £12.50), each expiring in 3 days."""
    with scope(business=business):
        PointsProgram.objects.create(business=business, enabled=True, points_per_unit=Decimal(1), point_value=5)
        coupon = coupon_issue(business=business, client=anna, spec=TWENTY_OFF, valid_days=3)
        credit = store_credit_grant(
            business=business, client=anna, amount=20_00, reason="Thanks", expires_at=in_days(3)
        )
        points = points_award(business=business, client=anna, points=250, reason="Thanks", expires_at=in_days(3))
    return {"coupon": coupon, "credit": credit, "points": points}


def test_each_kind_is_reminded_once_even_when_the_task_runs_twice(business, soon_expiring):
    assert remind_expiring() == 3
    assert remind_expiring() == 0
    keys = {
        f"expiring:coupon:{soon_expiring['coupon'].pk}",
        f"expiring:credit:{soon_expiring['credit'].pk}",
        f"expiring:points:{soon_expiring['points'].pk}",
    }
    found = reminders(business)
    assert set(found) == keys
    assert {m.status for m in found.values()} == {MessageStatus.QUEUED}
    assert not any(m.marketing for m in found.values())  # transactional: no consent asked (Anna gave none)


def test_the_wording_says_what_expires_when(business, anna, soon_expiring):
    remind_expiring()
    found = reminders(business)
    coupon = soon_expiring["coupon"]
    by_coupon = found[f"expiring:coupon:{coupon.pk}"]
    expires_on = timezone.localtime(coupon.expires_at).strftime("%-d %B %Y")
    assert by_coupon.subject == f"Your reward from {business.name} expires on {expires_on}"
    assert f"you still have the coupon {coupon.code} (£20.00 off)" in by_coupon.body_text
    assert f"Use the code {coupon.code} when you book" in by_coupon.body_text
    assert by_coupon.body_text.startswith("Hi Anna,") and "(in 3 days)" in by_coupon.body_text
    assert by_coupon.to_address == "anna@example.com"
    credit = found[f"expiring:credit:{soon_expiring['credit'].pk}"]
    assert "you still have £20.00 of store credit, which you can use until" in credit.body_text
    assert "comes off the price" in credit.body_text and "Use the code" not in credit.body_text
    points = found[f"expiring:points:{soon_expiring['points'].pk}"]
    assert "you still have 250 points worth £12.50" in points.body_text


def test_what_is_left_of_a_partly_used_grant_is_what_the_reminder_names(business, anna):
    with scope(business=business):
        store_credit_grant(business=business, client=anna, amount=20_00, reason="Thanks", expires_at=in_days(2))
        booking = make_booking(business, client=anna, service=make_service(business))
        store_credit_apply(business=business, client=anna, amount=12_50, booking=booking)
    remind_expiring()
    (message,) = reminders(business).values()
    assert "you still have £7.50 of store credit" in message.body_text


def test_nothing_used_expired_revoked_test_or_outside_the_window_is_reminded(business, anna):
    with scope(business=business):
        redeemed = coupon_issue(business=business, client=anna, spec=TWENTY_OFF, valid_days=3)
        redeemed.status, redeemed.redeemed_at = CouponStatus.REDEEMED, timezone.now()
        redeemed.save()
        revoked = coupon_issue(business=business, client=anna, spec=TWENTY_OFF, valid_days=3)
        revoked.status, revoked.revoked_at = CouponStatus.REVOKED, timezone.now()
        revoked.save()
        expired = coupon_issue(business=business, client=anna, spec=TWENTY_OFF, valid_days=3)
        expired.expires_at = in_days(-1)
        expired.save()
        coupon_issue(business=business, client=anna, spec=TWENTY_OFF, valid_days=3, is_test=True)
        coupon_issue(business=business, client=anna, spec=TWENTY_OFF, valid_days=30)  # outside 7 days
        booking = make_booking(business, client=anna, service=make_service(business))
        store_credit_grant(business=business, client=anna, amount=5_00, reason="Used", expires_at=in_days(2))
        store_credit_apply(business=business, client=anna, amount=5_00, booking=booking)
        taken_back = store_credit_grant(
            business=business, client=anna, amount=8_00, reason="Mistake", expires_at=in_days(2)
        )
        store_credit_reverse(business=business, entry=taken_back, reason="Given by mistake")
        store_credit_grant(business=business, client=anna, amount=9_00, reason="Later", expires_at=in_days(20))
        store_credit_grant(business=business, client=anna, amount=9_00, reason="Never expires")
        points_award(business=business, client=anna, points=100, reason="Later", expires_at=in_days(8))
    assert remind_expiring() == 0
    assert reminders(business) == {}


def test_nothing_is_reminded_when_the_autopilot_is_off(business, soon_expiring):
    with scope(business=business):
        autopilot_save(
            business=business,
            kind=AutopilotKind.REWARD_EXPIRING,
            enabled=False,
            days_before=7,
            subject=EXPIRING_SUBJECT,
            body=EXPIRING_BODY,
        )
    assert remind_expiring() == 0
    assert reminders(business) == {}


def test_days_before_sets_the_window(business, anna):
    with scope(business=business):
        coupon = coupon_issue(business=business, client=anna, spec=TWENTY_OFF, valid_days=10)
        assert reward_expiring_remind(business=business) == 0
        Autopilot.objects.create(
            business=business,
            kind=AutopilotKind.REWARD_EXPIRING,
            days_before=14,
            subject="{{ reward }} ends {{ expires_on }}",
            body="Hi {{ first_name }}, {{ days_left }} days left.",
        )
        assert reward_expiring_remind(business=business) == 1
    (message,) = reminders(business).values()
    assert message.idempotency_key == f"expiring:coupon:{coupon.pk}"
    assert message.subject.startswith(f"the coupon {coupon.code} (£20.00 off) ends ")
    assert message.body_text == "Hi Anna, 10 days left.\n"


def test_a_test_client_is_suppressed_and_each_business_reminds_its_own(business, other_business):
    with scope(business=business):
        tester = make_client(business, "Tess", email="tess@example.com")
        Client.objects.filter(pk=tester.pk).update(is_test=True)
        tester.refresh_from_db()
        store_credit_grant(business=business, client=tester, amount=3_00, reason="Try", expires_at=in_days(1))
    with scope(business=other_business):
        theirs = make_client(other_business, "Zoe", email="zoe@example.com")
        coupon = coupon_issue(business=other_business, client=theirs, spec=TWENTY_OFF, valid_days=2)
    assert remind_expiring() == 2
    (mine,) = reminders(business).values()
    assert mine.status == MessageStatus.SUPPRESSED and "Test client" in mine.suppressed_reason
    (other,) = reminders(other_business).values()
    assert other.idempotency_key == f"expiring:coupon:{coupon.pk}" and other.to_address == "zoe@example.com"


def test_batches_cover_every_item_once(business, anna):
    with scope(business=business):
        made = [coupon_issue(business=business, client=anna, spec=TWENTY_OFF, valid_days=3) for _ in range(5)]
        assert reward_expiring_remind(business=business, size=2) == 5
        assert reward_expiring_remind(business=business, size=2) == 0
    assert set(reminders(business)) == {f"expiring:coupon:{c.pk}" for c in made}


def test_the_task_is_registered_under_its_beat_name():
    assert app.tasks["campaigns.remind_expiring"].name == remind_expiring.name == "campaigns.remind_expiring"


# ------------------------------------------------------------------------------------------------ settings page


def url(business):
    return reverse("campaigns:reward_expiring", args=[business.slug])


def settings_form(**changes):
    return {
        "enabled": "on",
        "days_before": "3",
        "subject": "{{ reward }} expires soon",
        "body": "Hi {{ first_name }}, use it by {{ expires_on }}.",
        "action": "save",
        **changes,
    }


def test_the_owner_saves_the_reminder(owner_client, business):
    page = owner_client.get(url(business)).content.decode()
    assert "Preview with sample data" in page and "the coupon THX-ABCD-EFGH (£20.00 off)" in page
    assert "Remind this many days before it expires" in page
    response = owner_client.post(url(business), settings_form())
    assert response.status_code == 302
    with scope(business=business):
        autopilot = Autopilot.objects.get(business=business, kind=AutopilotKind.REWARD_EXPIRING)
    assert (autopilot.enabled, autopilot.days_before, autopilot.delay_minutes) == (True, 3, 0)
    assert "Reward expiring" in owner_client.get(reverse("campaigns:index", args=[business.slug])).content.decode()


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("body", "Hi {% if first_name %}", "Unclosed tag"),
        ("subject", "{{ reward.__class__ }}", "may not begin with underscores"),
        ("body", "{% for x in days_left %}{% endfor %}", "This cannot be filled in"),
        ("days_before", "0", "greater than or equal to 1"),
        ("days_before", "61", "less than or equal to 60"),
    ],
)
def test_bad_input_is_a_field_error(owner_client, business, field, value, message):
    response = owner_client.post(url(business), settings_form(**{field: value}))
    assert response.status_code == 400
    assert message in response.context["form"].errors[field][0]
    with scope(business=business):
        assert not Autopilot.objects.exists()


def test_the_preview_uses_sample_data_without_saving(owner_client, business):
    response = owner_client.post(url(business), settings_form(action="preview"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "Hi Anna, use it by 1 June 2026." in body and "<form" not in body
    with scope(business=business):
        assert not Autopilot.objects.exists()


def test_staff_get_403(staff_client, business):
    assert staff_client.get(url(business)).status_code == 403
    assert staff_client.post(url(business), settings_form()).status_code == 403


def test_an_outsider_gets_404(outsider_client, business):
    assert outsider_client.get(url(business)).status_code == 404
    assert outsider_client.post(url(business), settings_form()).status_code == 404
