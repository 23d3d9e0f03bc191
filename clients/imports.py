"""CSV import of clients: reading and checking the file (pure functions) and the import itself (a service).

Columns are matched by their header, case-insensitively and with common synonyms. Each row becomes a client in its
own savepoint, so a refused row leaves nothing behind and the good rows are kept. Rows are worked through in
chunks of one transaction each; the job's progress commits with its chunk, so a worker that dies mid-file
resumes after the last chunk it finished instead of starting again.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.html import strip_tags

from businesses.models import Business
from businesses.services import audit_record

from .identity import canonical_email
from .models import Client, ImportJob, Source
from .services import ClientData, client_create

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
CHUNK_ROWS = 200
PREVIEW_ROWS = 3

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
    depth: dict[int, int] = {}

    def depth_of(line: int) -> int:
        seen: set[int] = set()
        steps, current = 0, referrer_line.get(line)
        while current is not None and current not in seen and current != line:
            seen.add(current)
            steps += 1
            current = referrer_line.get(current)
        return steps

    for row in rows:
        depth[row.line] = depth_of(row.line)
    return sorted(rows, key=lambda row: (depth[row.line], row.line))


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
    """Run an import job to the end. Each chunk of rows commits with the job's progress; a refused row leaves
    nothing behind. Resumes after the last finished chunk if a worker died; a finished job is left alone."""
    job = ImportJob.objects.filter(business=business, pk=job_id).first()
    if job is None or job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        return job
    try:
        parsed = parse_csv(job.content)
    except ImportFileError as exc:
        return _finish(business, job.pk, ImportJob.Status.FAILED, extra_error=str(exc))
    rows = import_order(parsed.rows)
    ImportJob.objects.filter(business=business, pk=job.pk).update(status=ImportJob.Status.RUNNING, total_rows=len(rows))
    seen_emails: dict[str, int] = {}
    try:
        while True:
            with transaction.atomic():
                job = ImportJob.objects.select_for_update().get(business=business, pk=job.pk)
                if job.status != ImportJob.Status.RUNNING:
                    return job
                chunk = rows[job.processed_rows : job.processed_rows + CHUNK_ROWS]
                if not chunk:
                    break
                imported, errors = 0, []
                for row in chunk:
                    try:
                        with transaction.atomic():
                            _import_row(business, row, job.created_by, seen_emails)
                    except RowError as exc:
                        errors.append({"line": row.line, "reason": str(exc)})
                    except ValidationError as exc:
                        errors.append({"line": row.line, "reason": _reason(exc)})
                    else:
                        imported += 1
                job.processed_rows += len(chunk)
                job.imported_rows += imported
                job.errors = sorted([*job.errors, *errors], key=lambda e: e["line"] or 0)
                job.save(update_fields=["processed_rows", "imported_rows", "errors"])
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


def _finish(business: Business, job_id: int, status: str, extra_error: str = "") -> ImportJob:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(business=business, pk=job_id)
        job.status = status
        job.finished_at = timezone.now()
        # The uploaded file holds personal data; once imported it has no further use.
        job.content = ""
        if extra_error:
            job.errors = [{"line": None, "reason": extra_error}, *job.errors]
        job.save(update_fields=["status", "finished_at", "content", "errors"])
    return job


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
    task.delay_on_commit(business.id, job.id)
    return job
