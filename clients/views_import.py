"""CSV import of clients: upload with a preview of the column mapping, then a progress page polled by htmx."""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render

from referrals_saas.tenancy import business_view

from .forms import ImportForm
from .imports import FIELD_LABELS, PREVIEW_ROWS, ImportFileError, import_job_create, read_upload
from .models import ImportJob
from .spreadsheet import safe_cell

SECTION = {"active_section": "clients"}
RECENT_IMPORTS = 10
SHOWN_REFUSED_ROWS = 500


def _page(request, form: ImportForm, status: int = 200):
    context = {
        **SECTION,
        "form": form,
        "jobs": ImportJob.objects.filter(business=request.business)
        .defer("content")
        .order_by("-created_at", "-id")[:RECENT_IMPORTS],
        "field_labels": FIELD_LABELS.values(),
    }
    return render(request, "clients/import.html", context, status=status)


def _preview_context(parsed) -> dict:
    names = [name for _, name in sorted(parsed.mapping.columns.items())]
    sample = [[row.values.get(name, "") for name in names] for row in parsed.rows[:PREVIEW_ROWS]]
    return {"mapping": parsed.mapping, "row_count": len(parsed.rows), "sample": sample}


@business_view
def import_page(request):
    """GET: the upload form and recent imports. POST with `preview`: the detected columns, nothing stored.
    POST: store the file as a job and start it."""
    if request.method != "POST":
        return _page(request, ImportForm())
    form = ImportForm(request.POST, request.FILES)
    parsed = None
    if form.is_valid():
        upload = form.cleaned_data["file"]
        raw = upload.read()
        try:
            parsed = read_upload(raw)
        except ImportFileError as exc:
            form.add_error("file", str(exc))
    if request.POST.get("preview"):
        context = {"form": form, "previewing": True, **(_preview_context(parsed) if parsed else {})}
        return render(request, "clients/import.html#preview", context, status=200 if parsed else 400)
    if parsed is None:
        return _page(request, form, status=400)
    if not parsed.rows:
        form.add_error("file", "The file has a header row but no clients below it.")
        return _page(request, form, status=400)
    job = import_job_create(
        business=request.business,
        file_name=upload.name,
        text=raw.decode("utf-8-sig"),
        parsed=parsed,
        actor=request.user,
    )
    return redirect("clients:import_status", business_slug=request.business.slug, import_id=job.pk)


def _job(request, import_id: int) -> ImportJob:
    return get_object_or_404(ImportJob.objects.defer("content"), business=request.business, pk=import_id)


@business_view
def import_status(request, import_id: int):
    # The id is checked before the method, so another business's id answers 404 whatever the method.
    job = _job(request, import_id)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    kept = [error for error in job.errors if error.get("line") is not None]
    context = {
        **SECTION,
        "job": job,
        "refused": job.errors[:SHOWN_REFUSED_ROWS],
        "refused_count": job.error_count,
        "refused_hidden": max(len(kept) - SHOWN_REFUSED_ROWS, 0),
        "refused_unlisted": max(job.error_count - len(kept), 0),
        "running": job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING),
    }
    if request.htmx:
        return render(request, "clients/import_status.html#progress", context)
    return render(request, "clients/import_status.html", context)


@business_view
def import_refused_csv(request, import_id: int):
    """The refused rows as a file, to fix them in the spreadsheet next to the original."""
    job = _job(request, import_id)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["line", "reason"])
    kept = 0
    for error in job.errors:
        kept += error.get("line") is not None
        # The reason quotes what the file said ("Source “=HYPERLINK(…)” is not …"): defuse it for the spreadsheet.
        writer.writerow([safe_cell(error.get("line") or ""), safe_cell(error.get("reason", ""))])
    if job.error_count > kept:
        writer.writerow(["", f"{job.error_count - kept} more refused rows are not listed. Fix these and import again."])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-refused-rows.csv"'
    return response
