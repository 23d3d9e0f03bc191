"""Use cases for client records. Each runs in one transaction and takes the business explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from businesses.billing import client_limit_check
from businesses.events import event_record
from businesses.models import Business
from businesses.services import audit_record

from .identity import InvalidPhone, canonical_email, normalize_phone
from .models import Client, ClientTag, Segment, Source, Tag
from .selectors import ClientFilters

CONSENT_CHANNELS = ("email", "sms")


@dataclass
class ClientData:
    """What a person can type about a client, before it is checked."""

    first_name: str
    last_name: str = ""
    email: str = ""
    phone: str = ""
    source: str = Source.OTHER
    source_detail: str = ""
    notes: str = ""
    email_consent: bool = False
    sms_consent: bool = False
    tags: list[str] = field(default_factory=list)


def duplicate_email_error(existing: Client) -> ValidationError:
    url = reverse("clients:detail", args=[existing.business.slug, existing.pk])
    return ValidationError(
        {"email": format_html('<a href="{}">{}</a> already has this e-mail address.', url, existing.full_name)},
        code="duplicate_email",
    )


def email_owner(*, business: Business, email_canonical: str, exclude_pk: int | None = None) -> Client | None:
    """The client of `business` who has this canonical e-mail address, if any (other than `exclude_pk`)."""
    if not email_canonical:
        return None
    return Client.objects.filter(business=business, email_canonical=email_canonical).exclude(pk=exclude_pk).first()


def _save_client(business: Business, client: Client) -> None:
    """Save in a savepoint. The e-mail pre-check in `_clean` cannot see a twin inserted by a concurrent request
    that has not committed yet; the unique constraint can, and its error becomes the pre-check's field error."""
    try:
        with transaction.atomic():
            client.save()
    except IntegrityError:
        existing = email_owner(business=business, email_canonical=client.email_canonical, exclude_pk=client.pk)
        if existing is None:
            raise
        raise duplicate_email_error(existing) from None


def _clean(business: Business, data: ClientData, *, exclude_pk: int | None = None) -> dict:
    errors: dict[str, str] = {}
    if not data.first_name.strip():
        errors["first_name"] = "A first name is required."
    if data.source not in Source.values:
        errors["source"] = "Choose one of the listed sources."
    try:
        phone = normalize_phone(data.phone, business.country.code)
    except InvalidPhone as exc:
        errors["phone"] = str(exc)
        phone = ""
    if data.email.strip():
        try:
            validate_email(data.email.strip())
        except ValidationError:
            errors["email"] = "Enter a valid e-mail address, e.g. name@example.com."
    # Too long for its column would be a database error (a 500 on PostgreSQL), not a field error.
    for name in ("first_name", "last_name", "email", "source_detail"):
        limit = Client._meta.get_field(name).max_length
        if len(getattr(data, name).strip()) > limit:
            errors.setdefault(name, f"Use at most {limit} characters.")
    email_canonical = canonical_email(data.email)
    if errors:
        raise ValidationError(errors)
    existing = email_owner(business=business, email_canonical=email_canonical, exclude_pk=exclude_pk)
    if existing:
        raise duplicate_email_error(existing)
    return {
        "first_name": data.first_name.strip(),
        "last_name": data.last_name.strip(),
        "email": data.email.strip(),
        "email_canonical": email_canonical,
        "phone": phone,
        "source": data.source,
        "source_detail": data.source_detail.strip(),
        "notes": data.notes,
    }


def _apply_consent(client: Client, data: ClientData, now) -> None:
    """Record when consent was given or withdrawn, per channel; an unchanged answer keeps its time."""
    for channel in CONSENT_CHANNELS:
        wanted = getattr(data, f"{channel}_consent")
        if getattr(client, f"{channel}_consent") != wanted:
            setattr(client, f"{channel}_consent", wanted)
            setattr(client, f"{channel}_consent_changed_at", now)


def tags_set(*, business: Business, client: Client, names: list[str]) -> None:
    """Give the client exactly these tags, creating tags that do not exist yet (case-insensitively). A tag or a
    link created by a concurrent request at the same moment is reused, not an error (savepoint + constraint)."""
    wanted: dict[str, str] = {}
    for name in names:
        name = name.strip()[:50]
        if name:
            wanted.setdefault(name.lower(), name)
    existing = _tags_by_key(business) if wanted else {}
    tags = [existing.get(key) or _tag_get_or_create(business, name) for key, name in wanted.items()]
    ClientTag.objects.filter(business=business, client=client).exclude(tag__in=tags).delete()
    have = set(ClientTag.objects.filter(business=business, client=client).values_list("tag_id", flat=True))
    # ignore_conflicts: the same tag given to the same client by two requests at once is one link, not an error.
    ClientTag.objects.bulk_create(
        [ClientTag(business=business, client=client, tag=tag) for tag in tags if tag.pk not in have],
        ignore_conflicts=True,
    )


def _tags_by_key(business: Business) -> dict[str, Tag]:
    return {tag.name.lower(): tag for tag in Tag.objects.filter(business=business)}


def _tag_get_or_create(business: Business, name: str) -> Tag:
    """The tag called `name` (case-insensitively), created if missing. A twin created by a concurrent request
    trips the unique constraint inside a savepoint; the twin is then the tag."""
    try:
        with transaction.atomic():
            return Tag.objects.create(business=business, name=name)
    except IntegrityError:
        tag = Tag.objects.filter(business=business, name__iexact=name).first()
        if tag is None:
            raise
        return tag


@transaction.atomic
def client_create(*, business: Business, data: ClientData, actor=None, referred_by: Client | None = None) -> Client:
    """Create a client. Refuses a second client with the same canonical e-mail (also under a race, by constraint)."""
    values = _clean(business, data)
    client_limit_check(business=business, count_clients=Client.objects.filter(business=business).count)
    client = Client(business=business, **values)
    _apply_consent(client, data, timezone.now())
    _save_client(business, client)
    if data.tags:
        tags_set(business=business, client=client, names=data.tags)
    if referred_by is not None:
        client_set_referrer(business=business, client=client, referrer=referred_by, actor=actor)
    audit_record(business=business, actor=actor, action="client.created", subject=client)
    event_record(business=business, kind="client.created", subject=client, actor=actor)
    return client


@transaction.atomic
def client_update(*, business: Business, client: Client, data: ClientData, actor=None) -> Client:
    """Change a client. Locks the row; the canonical e-mail stays unique per business (also under a race)."""
    client = Client.objects.select_for_update().get(business=business, pk=client.pk)
    values = _clean(business, data, exclude_pk=client.pk)
    for name, value in values.items():
        setattr(client, name, value)
    _apply_consent(client, data, timezone.now())
    _save_client(business, client)
    tags_set(business=business, client=client, names=data.tags)
    audit_record(business=business, actor=actor, action="client.updated", subject=client)
    return client


@transaction.atomic
def client_set_referrer(*, business: Business, client: Client, referrer: Client | None, actor=None) -> Client:
    """Link (or unlink) who referred this client; keeps each referrer's count in the same transaction."""
    if referrer is not None:
        if referrer.business_id != business.id:
            raise ValidationError({"referred_by": "That client belongs to another business."})
        if referrer.pk == client.pk:
            raise ValidationError({"referred_by": "A client cannot refer themselves."})
    # Lock both rows in primary-key order so two staff linking at once cannot deadlock.
    ids = sorted({client.pk, *(c.pk for c in [referrer] if c is not None)})
    list(Client.objects.select_for_update().filter(business=business, pk__in=ids).order_by("pk"))
    current = Client.objects.get(business=business, pk=client.pk)
    if current.referred_by_id == (referrer.pk if referrer else None):
        return current
    if current.referred_by_id:
        Client.objects.filter(business=business, pk=current.referred_by_id).update(
            referred_clients_count=F("referred_clients_count") - 1
        )
    if referrer is not None:
        Client.objects.filter(business=business, pk=referrer.pk).update(
            referred_clients_count=F("referred_clients_count") + 1
        )
    current.referred_by = referrer
    if referrer is not None and current.source in (Source.OTHER, Source.ONLINE_BOOKING, Source.WALK_IN):
        current.source = Source.CLIENT_REFERRAL
    current.save(update_fields=["referred_by", "source"])
    audit_record(
        business=business,
        actor=actor,
        action="client.referrer_set",
        subject=current,
        referrer_id=referrer.pk if referrer else None,
    )
    return current


# Higher apps whose rows point at a client and cannot simply be repointed on a merge (a one-per-client row, a
# unique constraint) register a handler here from their AppConfig.ready(); it runs before the generic repointing.
MergeHandler = Callable[..., None]
_merge_handlers: dict[type[models.Model], MergeHandler] = {}


def register_merge_handler(model: type[models.Model], handler: MergeHandler) -> None:
    """`handler(business=, keep=, merge=)` moves or resolves `model`'s rows of `merge` before they are repointed."""
    _merge_handlers[model] = handler


# Higher apps whose rows summarise a client's history (the first-booking flag, visit and spend figures) register
# a handler here; it runs once everything was moved to the kept client and recomputes from the rows themselves.
MergedHandler = Callable[..., None]
_merged_handlers: list[MergedHandler] = []


def register_merged_handler(handler: MergedHandler) -> None:
    """`handler(business=, client=)` runs after a merge, in its transaction, with every row on `client`."""
    if handler not in _merged_handlers:
        _merged_handlers.append(handler)


def client_relations() -> list:
    """Every relation from another model to Client, hidden ones (`related_name="+"`) included.

    An automatic many-to-many table is reached through its ManyToManyRel, not through its own foreign key.
    """
    return [
        relation
        for relation in Client._meta.get_fields(include_hidden=True)
        if relation.auto_created
        and not relation.concrete
        and (relation.many_to_many or not relation.related_model._meta.auto_created)
    ]


def _recount_referrals(business: Business, client_ids: set[int]) -> None:
    for client_id in sorted(client_ids):
        count = Client.objects.filter(business=business, referred_by_id=client_id).count()
        Client.objects.filter(business=business, pk=client_id).update(referred_clients_count=count)


def _merge_consent(keep: Client, merge: Client) -> None:
    """The most recent decision wins, per channel: a later "no" from either record is still a "no"."""
    for channel in CONSENT_CHANNELS:
        keep_at = getattr(keep, f"{channel}_consent_changed_at")
        merge_at = getattr(merge, f"{channel}_consent_changed_at")
        if merge_at is not None and (keep_at is None or merge_at > keep_at):
            setattr(keep, f"{channel}_consent", getattr(merge, f"{channel}_consent"))
            setattr(keep, f"{channel}_consent_changed_at", merge_at)


def _repoint_related_rows(business: Business, keep: Client, merge: Client) -> dict[str, int]:
    """Point every row of every app that refers to `merge` at `keep`; returns how many rows moved per model.

    Walks Client's reverse relations, so apps above clients (bookings, rewards, ...) are covered without being
    imported here. Tags and referred clients are handled by the caller.
    """
    moved: dict[str, int] = {}
    for relation in client_relations():
        model = relation.related_model
        if model in (Client, ClientTag):
            continue
        if model in _merge_handlers:
            _merge_handlers[model](business=business, keep=keep, merge=merge)
        field_name = relation.field.name
        if relation.many_to_many:
            rows = model._default_manager.filter(**{field_name: merge})
            for row in rows:
                getattr(row, field_name).remove(merge)
                getattr(row, field_name).add(keep)
            continue
        filters = {field_name: merge}
        if any(f.name == "business" for f in model._meta.concrete_fields):
            filters["business"] = business
        try:
            with transaction.atomic():
                count = model._default_manager.filter(**filters).update(**{field_name: keep})
        except IntegrityError as exc:
            raise ValidationError(
                f"Both clients have {model._meta.verbose_name_plural} that cannot be combined automatically."
            ) from exc
        if count:
            moved[model._meta.label] = count
    return moved


@transaction.atomic
def client_merge(*, business: Business, keep: Client, merge: Client, actor=None) -> Client:
    """Merge `merge` into `keep` and delete `merge`: bookings and every other related row, referrals, tags, notes,
    consent and visit figures move to `keep`; then the registered handlers recompute what summarises the kept
    client's rows (first booking, figures). Locks both rows in primary-key order; refuses other businesses,
    a client merged into itself and erased clients."""
    if keep.business_id != business.id or merge.business_id != business.id:
        raise ValidationError("Only clients of the same business can be merged.")
    if keep.pk == merge.pk:
        raise ValidationError("Choose another client: a record cannot be merged into itself.")
    locked = {
        c.pk: c
        for c in Client.objects.select_for_update().filter(business=business, pk__in=[keep.pk, merge.pk]).order_by("pk")
    }
    if len(locked) != 2:
        raise ValidationError("One of the two clients no longer exists. Reload the page and try again.")
    keep, merge = locked[keep.pk], locked[merge.pk]
    if keep.erased_at or merge.erased_at:
        raise ValidationError("An erased client cannot be merged.")
    merge_pk = merge.pk
    old_referrers = {c.referred_by_id for c in (keep, merge) if c.referred_by_id}

    keep_tags = set(ClientTag.objects.filter(business=business, client=keep).values_list("tag_id", flat=True))
    merge_tags = set(ClientTag.objects.filter(business=business, client=merge).values_list("tag_id", flat=True))
    ClientTag.objects.filter(business=business, client=merge).delete()
    ClientTag.objects.bulk_create(
        [ClientTag(business=business, client=keep, tag_id=tag_id) for tag_id in sorted(merge_tags - keep_tags)]
    )

    # One person now: whoever referred either record referred them, unless that was the other record itself.
    referrer_id = keep.referred_by_id if keep.referred_by_id != merge_pk else None
    if referrer_id is None and merge.referred_by_id != keep.pk:
        referrer_id = merge.referred_by_id
    keep.referred_by_id = referrer_id
    Client.objects.filter(business=business, referred_by=merge).exclude(pk=keep.pk).update(referred_by=keep)

    moved = _repoint_related_rows(business, keep, merge)

    keep.notes = "\n\n".join(part for part in (keep.notes.strip(), merge.notes.strip()) if part)
    _merge_consent(keep, merge)
    keep.completed_visits += merge.completed_visits
    keep.lifetime_spend += merge.lifetime_spend
    keep.first_visit_at = min(filter(None, [keep.first_visit_at, merge.first_visit_at]), default=None)
    keep.last_visit_at = max(filter(None, [keep.last_visit_at, merge.last_visit_at]), default=None)
    keep.created_at = min(keep.created_at, merge.created_at)
    for name in ("last_name", "phone", "source_detail"):
        if not getattr(keep, name):
            setattr(keep, name, getattr(merge, name))
    if keep.source == Source.OTHER and merge.source != Source.OTHER:
        keep.source = merge.source
    take_email = not keep.email_canonical and merge.email_canonical
    if take_email:
        keep.email, keep.email_canonical = merge.email, merge.email_canonical

    # Delete first: the e-mail taken over from `merge` is unique per business.
    merge.delete()
    keep.save()
    _recount_referrals(business, {keep.pk, *old_referrers} - {merge_pk})
    for handler in _merged_handlers:
        handler(business=business, client=keep)
    keep.refresh_from_db()
    audit_record(
        business=business,
        actor=actor,
        action="client.merged",
        subject=keep,
        merged_client_id=merge_pk,
        moved=moved,
    )
    event_record(business=business, kind="client.merged", subject=keep, actor=actor, merged_client_id=merge_pk)
    return keep


SEGMENT_NAME_MAX = Segment._meta.get_field("name").max_length


def _segment_name_taken(name: str) -> ValidationError:
    return ValidationError({"name": f"A segment called “{name}” already exists. Choose another name."}, code="unique")


@transaction.atomic
def segment_create(*, business: Business, name: str, filters: ClientFilters, actor=None) -> Segment:
    """Save the clients list's filters under a name. Refuses filters with errors, no filter at all (a segment
    of everyone) and a name in use; the case-insensitive unique name holds under a race through the constraint."""
    if filters.errors:
        raise ValidationError(
            {"filters": "Fix the filters before saving them as a segment: " + " ".join(filters.errors)}
        )
    if filters.is_empty:
        raise ValidationError(
            {"filters": "Choose at least one filter before saving a segment: this one would match everyone."}
        )
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Give the segment a name."})
    if len(name) > SEGMENT_NAME_MAX:
        raise ValidationError({"name": f"Keep the segment name to {SEGMENT_NAME_MAX} characters."})
    if Segment.objects.filter(business=business, name__iexact=name).exists():
        raise _segment_name_taken(name)
    try:
        with transaction.atomic():
            segment = Segment.objects.create(
                business=business,
                name=name,
                filters=filters.to_dict(),
                created_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError as exc:
        raise _segment_name_taken(name) from exc
    audit_record(business=business, actor=actor, action="segment.created", subject=segment)
    return segment


@transaction.atomic
def segment_delete(*, business: Business, segment: Segment, actor=None) -> bool:
    """Delete a saved segment (its clients are untouched). Deleting one that is already gone changes nothing
    and returns False."""
    deleted, _ = Segment.objects.filter(business=business, pk=segment.pk).delete()
    if deleted:
        audit_record(business=business, actor=actor, action="segment.deleted", subject=segment, name=segment.name)
    return bool(deleted)
