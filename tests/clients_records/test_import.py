from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from businesses.models import AuditLog
from clients import imports
from clients.imports import client_import_run, import_job_create, parse_csv
from clients.models import Client, ImportJob, Source

GOOD_AND_BAD = (
    "First name,Surname,E-mail,Mobile,Source,Referred by email,Tags,Email consent\n"
    "Ann,Lee,ann@example.com,07911 123456,walk-in,,VIP,yes\n"  # 2: good
    "Bo,Ray,bo@example.com,,,zed@example.com,,\n"  # 3: good, referrer is further down the file
    ",NoName,noname@example.com,,,,,\n"  # 4: no first name
    "Cy,Dup,ANN@example.com,,,,,\n"  # 5: same e-mail as line 2
    "Di,Phone,di@example.com,12,,,,\n"  # 6: bad phone
    "Ed,Src,ed@example.com,,Billboard,,,\n"  # 7: unknown source
    "Fi,Ref,fi@example.com,,,nobody@example.com,,\n"  # 8: unknown referrer
    "Zed,Zulu,zed@example.com,,,,,no\n"  # 9: good
    "Gil,Old,existing@example.com,,,,,\n"  # 10: already a client
)


def run_import(business, text, actor=None):
    job = ImportJob.objects.create(business=business, file_name="clients.csv", content=text, created_by=actor)
    return client_import_run(business=business, job_id=job.pk)


def test_good_rows_are_imported_and_bad_rows_reported_by_line(business, owner, make_client, in_scope):
    make_client("Gil", "Old", email="existing@example.com")
    job = run_import(business, GOOD_AND_BAD, actor=owner)
    assert job.status == ImportJob.Status.DONE and job.finished_at is not None
    assert (job.total_rows, job.processed_rows, job.imported_rows) == (9, 9, 3)
    assert job.content == ""
    reasons = {error["line"]: error["reason"] for error in job.errors}
    assert sorted(reasons) == [4, 5, 6, 7, 8, 10]
    assert "first name is empty" in reasons[4]
    assert "already used on line 2" in reasons[5]
    assert reasons[6].startswith("Phone:")
    assert "Billboard" in reasons[7]
    assert "nobody@example.com" in reasons[8] and "no client has this e-mail" in reasons[8]
    assert reasons[10] == "E-mail: Gil Old already has this e-mail address."

    ann = Client.objects.get(business=business, email="ann@example.com")
    assert ann.phone == "+447911123456" and ann.source == Source.WALK_IN and ann.email_consent
    assert [tag.name for tag in ann.tags.all()] == ["VIP"]
    zed = Client.objects.get(business=business, email="zed@example.com")
    assert zed.source == Source.IMPORT
    bo = Client.objects.get(business=business, email="bo@example.com")
    assert bo.referred_by_id == zed.pk and bo.source == Source.IMPORT
    zed.refresh_from_db()
    assert zed.referred_clients_count == 1
    assert not Client.objects.filter(business=business, email__in=["di@example.com", "fi@example.com"]).exists()
    assert AuditLog.objects.filter(business=business, action="client.created", actor=owner).count() == 3


def test_a_row_that_fails_halfway_leaves_nothing_behind(business, in_scope, monkeypatch):
    from clients import services

    real_tags_set = services.tags_set

    def failing_tags_set(*, business, client, names):
        if "explode" in names:
            raise ValidationError({"tags": "Tag storage failed."})
        real_tags_set(business=business, client=client, names=names)

    monkeypatch.setattr(services, "tags_set", failing_tags_set)
    job = run_import(business, "First name,Email,Tags\nAnn,ann@example.com,ok\nBo,bo@example.com,explode\n")
    assert job.imported_rows == 1
    assert job.errors == [{"line": 3, "reason": "Tags: Tag storage failed."}]
    assert list(Client.objects.filter(business=business).values_list("first_name", flat=True)) == ["Ann"]
    assert (
        not AuditLog.objects.filter(business=business, action="client.created", subject_id__isnull=False)
        .exclude(subject_id__in=Client.objects.filter(business=business).values("pk"))
        .exists()
    )


def test_a_thousand_rows_import_with_progress_committed_per_chunk(business, in_scope, monkeypatch):
    progress = []
    real_save = ImportJob.save

    def spy(self, *args, **kwargs):
        if "processed_rows" in (kwargs.get("update_fields") or []):
            progress.append(self.processed_rows)
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(ImportJob, "save", spy)
    lines = ["First name,Last name,Email"] + [f"Client,{n},client{n}@example.com" for n in range(1000)]
    job = run_import(business, "\n".join(lines) + "\n")
    assert progress == [200, 400, 600, 800, 1000]
    assert (job.status, job.imported_rows, job.errors) == (ImportJob.Status.DONE, 1000, [])
    assert Client.objects.filter(business=business).count() == 1000


def test_an_interrupted_import_resumes_after_its_last_chunk(business, in_scope, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    text = "First name,Email\n" + "".join(f"C{n},c{n}@example.com\n" for n in range(5))
    job = ImportJob.objects.create(
        business=business, file_name="x.csv", content=text, status=ImportJob.Status.RUNNING, processed_rows=2
    )
    job = client_import_run(business=business, job_id=job.pk)
    assert job.status == ImportJob.Status.DONE and job.processed_rows == 5 and job.imported_rows == 3
    assert sorted(Client.objects.filter(business=business).values_list("first_name", flat=True)) == ["C2", "C3", "C4"]


def test_a_finished_job_is_not_run_again(business, in_scope):
    job = run_import(business, "First name\nAnn\n")
    assert client_import_run(business=business, job_id=job.pk).imported_rows == 1
    assert Client.objects.filter(business=business).count() == 1


def test_creating_a_job_starts_the_task_after_commit(business, owner, in_scope, django_capture_on_commit_callbacks):
    text = "First name,Email\nAnn,ann@example.com\n"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = import_job_create(business=business, file_name="a.csv", text=text, parsed=parse_csv(text), actor=owner)
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.imported_rows == 1


def upload(content: bytes, name="clients.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_upload_runs_the_import_and_shows_the_result(
    staff_client, business, url, in_scope, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url("import"), {"file": upload(GOOD_AND_BAD.encode("utf-8-sig"))})
    job = ImportJob.objects.get(business=business)
    assert response.status_code == 302 and response["Location"] == url("import_status", job.pk)
    page = staff_client.get(url("import_status", job.pk)).content.decode()
    assert "Import finished" in page and '<progress id="import-bar" max="9" value="9">' in page
    assert "no client has this e-mail" in page
    assert 'hx-trigger="every 1s"' not in page
    refused = staff_client.get(url("import_refused_csv", job.pk)).content.decode()
    assert refused.splitlines()[0] == "line,reason" and refused.count("\n") == 6
    assert "clients.csv" in staff_client.get(url("import")).content.decode()


def test_a_running_import_polls_its_progress(staff_client, business, url, in_scope):
    job = ImportJob.objects.create(
        business=business,
        file_name="big.csv",
        content="x",
        status=ImportJob.Status.RUNNING,
        total_rows=1000,
        processed_rows=400,
        imported_rows=390,
        errors=[{"line": 7, "reason": "Phone: not valid"}],
    )
    page = staff_client.get(url("import_status", job.pk)).content.decode()
    assert 'hx-trigger="every 1s"' in page and "400 of 1000 rows checked" in page
    partial = staff_client.get(url("import_status", job.pk), HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="import-progress"') and "<html" not in partial
    assert "Phone: not valid" in partial


def test_the_preview_shows_the_detected_columns_and_stores_nothing(staff_client, business, url, in_scope):
    response = staff_client.post(
        url("import"),
        {"preview": "1", "file": upload(b"Given name,SURNAME,Colour\nAnn,Lee,red\n")},
        HTTP_HX_REQUEST="true",
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "<td>Given name</td><td>First name</td>" in page and "Ignored columns: Colour" in page
    assert "1 client" in page
    assert not ImportJob.objects.filter(business=business).exists()


@pytest.mark.parametrize(
    "content,message",
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook"),
        ("Vorname,E-mail\nJürgen,j@example.com\n".encode("cp1252"), "not UTF-8"),
        (b"ann@example.com,07911123456\n", "No recognised header row"),
        (b"First name,Email\n", "no clients below it"),
    ],
)
def test_upload_errors_are_explained_and_nothing_is_queued(staff_client, business, url, in_scope, content, message):
    response = staff_client.post(url("import"), {"file": upload(content)})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["file"])
    assert not ImportJob.objects.filter(business=business).exists()


def test_upload_over_ten_megabytes_is_refused(staff_client, business, url, in_scope, monkeypatch):
    monkeypatch.setattr("clients.forms.MAX_UPLOAD_BYTES", 10)
    response = staff_client.post(url("import"), {"file": upload(b"First name\nAnn\nBo\n")})
    assert response.status_code == 400
    assert "larger than 10 MB" in response.content.decode()


def test_upload_without_a_file_asks_for_one(staff_client, url):
    response = staff_client.post(url("import"))
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
