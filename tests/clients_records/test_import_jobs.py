"""The import job's bookkeeping: a bounded list of refused rows, a linear ordering, and the sweep that re-sends
a job whose task was lost."""

from __future__ import annotations

import csv
import io
import random
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope
from hypothesis import given, settings
from hypothesis import strategies as st
from kombu.exceptions import OperationalError

from clients import imports, tasks
from clients.identity import canonical_email
from clients.imports import (
    MAX_RESUMES,
    STALE_AFTER,
    ParsedRow,
    client_import_run,
    import_job_create,
    import_jobs_resume_stale,
    import_order,
    parse_csv,
)
from clients.models import Client, ImportJob


def job_for(business, text, **fields):
    return ImportJob.objects.create(business=business, file_name="clients.csv", content=text, **fields)


# --- Refused rows: kept up to a cap, counted beyond it --------------------------------------------------------------


def test_refused_rows_are_kept_up_to_the_cap_and_counted_beyond(business, in_scope, monkeypatch):
    monkeypatch.setattr(imports, "MAX_KEPT_ERRORS", 5)
    monkeypatch.setattr(imports, "CHUNK_ROWS", 4)
    writes = []
    real_save = ImportJob.save

    def spy(self, *args, **kwargs):
        writes.append(set(kwargs.get("update_fields") or []))
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(ImportJob, "save", spy)
    lines = ["First name,Email"] + [f"Bad{n},not-an-email-{n}" for n in range(12)] + ["Good,good@example.com"]
    job = client_import_run(business=in_scope, job_id=job_for(in_scope, "\n".join(lines) + "\n").pk)

    assert (job.status, job.imported_rows, job.error_count) == (ImportJob.Status.DONE, 1, 12)
    assert [error["line"] for error in job.errors] == [2, 3, 4, 5, 6]
    chunk_writes = [fields for fields in writes if "processed_rows" in fields]
    # The list is rewritten only while it has room: once full, a chunk writes its counters alone.
    assert ["errors" in fields for fields in chunk_writes] == [True, True, False, False]


def test_chunks_do_not_read_the_uploaded_file_again(business, in_scope, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    text = "First name,Email\n" + "".join(f"C{n},c{n}@example.com\n" for n in range(6))
    job = job_for(in_scope, text)
    with CaptureQueriesContext(connection) as queries:
        client_import_run(business=in_scope, job_id=job.pk)
    reads_of_the_file = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and '"content"' in q["sql"]]
    # Once to parse it, once when the finished job clears it: not once per chunk.
    assert len(reads_of_the_file) == 2, reads_of_the_file


def test_the_status_page_and_the_csv_say_how_many_rows_were_not_listed(staff_client, business, in_scope):
    job = job_for(
        in_scope,
        "",
        status=ImportJob.Status.DONE,
        total_rows=1500,
        processed_rows=1500,
        error_count=1200,
        errors=[{"line": n, "reason": "E-mail: not valid"} for n in range(2, 1002)],
    )
    page = staff_client.get(reverse("clients:import_status", args=[business.slug, job.pk])).content.decode()
    assert "<dt>Refused</dt><dd>1200</dd>" in page
    assert "500 more refused rows are in the CSV download" in page
    assert "200 more rows were refused and are not listed" in page
    refused = staff_client.get(reverse("clients:import_refused_csv", args=[business.slug, job.pk])).content.decode()
    lines = refused.splitlines()
    assert len(lines) == 1 + 1000 + 1 and "200 more refused rows are not listed" in lines[-1]


def test_the_refused_rows_csv_neutralises_formulas(staff_client, business, in_scope):
    job = job_for(
        in_scope,
        "",
        status=ImportJob.Status.DONE,
        error_count=1,
        errors=[
            {"line": None, "reason": '=HYPERLINK("https://evil.example")'},
            {"line": 3, "reason": "@SUM(A1)"},
        ],
    )
    refused = staff_client.get(reverse("clients:import_refused_csv", args=[business.slug, job.pk])).content.decode()
    rows = list(csv.reader(io.StringIO(refused)))
    assert rows[1:] == [["", '\'=HYPERLINK("https://evil.example")'], ["3", "'@SUM(A1)"]]


# --- The order rows are imported in -------------------------------------------------------------------------------


def reference_import_order(rows: list[ParsedRow]) -> list[ParsedRow]:
    """The walk-every-chain version import_order replaced (quadratic on long chains), kept as the specification."""
    line_of_email: dict[str, int] = {}
    for row in rows:
        email = canonical_email(row.values.get("email", ""))
        if email:
            line_of_email.setdefault(email, row.line)
    referrer_line = {
        row.line: line_of_email.get(canonical_email(row.values.get("referred_by_email", ""))) for row in rows
    }

    def depth_of(line: int) -> int:
        seen: set[int] = set()
        steps, current = 0, referrer_line.get(line)
        while current is not None and current not in seen and current != line:
            seen.add(current)
            steps += 1
            current = referrer_line.get(current)
        return steps

    depth = {row.line: depth_of(row.line) for row in rows}
    return sorted(rows, key=lambda row: (depth[row.line], row.line))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(-1, 12)), min_size=1, max_size=25))
def test_import_order_matches_the_reference_on_any_referral_graph(pairs):
    # Each row: its own e-mail (a small pool, so duplicates happen) and whom it names as referrer (-1: nobody).
    rows = [
        ParsedRow(
            line=index + 2,
            values={"email": f"p{own}@example.com", "referred_by_email": f"p{ref}@example.com" if ref >= 0 else ""},
        )
        for index, (own, ref) in enumerate(pairs)
    ]
    assert [r.line for r in import_order(rows)] == [r.line for r in reference_import_order(rows)]


class CountingLookups(dict):
    lookups = 0

    def get(self, key, default=None):
        type(self).lookups += 1
        return super().get(key, default)


def test_referral_depths_look_each_line_up_once_on_a_long_chain():
    # Line n is referred by line n + 1, 20,000 deep: walking every line's chain anew costs 2 × 10⁸ lookups.
    n = 20_000
    lines = list(range(2, n + 2))
    random.Random(7).shuffle(lines)
    chain = CountingLookups({line: (line + 1 if line < n + 1 else None) for line in lines})
    depth = imports.referral_depths(chain)
    assert depth == {line: n + 1 - line for line in lines}
    assert CountingLookups.lookups <= n


def test_a_long_chain_in_a_file_imports_referrers_first():
    n = 2_000
    rows = [
        ParsedRow(line=i + 2, values={"email": f"c{i}@example.com", "referred_by_email": f"c{i + 1}@example.com"})
        for i in range(n)
    ]
    assert [row.line for row in import_order(rows)] == list(range(n + 1, 1, -1))


# --- Lost tasks: the stale-import sweep -----------------------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch):
    """Record what the sweep queues instead of running it."""
    calls: list[tuple] = []
    monkeypatch.setattr(tasks.client_import_run, "delay", lambda *args: calls.append(args))
    return calls


def stale(job: ImportJob, minutes: int = 11) -> ImportJob:
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(minutes=minutes))
    job.refresh_from_db()
    return job


def test_a_job_whose_task_was_lost_is_run_by_the_sweep(business, in_scope):
    # Queued, and its task never arrived (the broker was down when the upload committed).
    job = stale(job_for(in_scope, "First name,Email\nAnn,ann@example.com\nBo,bo@example.com\n"))
    assert tasks.imports_resume_stale.delay().get() == 1  # eager in tests: the import runs right away
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.imported_rows == 2
    assert Client.objects.filter(business=in_scope).count() == 2


def test_the_sweep_resumes_a_running_job_after_its_last_chunk(business, in_scope, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    text = "First name,Email\n" + "".join(f"C{n},c{n}@example.com\n" for n in range(5))
    # A worker died after the first chunk committed (C0, C1 are in).
    client_import_run(business=in_scope, job_id=job_for(in_scope, text, status=ImportJob.Status.QUEUED).pk)
    Client.objects.filter(business=in_scope, first_name__in=["C2", "C3", "C4"]).delete()
    job = ImportJob.objects.get(business=in_scope)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING, content=text, processed_rows=2, imported_rows=2, finished_at=None
    )
    stale(job)
    import_jobs_resume_stale()
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.imported_rows, job.errors) == (ImportJob.Status.DONE, 5, 5, [])
    assert Client.objects.filter(business=in_scope).count() == 5


def test_jobs_with_recent_progress_or_finished_are_left_alone(business, in_scope, sent):
    job_for(in_scope, "First name\nAnn\n", status=ImportJob.Status.RUNNING)  # progress a moment ago
    stale(job_for(in_scope, "", status=ImportJob.Status.DONE))
    stale(job_for(in_scope, "", status=ImportJob.Status.FAILED))
    assert import_jobs_resume_stale() == [] and sent == []


def test_two_sweeps_send_a_stale_job_once(business, in_scope, sent):
    job = stale(job_for(in_scope, "First name\nAnn\n"))
    now = timezone.now()
    assert import_jobs_resume_stale(now=now) == [job.pk]
    assert import_jobs_resume_stale(now=now) == []
    assert sent == [(business.pk, job.pk)]
    job.refresh_from_db()
    assert job.updated_at == now and job.resume_count == 1


def test_a_sweep_that_read_the_job_before_another_claimed_it_sends_nothing(business, in_scope, sent, monkeypatch):
    job = stale(job_for(in_scope, "First name\nAnn\n"))
    read_at = job.updated_at
    real_filter = ImportJob.objects.filter

    def filter_then_race(*args, **kwargs):
        qs = real_filter(*args, **kwargs)
        if kwargs.get("updated_at") == read_at:
            # Another sweep claims the job between this sweep's read and its conditional UPDATE.
            real_filter(pk=job.pk).update(updated_at=timezone.now())
        return qs

    monkeypatch.setattr(ImportJob.objects, "filter", filter_then_race)
    assert import_jobs_resume_stale() == []
    assert sent == []


def test_a_job_that_keeps_stalling_fails_with_a_message_instead_of_looping(business, in_scope, sent):
    job = stale(job_for(in_scope, "First name\nAnn\n", resume_count=MAX_RESUMES))
    assert import_jobs_resume_stale() == []
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and job.content == ""
    assert "interrupted again and again" in job.errors[0]["reason"]
    assert sent == []


def test_progress_resets_the_resume_count(business, in_scope):
    job = stale(job_for(in_scope, "First name\nAnn\n", resume_count=MAX_RESUMES - 1))
    import_jobs_resume_stale()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.resume_count == 0


def test_with_the_broker_down_the_upload_is_kept_for_the_sweep(
    staff_client, business, in_scope, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(tasks.client_import_run, "delay", broker_down)
    text = "First name,Email\nAnn,ann@example.com\n"
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(business=in_scope, file_name="a.csv", text=text, parsed=parse_csv(text), actor=None)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED
    monkeypatch.undo()
    assert import_jobs_resume_stale(now=timezone.now() + STALE_AFTER + timedelta(seconds=1)) == [job.pk]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.imported_rows == 1


def test_a_failed_send_from_the_sweep_is_retried_by_the_next_sweep(business, in_scope, monkeypatch):
    job = stale(job_for(in_scope, "First name\nAnn\n"))

    def broker_down(*args):
        raise OperationalError("Connection refused.")

    monkeypatch.setattr(tasks.client_import_run, "delay", broker_down)
    assert import_jobs_resume_stale() == []
    monkeypatch.undo()
    assert import_jobs_resume_stale(now=timezone.now() + STALE_AFTER + timedelta(seconds=1)) == [job.pk]


def test_the_sweep_task_has_the_name_the_beat_schedule_uses():
    assert tasks.imports_resume_stale.name == "clients.tasks.imports_resume_stale"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_running_the_same_job_import_each_row_once(business, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("Row locks need PostgreSQL; CI runs this on PostgreSQL.")
    monkeypatch.setattr(imports, "CHUNK_ROWS", 5)
    text = "First name,Email\n" + "".join(f"C{n},c{n}@example.com\n" for n in range(40))
    with scope(business=business):
        job = job_for(business, text)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def work():
        try:
            barrier.wait()
            with scope(business=business):
                client_import_run(business=business, job_id=job.pk)
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with scope(business=business):
        job.refresh_from_db()
        assert (job.status, job.imported_rows, job.error_count) == (ImportJob.Status.DONE, 40, 0)
        assert Client.objects.filter(business=business).count() == 40
