"""A client's privacy requests: export everything personal about them, or erase them.

Rows of higher apps (bookings, rewards, messages) are found by walking the reverse relations of Client and, from
there, of each related model, so this module never imports those apps and covers them as they arrive. Apps whose
rows must go entirely on erasure (sent messages) say so with `register_erasure_delete` from their ready().
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from collections.abc import Iterator
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from businesses.models import Business
from businesses.services import audit_record

from .models import Client, ClientTag
from .services import CONSENT_CHANNELS, client_relations
from .spreadsheet import safe_cell

# How far the walk goes from the client: client → booking → payment is two steps.
WALK_DEPTH = 3
# Free-text and contact fields on related rows that can describe the person. Erasure blanks them where the
# column allows a blank; amounts, dates, statuses and references stay so the accounts still add up.
PERSONAL_FIELDS = frozenset(
    {
        "notes",
        "note",
        "heard_about",
        "message",
        "body",
        "comment",
        "comments",
        "email",
        "phone",
        "to_email",
        "to_phone",
        "ip_address",
        "user_agent",
    }
)
ERASED_NAME = "Erased client"

_delete_on_erasure: set[type[models.Model]] = set()


def register_erasure_delete(model: type[models.Model]) -> None:
    """Rows of `model` that belong to an erased client are deleted outright (messages sent to them)."""
    _delete_on_erasure.add(model)


def _json_value(value):
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return None
    return value


def _row(obj: models.Model) -> dict:
    return {
        field.attname: _json_value(field.value_from_object(obj))
        for field in obj._meta.concrete_fields
        if field.name != "business"
    }


def _reverse_relations(model: type[models.Model]) -> list:
    if model is Client:
        return client_relations()
    return [
        relation
        for relation in model._meta.get_fields(include_hidden=True)
        if relation.auto_created
        and not relation.concrete
        and (relation.one_to_many or relation.one_to_one)
        and not relation.related_model._meta.auto_created
    ]


def related_rows(*, business: Business, client: Client) -> dict[type[models.Model], list[models.Model]]:
    """Every row of every app that hangs off the client (bookings, their payments, ...), by model.

    Other clients (the people this client referred) and the client's tags are left out: they are not rows
    about this person, or are reported separately.
    """
    found: dict[type[models.Model], dict[int, models.Model]] = {}
    frontier: list[tuple[type[models.Model], list[int]]] = [(Client, [client.pk])]
    for _ in range(WALK_DEPTH):
        next_frontier = []
        for parent, parent_ids in frontier:
            for relation in _reverse_relations(parent):
                model = relation.related_model
                if model in (Client, ClientTag) or relation.many_to_many:
                    continue
                filters = {f"{relation.field.name}__in": parent_ids}
                if any(f.name == "business" for f in model._meta.concrete_fields):
                    filters["business"] = business
                rows = [row for row in model._default_manager.filter(**filters).order_by("pk")]
                fresh = [row for row in rows if row.pk not in found.setdefault(model, {})]
                for row in fresh:
                    found[model][row.pk] = row
                if fresh:
                    next_frontier.append((model, [row.pk for row in fresh]))
        frontier = next_frontier
        if not frontier:
            break
    return {model: list(rows.values()) for model, rows in found.items() if rows}


def _refuse_erased(client: Client) -> None:
    if client.erased_at:
        raise ValidationError(
            f"This client was erased on {timezone.localtime(client.erased_at):%d %b %Y}; "
            "no personal data is left to export or change."
        )


@transaction.atomic
def client_export(*, business: Business, client: Client, actor, data_format: str) -> dict:
    """Everything personal the business holds about the client, as plain JSON-ready data. Records the export in
    the audit log (format only, no personal data). Refuses an erased client."""
    client = Client.objects.get(business=business, pk=client.pk)
    _refuse_erased(client)
    record = _row(client)
    record["referred_clients_count"] = client.referred_clients_count
    data = {
        "business": business.name,
        "exported_at": timezone.now().isoformat(),
        "client": record,
        "tags": list(
            ClientTag.objects.filter(business=business, client=client)
            .order_by("tag__name")
            .values_list("tag__name", flat=True)
        ),
        "consent": {
            channel: {
                "agrees": getattr(client, f"{channel}_consent"),
                "changed_at": _json_value(getattr(client, f"{channel}_consent_changed_at")),
            }
            for channel in CONSENT_CHANNELS
        },
        "related": {
            model._meta.label: [_row(row) for row in rows]
            for model, rows in related_rows(business=business, client=client).items()
        },
    }
    audit_record(business=business, actor=actor, action="client.exported", subject=client, format=data_format)
    return data


def export_as_json(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False)


def _csv_lines(data: dict) -> Iterator[list]:
    yield ["section", "record_id", "field", "value"]
    client_id = data["client"].get("id")
    for field, value in data["client"].items():
        yield ["client", client_id, field, value]
    for tag in data["tags"]:
        yield ["tags", client_id, "tag", tag]
    for channel, consent in data["consent"].items():
        for field, value in consent.items():
            yield ["consent", client_id, f"{channel}_{field}", value]
    for label, rows in data["related"].items():
        for row in rows:
            for field, value in row.items():
                yield [label, row.get("id"), field, value]


def export_as_csv(data: dict) -> str:
    """One row per value (section, record, field, value): every model fits one sheet and reads top to bottom.

    Every cell is defused of spreadsheet formulas: notes and names are whatever the client or staff typed.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for line in _csv_lines(data):
        writer.writerow([safe_cell(value) for value in line])
    return buffer.getvalue()


def _personal_fields(model: type[models.Model]) -> dict[str, object]:
    """The blanking update for `model`: personal field name → the blank value its column accepts."""
    blanks: dict[str, object] = {}
    for field in model._meta.concrete_fields:
        if field.name not in PERSONAL_FIELDS or field.is_relation:
            continue
        if field.null:
            blanks[field.name] = None
        elif field.blank and isinstance(field, models.CharField | models.TextField):
            blanks[field.name] = ""
    return blanks


@transaction.atomic
def client_erase(*, business: Business, client: Client, actor) -> Client:
    """Erase a client on their request. Locks the row. Personal fields, tags and free text on related rows are
    blanked and messages deleted; bookings, payments and ledger rows keep their amounts so the accounts still
    add up. The audit row holds no personal data. Erasing an erased client changes nothing."""
    client = Client.objects.select_for_update().get(business=business, pk=client.pk)
    if client.erased_at:
        return client
    now = timezone.now()
    blanked: dict[str, int] = {}
    deleted: dict[str, int] = {}
    for model, rows in related_rows(business=business, client=client).items():
        ids = [row.pk for row in rows]
        if model in _delete_on_erasure:
            model._default_manager.filter(pk__in=ids).delete()
            deleted[model._meta.label] = len(ids)
            continue
        blanks = _personal_fields(model)
        if blanks:
            model._default_manager.filter(pk__in=ids).update(**blanks)
            blanked[model._meta.label] = len(ids)
    ClientTag.objects.filter(business=business, client=client).delete()
    client.first_name = ERASED_NAME
    for name in ("last_name", "email", "email_canonical", "phone", "notes", "source_detail"):
        setattr(client, name, "")
    for channel in CONSENT_CHANNELS:
        if getattr(client, f"{channel}_consent"):
            setattr(client, f"{channel}_consent", False)
            setattr(client, f"{channel}_consent_changed_at", now)
    client.erased_at = now
    client.save()
    audit_record(
        business=business, actor=actor, action="client.erased", subject=client, blanked=blanked, deleted=deleted
    )
    return client
