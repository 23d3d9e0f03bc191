from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from clients.models import Client, Source
from clients.services import ClientData, client_create, client_set_referrer, client_update

pytestmark = pytest.mark.django_db


def make(business, first_name="Anna", **fields):
    return client_create(business=business, data=ClientData(first_name=first_name, **fields))


def test_a_second_client_with_the_same_canonical_email_is_refused_with_a_link(in_scope):
    existing = make(in_scope, email="robsmith@gmail.com", last_name="Smith")
    with pytest.raises(ValidationError) as error:
        make(in_scope, first_name="Rob", email="Rob.Smith+x@gmail.com")
    message = error.value.message_dict["email"][0]
    assert f"/clients/{existing.pk}/" in message and "Anna Smith" in message
    assert Client.objects.filter(business=in_scope).count() == 1


def test_the_same_email_in_another_business_is_fine(in_scope, other_business):
    from django_scopes import scope

    make(in_scope, email="anna@example.com")
    with scope(business=other_business):
        make(other_business, email="anna@example.com")


def test_bad_input_is_refused_with_field_errors_and_nothing_saved(in_scope):
    with pytest.raises(ValidationError) as error:
        make(in_scope, first_name=" ", phone="12", source="carrier-pigeon")
    assert set(error.value.message_dict) == {"first_name", "phone", "source"}
    assert not Client.objects.filter(business=in_scope).exists()


def test_phone_is_stored_in_e164_using_the_business_country(in_scope):
    # The business factory is in Great Britain.
    client = make(in_scope, phone="020 7946 0958")
    assert client.phone == "+442079460958"


def test_consent_records_when_it_was_given_and_withdrawn(in_scope):
    client = make(in_scope, email_consent=True)
    given = client.email_consent_changed_at
    assert client.email_consent and given is not None
    assert client.sms_consent_changed_at is None
    client = client_update(business=in_scope, client=client, data=ClientData(first_name="Anna", email_consent=True))
    assert client.email_consent_changed_at == given
    client = client_update(business=in_scope, client=client, data=ClientData(first_name="Anna"))
    assert not client.email_consent and client.email_consent_changed_at > given


def test_tags_are_shared_case_insensitively(in_scope):
    anna = make(in_scope, tags=["VIP", "Prenatal"])
    ben = make(in_scope, first_name="Ben", tags=["vip"])
    assert {t.name for t in anna.tags.all()} == {"VIP", "Prenatal"}
    assert [t.name for t in ben.tags.all()] == ["VIP"]


def test_linking_a_referrer_keeps_counts_both_ways(in_scope):
    anna = make(in_scope)
    ben = make(in_scope, first_name="Ben")
    chloe = make(in_scope, first_name="Chloe")
    client_set_referrer(business=in_scope, client=ben, referrer=anna)
    client_set_referrer(business=in_scope, client=chloe, referrer=anna)
    anna.refresh_from_db()
    ben.refresh_from_db()
    assert anna.referred_clients_count == 2 and ben.referred_by == anna
    assert ben.source == Source.CLIENT_REFERRAL
    # Moving Chloe to Ben, then unlinking her, moves the counts with her; linking twice changes nothing.
    client_set_referrer(business=in_scope, client=chloe, referrer=ben)
    client_set_referrer(business=in_scope, client=chloe, referrer=ben)
    assert Client.objects.get(pk=anna.pk).referred_clients_count == 1
    assert Client.objects.get(pk=ben.pk).referred_clients_count == 1
    client_set_referrer(business=in_scope, client=chloe, referrer=None)
    assert Client.objects.get(pk=ben.pk).referred_clients_count == 0


def test_self_referral_and_other_business_referrers_are_refused(in_scope, other_business):
    from django_scopes import scope

    anna = make(in_scope)
    with pytest.raises(ValidationError):
        client_set_referrer(business=in_scope, client=anna, referrer=anna)
    with scope(business=other_business):
        stranger = make(other_business, first_name="Stranger")
    with pytest.raises(ValidationError):
        client_set_referrer(business=in_scope, client=anna, referrer=stranger)
    assert Client.objects.get(pk=anna.pk).referred_by is None
