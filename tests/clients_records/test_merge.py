from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_scopes import scope

from bookings.models import Booking
from bookings.services import booking_cancel, booking_complete, booking_confirm, payment_record
from businesses.models import AuditLog
from clients.models import Client, ClientTag
from clients.services import client_merge, client_set_referrer


def test_merge_moves_bookings_tags_referrals_and_figures(business, owner, make_client, make_booking, in_scope):
    rita = make_client("Rita", "Ref")
    keep = make_client("Ann", "Lee", email="ann@example.com", tags=["VIP", "mornings"], notes="Keep note")
    merge = make_client(
        "Ann", "", phone="+447911123456", tags=["vip", "evenings"], notes="Merged note", referred_by=rita
    )
    friend = make_client("Fay", referred_by=merge)
    make_client("Gus", referred_by=keep)
    keep_booking = make_booking(keep, days=1)
    merge_booking = make_booking(merge, days=2)
    booking_confirm(business=business, booking=merge_booking)
    merge_booking = booking_complete(business=business, booking=merge_booking)
    payment_record(business=business, payment=merge_booking.payments.get(), method="card")

    kept = client_merge(business=business, keep=keep, merge=merge, actor=owner)

    assert not Client.objects.filter(pk=merge.pk).exists()
    assert set(Booking.objects.filter(business=business, client=kept).values_list("pk", flat=True)) == {
        keep_booking.pk,
        merge_booking.pk,
    }
    assert sorted(ClientTag.objects.filter(client=kept).values_list("tag__name", flat=True)) == [
        "VIP",
        "evenings",
        "mornings",
    ]
    friend.refresh_from_db()
    rita.refresh_from_db()
    assert friend.referred_by_id == kept.pk
    assert kept.referred_clients_count == 2
    assert kept.referred_by_id == rita.pk and rita.referred_clients_count == 1
    assert kept.phone == "+447911123456" and kept.email == "ann@example.com" and kept.last_name == "Lee"
    assert kept.notes == "Keep note\n\nMerged note"
    assert kept.completed_visits == 1 and kept.lifetime_spend == 6000
    assert kept.first_visit_at == kept.last_visit_at == merge_booking.starts_at
    entry = AuditLog.objects.get(business=business, action="client.merged")
    assert entry.subject_id == kept.pk and entry.payload["merged_client_id"] == merge.pk
    assert entry.payload["moved"] == {"bookings.Booking": 1}


def test_merge_takes_over_the_email_and_the_latest_consent(business, make_client, in_scope):
    keep = make_client("Ann", email_consent=True)
    merge = make_client("Annie", email="annie@example.com", email_consent=False, sms_consent=True)
    # The merged record's e-mail answer is the more recent one: a withdrawal.
    Client.objects.filter(pk=keep.pk).update(email_consent_changed_at=timezone.now() - timedelta(days=30))
    Client.objects.filter(pk=merge.pk).update(email_consent_changed_at=timezone.now())
    kept = client_merge(business=business, keep=keep, merge=merge)
    assert kept.email == "annie@example.com" and kept.email_canonical == "annie@example.com"
    assert kept.email_consent is False
    assert kept.sms_consent is True


def test_merging_a_client_into_the_one_who_referred_them_creates_no_self_referral(business, make_client, in_scope):
    keep = make_client("Ann")
    merge = make_client("Ann", "Dup", referred_by=keep)
    kept = client_merge(business=business, keep=keep, merge=merge)
    assert kept.referred_by_id is None and kept.referred_clients_count == 0

    other = make_client("Bo")
    referee_duplicate = make_client("Bo", "Dup")
    client_set_referrer(business=business, client=other, referrer=referee_duplicate)
    kept = client_merge(business=business, keep=other, merge=referee_duplicate)
    assert kept.referred_by_id is None and kept.referred_clients_count == 0


def test_merge_refuses_itself_and_other_businesses(business, other_business, make_client, in_scope):
    keep = make_client("Ann")
    stranger = make_client("Stranger", business=other_business)
    with pytest.raises(ValidationError, match="into itself"):
        client_merge(business=business, keep=keep, merge=keep)
    with pytest.raises(ValidationError, match="same business"):
        client_merge(business=business, keep=keep, merge=stranger)
    with scope(business=other_business):
        assert Client.objects.filter(pk=stranger.pk).exists()


def test_merge_page_shows_both_records_then_merges(staff_client, url, make_client, make_booking, in_scope):
    keep = make_client("Ann", "Keep", email="keep@example.com")
    merge = make_client("Ann", "Dup", email="dup@example.com")
    make_booking(merge)
    assert staff_client.get(url("merge", keep.pk)).status_code == 200
    page = staff_client.get(url("merge", keep.pk), {"other": merge.pk}).content.decode()
    assert "Keep this record, merge Ann Dup into it" in page
    assert "keep@example.com" in page and "dup@example.com" in page
    response = staff_client.post(url("merge", keep.pk), {"other": merge.pk})
    assert response.status_code == 302 and response["Location"] == url("detail", keep.pk)
    assert not Client.objects.filter(pk=merge.pk).exists()
    assert Booking.objects.filter(client=keep).count() == 1


def test_merge_page_refuses_itself_and_other_businesses_ids(owner_client, url, make_client, other_business, in_scope):
    keep = make_client("Ann")
    stranger = make_client("Stranger", business=other_business)
    response = owner_client.post(url("merge", keep.pk), {"other": keep.pk})
    assert response.status_code == 400
    assert owner_client.post(url("merge", keep.pk), {"other": stranger.pk}).status_code == 404
    with scope(business=other_business):
        assert Client.objects.filter(pk=stranger.pk).exists()


def test_after_a_merge_only_the_earliest_standing_booking_is_the_first(business, make_client, make_booking, in_scope):
    keep = make_client("Ann", "Lee")
    merge = make_client("Ann", "Dup")
    keep_later = make_booking(keep, days=5)
    merge_cancelled = make_booking(merge, days=1)
    booking_cancel(business=business, booking=merge_cancelled)
    merge_earliest = make_booking(merge, days=2)  # made after the cancelled one, so flagged first as well
    merge_later = make_booking(merge, days=9)
    assert [b.is_first_booking for b in (keep_later, merge_cancelled, merge_earliest, merge_later)] == [
        True,
        True,
        True,
        False,
    ]

    kept = client_merge(business=business, keep=keep, merge=merge)

    flags = dict(Booking.objects.filter(business=business, client=kept).values_list("pk", "is_first_booking"))
    assert flags[merge_earliest.pk] is True
    assert flags[keep_later.pk] is False and flags[merge_later.pk] is False
    # A cancelled booking does not stand; its flag records what was true when it was made.
    assert flags[merge_cancelled.pk] is True
    standing = Booking.objects.filter(business=business, client=kept).exclude(status="cancelled")
    assert standing.filter(is_first_booking=True).count() == 1


def test_after_a_merge_the_figures_are_counted_from_the_bookings(business, make_client, make_booking, in_scope):
    keep = make_client("Ann", "Lee")
    merge = make_client("Ann", "Dup")
    for client, days in ((keep, 3), (merge, 1)):
        booking = make_booking(client, days=days)
        booking_confirm(business=business, booking=booking)
        booking = booking_complete(business=business, booking=booking)
        payment_record(business=business, payment=booking.payments.get(), method="card")
    # The figures on the records had drifted (a restore, a manual fix): the merge does not add drift up.
    Client.objects.filter(pk=keep.pk).update(completed_visits=40, lifetime_spend=1)
    Client.objects.filter(pk=merge.pk).update(completed_visits=7, first_visit_at=None)

    kept = client_merge(business=business, keep=keep, merge=merge)

    visits = Booking.objects.filter(business=business, client=kept).order_by("starts_at")
    assert kept.completed_visits == 2 and kept.lifetime_spend == 2 * 6000
    assert (kept.first_visit_at, kept.last_visit_at) == (visits[0].starts_at, visits[1].starts_at)
    assert kept.referred_clients_count == 0
