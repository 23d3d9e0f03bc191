"""CSV import of clients: reading and checking the file (pure functions) and the import itself (a service).

Columns are matched by their header, case-insensitively and with common synonyms. Each row becomes a client in its
own savepoint, so a refused row leaves nothing behind and the good rows are kept. Rows are worked through in
chunks of one transaction each; the job's progress commits with its chunk, so a worker that dies mid-file
resumes after the last chunk it finished instead of starting again: a row is imported once, whoever resumes.
A task lost on the way (broker down, worker killed) is re-sent by the `import_jobs_resume_stale` sweep.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.html import strip_tags
from django_scopes import scopes_disabled
from kombu.exceptions import OperationalError

from businesses.models import Business
from businesses.services import audit_record

from .identity import canonical_email
from .models import Client, ImportJob, Source
from .services import ClientData, client_create

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
CHUNK_ROWS = 200
PREVIEW_ROWS = 3
# The refused rows kept on the job (line and reason); past this only `error_count` grows, so a file of
# 100,000 bad rows neither rewrites a growing JSON column per chunk nor becomes a page nobody reads.
MAX_KEPT_ERRORS = 1_000
# An unfinished job with no progress for this long lost its task; the sweep sends it again, at most
# MAX_RESUMES times in a row without progress (a file that kills its worker every time must not loop forever).
STALE_AFTER = timedelta(minutes=10)
MAX_RESUMES = 6
STALE_BATCH = 100
UNFINISHED = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)

FIELD_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name (split into first and last)",
    "email": "E-mail",
    "phone": "Phone",
    "source": "Source",
    "source_detail": "How they heard about you",
    "referred_by_email": "Referred by (e-mail)",
    "tags": "Tags",
    "notes": "Notes",
    "email_consent": "E-mail marketing consent",
    "sms_consent": "SMS marketing consent",
}
# Header spellings seen in exports of booking systems and spreadsheets, compared with letters and digits only.
HEADER_SYNONYMS = {
    "first_name": ["first name", "firstname", "given name", "forename", "first"],
    "last_name": ["last name", "lastname", "surname", "family name", "last"],
    "full_name": ["name", "full name", "client name", "client"],
    "email": ["email", "e-mail", "email address", "e-mail address", "mail"],
    "phone": ["phone", "mobile", "phone number", "mobile phone", "mobile number", "cell", "telephone", "tel"],
    "source": ["source", "client source", "lead source"],
    "source_detail": ["how they heard", "how did you hear about us", "heard about", "source detail", "referral note"],
    "referred_by_email": [
        "referred by email",
        "referred by e-mail",
        "referrer email",
        "referrer e-mail",
        "referred by",
        "referrer",
    ],
    "tags": ["tags", "tag", "labels"],
    "notes": ["notes", "note", "comments", "private notes"],
    "email_consent": ["email consent", "e-mail consent", "marketing consent", "email marketing", "accepts marketing"],
    "sms_consent": ["sms consent", "sms marketing", "text consent", "accepts sms"],
}


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.strip().lower())


HEADER_LOOKUP = {_key(synonym): name for name, synonyms in HEADER_SYNONYMS.items() for synonym in synonyms}
CONSENT_WORDS = {
    "yes": True,
    "y": True,
    "true": True,
    "1": True,
    "opted in": True,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
    "": False,
}
FIELD_ERROR_LABELS = {**FIELD_LABELS, "referred_by": "Referred by"}


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message says why and what to do."""


@dataclass
class Mapping:
    columns: dict[int, str]
    headers: list[str]
    ignored: list[str] = field(default_factory=list)

    @property
    def matched(self) -> list[tuple[str, str]]:
        """(header in the file, what it fills) in file order."""
        return [(self.headers[index], FIELD_LABELS[name]) for index, name in sorted(self.columns.items())]


@dataclass
class ParsedRow:
    line: int
    values: dict[str, str]


@dataclass
class ParsedFile:
    mapping: Mapping
    rows: list[ParsedRow]


class RowError(ValueError):
    pass


def decode_upload(raw: bytes) -> str:
    """The text of an uploaded file: UTF-8, with or without a byte-order mark; anything else is refused clearly."""
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            "This looks like an Excel workbook, not a CSV file. In Excel choose File → Save As → "
            "“CSV UTF-8 (Comma delimited)” and upload that file."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The file is not UTF-8 encoded (unreadable byte at position {exc.start}). Save it again as "
            "“CSV UTF-8” from your spreadsheet program and upload it."
        ) from exc
    if "\x00" in text:
        raise ImportFileError("This is not a CSV file. Upload a .csv file exported from a spreadsheet.")
    if not text.strip():
        raise ImportFileError("The file is empty. Upload a CSV file with a header row and one client per row.")
    return text


def _dialect(text: str):
    first_line = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(first_line, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def detect_mapping(headers: list[str]) -> Mapping:
    columns: dict[int, str] = {}
    ignored: list[str] = []
    for index, header in enumerate(headers):
        name = HEADER_LOOKUP.get(_key(header))
        if name is None or name in columns.values():
            if header.strip():
                ignored.append(header.strip())
            continue
        columns[index] = name
    mapping = Mapping(columns=columns, headers=[h.strip() for h in headers], ignored=ignored)
    found = set(columns.values())
    if not found & {"first_name", "full_name"}:
        expected = ", ".join(f"“{label}”" for label in ("First name", "Last name", "E-mail", "Phone"))
        raise ImportFileError(
            "No recognised header row: the first line must name the columns, with at least a first name "
            f"(or name) column, e.g. {expected}."
        )
    if "first_name" in found and "full_name" in found:
        # Both present: the explicit first and last name columns win.
        mapping.columns = {i: n for i, n in columns.items() if n != "full_name"}
        mapping.ignored.append(headers[next(i for i, n in columns.items() if n == "full_name")].strip())
    return mapping


def parse_csv(text: str) -> ParsedFile:
    """Read the header and every non-empty row, keeping each row's line number in the file (header = line 1)."""
    reader = csv.reader(text.splitlines(keepends=True), dialect=_dialect(text))
    try:
        headers = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise ImportFileError("This is not a readable CSV file.") from exc
    mapping = detect_mapping(headers)
    rows: list[ParsedRow] = []
    next_line = reader.line_num + 1
    try:
        for cells in reader:
            line, next_line = next_line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            values = {
                name: cells[index].strip() if index < len(cells) else "" for index, name in mapping.columns.items()
            }
            rows.append(ParsedRow(line=line, values=values))
    except csv.Error as exc:
        raise ImportFileError(f"Line {next_line}: {exc}. Check the quotes in that line.") from exc
    return ParsedFile(mapping=mapping, rows=rows)


def read_upload(raw: bytes) -> ParsedFile:
    return parse_csv(decode_upload(raw))


def _source(value: str) -> str:
    wanted = value.strip().lower()
    if not wanted:
        return Source.IMPORT
    for choice_value, label in Source.choices:
        if wanted in (choice_value, label.lower(), choice_value.replace("_", " ")):
            return choice_value
    options = ", ".join(label for _, label in Source.choices)
    raise RowError(f"Source “{value}” is not one of: {options}.")


def _consent(value: str, label: str) -> bool:
    answer = CONSENT_WORDS.get(value.strip().lower())
    if answer is None:
        raise RowError(f"{label} “{value}” must be yes or no (also accepted: true/false, 1/0).")
    return answer


def row_to_data(values: dict[str, str]) -> tuple[ClientData, str]:
    """ClientData and the referrer's e-mail from one row; raises RowError with the reason a person can act on."""
    first, last = values.get("first_name", ""), values.get("last_name", "")
    if "full_name" in values:
        first, _, last = values["full_name"].strip().partition(" ")
    email = values.get("email", "")
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise RowError(f"E-mail “{email}” is not a valid address.") from exc
    referrer_email = values.get("referred_by_email", "")
    if referrer_email:
        try:
            validate_email(referrer_email)
        except ValidationError as exc:
            raise RowError(f"Referred by “{referrer_email}” is not a valid e-mail address.") from exc
    data = ClientData(
        first_name=first.strip(),
        last_name=last.strip(),
        email=email,
        phone=values.get("phone", ""),
        source=_source(values.get("source", "")),
        source_detail=values.get("source_detail", ""),
        notes=values.get("notes", ""),
        email_consent=_consent(values.get("email_consent", ""), "E-mail consent"),
        sms_consent=_consent(values.get("sms_consent", ""), "SMS consent"),
        tags=[tag.strip() for tag in re.split(r"[,;|]", values.get("tags", "")) if tag.strip()],
    )
    if not data.first_name:
        raise RowError("The first name is empty.")
    return data, referrer_email


def import_order(rows: list[ParsedRow]) -> list[ParsedRow]:
    """The rows with each referrer's row before the rows of the people they referred, otherwise in file order.

    So "referred by" works whatever order the file is in. Deterministic, which lets a resumed import skip
    exactly the rows it already did.
    """
    line_of_email: dict[str, int] = {}
    for row in rows:
        email = canonical_email(row.values.get("email", ""))
        if email:
            line_of_email.setdefault(email, row.line)
    referrer_line = {
        row.line: line_of_email.get(canonical_email(row.values.get("referred_by_email", ""))) for row in rows
    }
    depth = referral_depths(referrer_line)
    return sorted(rows, key=lambda row: (depth[row.line], row.line))


def referral_depths(referrer_of: dict[int, int | None]) -> dict[int, int]:
    """How many referrers stand above each line in the file (members of a cycle count the others in it).

    Memoised: each line is looked up once, so a chain of 50,000 referrals costs 50,000 steps, not 50,000².
    """
    depth: dict[int, int] = {}
    for line in referrer_of:
        if line in depth:
            continue
        path: list[int] = []
        position: dict[int, int] = {}
        current: int | None = line
        while current is not None and current not in depth and current not in position:
            position[current] = len(path)
            path.append(current)
            current = referrer_of.get(current)
        if current is None:
            below = -1  # the last line on the path has no referrer in the file: depth 0
        elif current in depth:
            below = depth[current]
        else:
            # The path ran into itself: the lines from `current` on form a cycle, each `cycle - 1` deep.
            start = position[current]
            cycle = len(path) - start
            for member in path[start:]:
                depth[member] = cycle - 1
            path, below = path[:start], cycle - 1
        for steps, member in enumerate(reversed(path), start=1):
            depth[member] = below + steps
    return depth


def _reason(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        parts = []
        for name, errors in error.error_dict.items():
            text = " ".join(strip_tags(message) for e in errors for message in e.messages)
            parts.append(f"{FIELD_ERROR_LABELS.get(name, name.replace('_', ' ').capitalize())}: {text}")
        return " ".join(parts)
    return " ".join(strip_tags(message) for message in error.messages)


def _import_row(business: Business, row: ParsedRow, actor, seen_emails: dict[str, int]) -> None:
    """Create one client or raise the reason the row is refused. The caller runs it in a savepoint."""
    data, referrer_email = row_to_data(row.values)
    email = canonical_email(data.email)
    if email and email in seen_emails:
        raise RowError(f"E-mail “{data.email}” is already used on line {seen_emails[email]} of this file.")
    referrer = None
    if referrer_email:
        wanted = canonical_email(referrer_email)
        if email and wanted == email:
            raise RowError("A client cannot be referred by themselves.")
        referrer = Client.objects.filter(business=business, email_canonical=wanted, erased_at__isnull=True).first()
        if referrer is None:
            raise RowError(
                f"Referred by “{referrer_email}”: no client has this e-mail. Add the referrer first (in this "
                "file or in the dashboard), or leave the column empty."
            )
    client_create(business=business, data=data, actor=actor, referred_by=referrer)
    if email:
        seen_emails[email] = row.line


def client_import_run(*, business: Business, job_id: int) -> ImportJob | None:
    """Run an import job to the end. Each chunk of rows commits with the job's progress under the job's row
    lock; a refused row leaves nothing behind. Resumes after the last finished chunk if a worker died, and two
    workers sent the same job take its chunks in turn, never one twice; a finished job is left alone."""
    job = ImportJob.objects.filter(business=business, pk=job_id).first()
    if job is None or job.status not in UNFINISHED:
        return job
    try:
        parsed = parse_csv(job.content)
    except ImportFileError as exc:
        return _finish(business, job.pk, ImportJob.Status.FAILED, extra_error=str(exc))
    rows = import_order(parsed.rows)
    ImportJob.objects.filter(business=business, pk=job.pk, status__in=UNFINISHED).update(
        status=ImportJob.Status.RUNNING, total_rows=len(rows), updated_at=timezone.now()
    )
    seen_emails: dict[str, int] = {}
    try:
        while True:
            with transaction.atomic():
                # Without the file (up to 10 MB) and the kept errors: each chunk reads and writes what it needs.
                job = ImportJob.objects.select_for_update().defer("content", "errors").get(business=business, pk=job.pk)
                if job.status != ImportJob.Status.RUNNING:
                    return job
                chunk = rows[job.processed_rows : job.processed_rows + CHUNK_ROWS]
                if not chunk:
                    break
                imported, errors = _import_chunk(business, chunk, job.created_by, seen_emails)
                _record_chunk(job, len(chunk), imported, errors)
    except Exception:
        logger.exception("Import %s of business %s stopped", job.pk, business.pk)
        return _finish(
            business,
            job.pk,
            ImportJob.Status.FAILED,
            extra_error="The import stopped unexpectedly. The rows counted as imported are saved; "
            "upload the file again to import the rest (rows already imported will be refused as duplicates).",
        )
    return _finish(business, job.pk, ImportJob.Status.DONE)


def _import_chunk(business: Business, chunk: list[ParsedRow], actor, seen_emails: dict[str, int]) -> tuple[int, list]:
    imported, errors = 0, []
    for row in chunk:
        try:
            with transaction.atomic():
                _import_row(business, row, actor, seen_emails)
        except RowError as exc:
            errors.append({"line": row.line, "reason": str(exc)})
        except ValidationError as exc:
            errors.append({"line": row.line, "reason": _reason(exc)})
        except IntegrityError:
            # A change made at the same moment (the e-mail race is turned into a ValidationError already).
            errors.append({"line": row.line, "reason": "This row clashed with a change made at the same time."})
        else:
            imported += 1
    return imported, errors


def _record_chunk(job: ImportJob, rows: int, imported: int, errors: list[dict]) -> None:
    """Progress of one chunk, written with it. The kept errors only grow until MAX_KEPT_ERRORS, so the work per
    chunk does not grow with the file."""
    fields = ["processed_rows", "imported_rows", "error_count", "updated_at", "resume_count"]
    room = MAX_KEPT_ERRORS - min(job.error_count, MAX_KEPT_ERRORS)
    if errors and room > 0:
        job.errors = [*job.errors, *errors[:room]]
        fields.append("errors")
    job.processed_rows += rows
    job.imported_rows += imported
    job.error_count += len(errors)
    job.updated_at = timezone.now()
    job.resume_count = 0  # progress: the next stall starts its own count
    job.save(update_fields=fields)


def _finish(business: Business, job_id: int, status: str, extra_error: str = "") -> ImportJob:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(business=business, pk=job_id)
        job.status = status
        job.finished_at = job.updated_at = timezone.now()
        # The uploaded file holds personal data; once imported it has no further use.
        job.content = ""
        # Rows were taken referrers first; the person fixing the file reads them in file order.
        errors = sorted(job.errors, key=lambda e: e["line"] or 0)
        if extra_error:
            errors = [{"line": None, "reason": extra_error}, *errors]
        job.errors = errors
        job.save(update_fields=["status", "finished_at", "updated_at", "content", "errors"])
    return job


def import_jobs_resume_stale(*, now: datetime | None = None) -> list[int]:
    """Send again every unfinished import without progress for STALE_AFTER (its task was lost: broker down,
    worker killed before it could be redelivered). Returns the ids sent.

    Each job is claimed with a conditional UPDATE on the `updated_at` the sweep read, so two sweeps at once send
    it once; a duplicate run would be harmless anyway (chunks are taken under the job's row lock). After
    MAX_RESUMES sends without progress the job fails with a message instead of looping.
    """
    from .tasks import client_import_run as task

    now = now or timezone.now()
    sent: list[int] = []
    with scopes_disabled():
        stale = list(
            ImportJob.objects.filter(status__in=UNFINISHED, updated_at__lt=now - STALE_AFTER)
            .order_by("updated_at")
            .values_list("pk", "business_id", "updated_at", "resume_count")[:STALE_BATCH]
        )
        for pk, business_id, updated_at, resume_count in stale:
            claimed = ImportJob.objects.filter(
                business_id=business_id, pk=pk, status__in=UNFINISHED, updated_at=updated_at
            ).update(updated_at=now, resume_count=F("resume_count") + 1)
            if not claimed:
                continue  # another sweep took it, or the import moved on meanwhile
            if resume_count + 1 > MAX_RESUMES:
                job = ImportJob.objects.select_related("business").get(pk=pk)
                logger.error("Import %s of business %s gave up after %s resumes", pk, business_id, resume_count)
                _finish(
                    job.business,
                    pk,
                    ImportJob.Status.FAILED,
                    extra_error="The import was interrupted again and again and has stopped. The rows counted "
                    "as imported are saved; upload the file again to import the rest.",
                )
                continue
            if _send(task, business_id, pk):
                sent.append(pk)
    return sent


def _send(task, business_id: int, job_id: int) -> bool:
    """Queue the import; with the broker down, log and leave the job to the next sweep instead of failing."""
    try:
        task.delay(business_id, job_id)
    except OperationalError:
        logger.warning("Import %s of business %s could not be queued; the sweep will retry", job_id, business_id)
        return False
    return True


@transaction.atomic
def import_job_create(*, business: Business, file_name: str, text: str, parsed: ParsedFile, actor) -> ImportJob:
    """Store the uploaded file as a queued job and start the import once the job is committed."""
    from .tasks import client_import_run as task

    job = ImportJob.objects.create(
        business=business,
        file_name=file_name[:200],
        content=text,
        total_rows=len(parsed.rows),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_record(business=business, actor=actor, action="client.import_started", subject=job, rows=len(parsed.rows))
    # The job is committed whether or not the broker answers: a failed send is left to the stale-import sweep.
    transaction.on_commit(partial(_send, task, business.id, job.id))
    return job
