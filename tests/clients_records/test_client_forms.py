from __future__ import annotations

import pytest
from django_scopes import scope

from businesses.models import AuditLog
from clients.models import Client, Source


def form_data(**overrides):
    data = {
        "first_name": "Rob",
        "last_name": "Smith",
        "email": "rob@example.com",
        "phone": "07911 123456",
        "source": Source.WALK_IN,
        "source_detail": "Saw the sign",
        "referred_by": "",
        "tags": "VIP, mornings, vip",
        "notes": "Prefers firm pressure",
    }
    data.update(overrides)
    return data


def test_staff_create_a_client_with_normalised_phone_tags_and_consent(staff_client, business, url, in_scope):
    response = staff_client.post(url("new"), form_data(email_consent="on"))
    assert response.status_code == 302
    client = Client.objects.get(business=business)
    assert response["Location"] == url("detail", client.pk)
    assert client.phone == "+447911123456"
    assert client.source == Source.WALK_IN
    assert sorted(t.name for t in client.tags.all()) == ["VIP", "mornings"]
    assert client.email_consent and client.email_consent_changed_at is not None
    assert not client.sms_consent and client.sms_consent_changed_at is None
    assert AuditLog.objects.filter(business=business, action="client.created", subject_id=client.pk).exists()


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"first_name": " "}, "first_name", "required"),
        ({"phone": "12"}, "phone", "phone number"),
        ({"email": "not-an-address"}, "email", "valid e-mail"),
        ({"source": "carrier pigeon"}, "source", "valid choice"),
        ({"referred_by": "999999"}, "referred_by", "Choose the referrer"),
    ],
)
def test_bad_input_is_refused_with_field_errors_and_nothing_saved(
    owner_client, business, url, in_scope, overrides, field, message
):
    response = owner_client.post(url("new"), form_data(**overrides))
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors
    assert message in " ".join(form.errors[field])
    assert not Client.objects.filter(business=business).exists()


def test_the_form_page_renders_with_tag_suggestions(owner_client, url, make_client):
    make_client(tags=["Regulars"])
    response = owner_client.get(url("new"))
    assert response.status_code == 200
    assert b'<datalist id="tag-suggestions"><option value="Regulars">' in response.content


def test_duplicate_email_is_refused_with_a_link_to_the_existing_client(owner_client, business, url, make_client):
    existing = make_client("Robert", "Smith", email="Rob.Smith+x@gmail.com")
    response = owner_client.post(url("new"), form_data(email="robsmith@gmail.com"))
    assert response.status_code == 400
    link = f'<a href="{url("detail", existing.pk)}">Robert Smith</a> already has this e-mail address.'
    assert link.encode() in response.content
    with scope(business=business):
        assert Client.objects.filter(business=business).count() == 1


def test_dots_count_on_custom_domains(owner_client, business, url, make_client):
    make_client(email="rob.smith@smith.dev")
    response = owner_client.post(url("new"), form_data(email="robsmith@smith.dev"))
    assert response.status_code == 302
    with scope(business=business):
        assert Client.objects.filter(business=business).count() == 2


def test_edit_saves_changes_and_records_when_consent_was_withdrawn(owner_client, url, make_client, in_scope):
    client = make_client(email="ann@example.com", email_consent=True, tags=["old"])
    given_at = Client.objects.get(pk=client.pk).email_consent_changed_at
    response = owner_client.get(url("edit", client.pk))
    assert response.status_code == 200
    assert response.context["form"].initial["tags"] == "old"
    response = owner_client.post(
        url("edit", client.pk), form_data(first_name="Annie", email="ann@example.com", tags="new", sms_consent="on")
    )
    assert response.status_code == 302
    client.refresh_from_db()
    assert client.first_name == "Annie"
    assert [t.name for t in client.tags.all()] == ["new"]
    assert not client.email_consent and client.email_consent_changed_at > given_at
    assert client.sms_consent and client.sms_consent_changed_at is not None


def test_edit_with_bad_input_changes_nothing(owner_client, url, make_client, in_scope):
    client = make_client(phone="+447911123456")
    response = owner_client.post(url("edit", client.pk), form_data(first_name="Changed", phone="not a phone"))
    assert response.status_code == 400
    client.refresh_from_db()
    assert client.first_name == "Ann" and client.phone == "+447911123456"


def test_edit_refusing_the_referrer_saves_nothing_else(owner_client, url, make_client, in_scope):
    client = make_client()
    response = owner_client.post(url("edit", client.pk), form_data(first_name="Changed", referred_by=str(client.pk)))
    assert response.status_code == 400
    client.refresh_from_db()
    assert client.first_name == "Ann"


def test_referrer_linked_on_create_shows_both_ways_with_counts(owner_client, business, url, make_client, in_scope):
    referrer = make_client("Rita", "Ref")
    response = owner_client.post(url("new"), form_data(referred_by=str(referrer.pk)))
    assert response.status_code == 302
    referee = Client.objects.get(business=business, email="rob@example.com")
    assert referee.referred_by_id == referrer.pk
    referrer.refresh_from_db()
    assert referrer.referred_clients_count == 1
    # Recorded as a referral too, waiting for the new client's first booking to give its discount.
    from referrals.models import Referral, ReferralStatus

    assert Referral.objects.get(referee=referee).status == ReferralStatus.PENDING
    page = owner_client.get(url("detail", referee.pk)).content.decode()
    assert f'<a href="{url("detail", referrer.pk)}">Rita Ref</a>' in page
    page = owner_client.get(url("detail", referrer.pk)).content.decode()
    assert f'<a href="{url("detail", referee.pk)}">Rob Smith</a>' in page
    assert "1 client" in page


def test_set_referrer_links_changes_and_unlinks(staff_client, url, make_client, in_scope):
    client, first, second = make_client("Cara"), make_client("Fred"), make_client("Sam")
    assert staff_client.get(url("set_referrer", client.pk)).status_code == 200
    assert staff_client.post(url("set_referrer", client.pk), {"referred_by": first.pk}).status_code == 302
    staff_client.post(url("set_referrer", client.pk), {"referred_by": second.pk})
    for c in (client, first, second):
        c.refresh_from_db()
    assert client.referred_by_id == second.pk
    assert (first.referred_clients_count, second.referred_clients_count) == (0, 1)
    staff_client.post(url("set_referrer", client.pk), {"referred_by": ""})
    client.refresh_from_db()
    second.refresh_from_db()
    assert client.referred_by_id is None and second.referred_clients_count == 0


def test_set_referrer_refuses_self_and_other_businesses(owner_client, url, make_client, other_business, in_scope):
    client = make_client()
    stranger = make_client("Stranger", business=other_business)
    response = owner_client.post(url("set_referrer", client.pk), {"referred_by": client.pk})
    assert response.status_code == 400
    assert "cannot refer themselves" in response.content.decode()
    assert owner_client.post(url("set_referrer", client.pk), {"referred_by": stranger.pk}).status_code == 404
    client.refresh_from_db()
    assert client.referred_by_id is None


def test_client_search_lists_name_and_email_of_this_business_only(
    staff_client, url, make_client, other_business, in_scope
):
    make_client("Robin", "Hood", email="robin@example.com")
    make_client("Robert", "Other", business=other_business, email="robert@example.com")
    erased = make_client("Roberta", "Gone")
    Client.objects.filter(pk=erased.pk).update(erased_at="2024-01-01T00:00Z")
    response = staff_client.get(url("pick"), {"q": "rob"})
    page = response.content.decode()
    assert "Robin Hood" in page and "robin@example.com" in page
    assert "Robert" not in page
    assert "Roberta" not in page
    assert "No client matches" in staff_client.get(url("pick"), {"q": "zzz"}).content.decode()
    assert staff_client.get(url("pick"), {"q": "robin@example.com"}).content.decode().count("data-pick=") == 1


def test_detail_shows_bookings_newest_first_with_a_bounded_number_of_queries(
    owner_client, url, make_client, make_booking, django_assert_max_num_queries, in_scope
):
    client = make_client(phone="+447911123456", notes="Allergic to lavender", tags=["VIP"])
    make_booking(client, days=1)
    make_booking(client, days=5)
    with django_assert_max_num_queries(28) as few:
        response = owner_client.get(url("detail", client.pk))
    page = response.content.decode()
    assert response.status_code == 200
    assert "+44 7911 123456" in page and "Allergic to lavender" in page and "VIP" in page
    assert page.count("£60.00") == 2
    assert "No coupons yet" in page and "Referral link and code" in page
    for days in range(10, 40):
        make_booking(client, days=days)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = owner_client.get(url("detail", client.pk))
    assert "Showing the 20 most recent of 32 bookings" in response.content.decode()


def test_privacy_actions_are_offered_to_the_owner_only(owner_client, staff, client, url, make_client):
    target = make_client()
    assert "Export data (JSON)" in owner_client.get(url("detail", target.pk)).content.decode()
    client.force_login(staff)
    assert "Export data (JSON)" not in client.get(url("detail", target.pk)).content.decode()
