"""Two requests writing the same client e-mail or tag at once: the constraint decides, and the loser gets the same
field error as the pre-check would have given, never an IntegrityError (a 500).

On SQLite the race is simulated: the pre-check is made to miss the twin, as it does when the twin's transaction
has not committed yet. On PostgreSQL real threads race.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django_scopes import scope

from clients import services
from clients.imports import client_import_run
from clients.models import Client, ClientTag, ImportJob, Tag
from clients.services import ClientData, client_create, client_update, tags_set

from ..threads import run_at_once

THREADS = 8

pytestmark = pytest.mark.django_db


def make(business, first_name="Anna", **fields):
    return client_create(business=business, data=ClientData(first_name=first_name, **fields))


@pytest.fixture
def precheck_misses_once(monkeypatch):
    """The e-mail pre-check sees nothing the first time it runs: the twin has not committed yet."""
    real = services.email_owner
    calls = {"n": 0}

    def email_owner(**kwargs):
        calls["n"] += 1
        return None if calls["n"] == 1 else real(**kwargs)

    monkeypatch.setattr(services, "email_owner", email_owner)
    return calls


def test_create_racing_a_twin_email_gets_the_field_error_with_the_link(in_scope, precheck_misses_once):
    existing = make(in_scope, "Rob", last_name="Smith", email="robsmith@gmail.com")
    precheck_misses_once["n"] = 0
    with pytest.raises(ValidationError) as refused:
        make(in_scope, "Robert", email="Rob.Smith+x@gmail.com")
    message = refused.value.message_dict["email"][0]
    assert f"/clients/{existing.pk}/" in message and "Rob Smith" in message
    assert Client.objects.filter(business=in_scope).count() == 1


def test_update_racing_a_twin_email_gets_the_field_error_and_changes_nothing(in_scope, precheck_misses_once):
    existing = make(in_scope, "Rob", email="rob@example.com")
    other = make(in_scope, "Bo", email="bo@example.com", tags=["VIP"])
    precheck_misses_once["n"] = 0
    with pytest.raises(ValidationError) as refused:
        client_update(business=in_scope, client=other, data=ClientData(first_name="Bo", email="ROB@example.com"))
    assert f"/clients/{existing.pk}/" in refused.value.message_dict["email"][0]
    other.refresh_from_db()
    assert other.email == "bo@example.com"


def test_the_form_shows_the_race_as_the_same_field_error(owner_client, business, in_scope, precheck_misses_once):
    existing = make(in_scope, "Rob", email="rob@example.com")
    precheck_misses_once["n"] = 0
    response = owner_client.post(
        reverse("clients:new", args=[business.slug]),
        {"first_name": "Bo", "email": "rob@example.com", "source": "other"},
    )
    assert response.status_code == 400
    error = " ".join(response.context["form"].errors["email"])
    assert "already has this e-mail address" in error and f"/clients/{existing.pk}/" in error


def test_an_import_row_racing_a_twin_email_is_refused_and_the_rest_imported(in_scope, precheck_misses_once):
    make(in_scope, "Rob", last_name="Smith", email="rob@example.com")
    precheck_misses_once["n"] = 0
    text = "First name,Email\nRobert,rob@example.com\nAnn,ann@example.com\n"
    job = ImportJob.objects.create(business=in_scope, file_name="x.csv", content=text)
    job = client_import_run(business=in_scope, job_id=job.pk)
    assert job.status == ImportJob.Status.DONE and job.imported_rows == 1
    assert job.errors == [{"line": 2, "reason": "E-mail: Rob Smith already has this e-mail address."}]


def test_a_tag_created_meanwhile_is_reused(in_scope, monkeypatch):
    ann = make(in_scope, "Ann")
    bo = make(in_scope, "Bo", tags=["VIP"])
    # The list of existing tags was read before Bo's "VIP" committed.
    monkeypatch.setattr(services, "_tags_by_key", lambda business: {})
    tags_set(business=in_scope, client=ann, names=["vip", "New"])
    assert Tag.objects.filter(business=in_scope, name__iexact="vip").count() == 1
    assert sorted(ClientTag.objects.filter(client=ann).values_list("tag__name", flat=True)) == ["New", "VIP"]
    assert ClientTag.objects.filter(client=bo).count() == 1


def test_a_link_added_meanwhile_is_not_an_error(in_scope, monkeypatch):
    ann = make(in_scope, "Ann", tags=["VIP"])
    # The client's current links were read before the same link was added by another request.
    real_filter = ClientTag.objects.filter
    calls = {"n": 0}

    def filter_missing_links(*args, **kwargs):
        calls["n"] += 1
        qs = real_filter(*args, **kwargs)
        return qs.none() if calls["n"] == 2 else qs

    monkeypatch.setattr(ClientTag.objects, "filter", filter_missing_links)
    tags_set(business=in_scope, client=ann, names=["VIP"])
    monkeypatch.undo()
    assert ClientTag.objects.filter(client=ann).count() == 1


# --- Real threads on PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("Concurrent inserts racing a unique index need PostgreSQL; CI runs this on PostgreSQL.")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_threads_creating_the_same_email_create_one_client(business, _needs_postgres):
    def create(index: int):
        with scope(business=business):
            return make(business, f"Twin{index}", email="twin@example.com").pk

    created, errors = run_at_once(create, threads=THREADS)
    assert len(created) == 1
    assert len(errors) == THREADS - 1
    assert all(isinstance(e, ValidationError) and "already has this e-mail" in str(e) for e in errors), errors
    with scope(business=business):
        assert Client.objects.filter(business=business).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_threads_tagging_with_a_new_tag_create_it_once(business, _needs_postgres):
    with scope(business=business):
        clients = [make(business, f"C{i}") for i in range(THREADS)]

    def tag(index: int):
        with scope(business=business):
            tags_set(business=business, client=clients[index], names=["Brand new"])

    _, errors = run_at_once(tag, threads=THREADS)
    assert errors == []
    with scope(business=business):
        assert Tag.objects.filter(business=business, name="Brand new").count() == 1
        assert ClientTag.objects.filter(business=business).count() == THREADS
