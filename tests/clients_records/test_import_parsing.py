"""The pure part of the CSV import: decoding, header mapping, rows, ordering. No database."""

from __future__ import annotations

import pytest

from clients.imports import (
    ImportFileError,
    ParsedRow,
    RowError,
    decode_upload,
    detect_mapping,
    import_order,
    parse_csv,
    row_to_data,
)
from clients.models import Source


@pytest.mark.parametrize(
    "header,field",
    [
        ("First Name", "first_name"),
        ("firstname", "first_name"),
        ("Given name", "first_name"),
        ("SURNAME", "last_name"),
        ("Last name", "last_name"),
        ("E-mail", "email"),
        ("email", "email"),
        ("Mobile", "phone"),
        ("Phone", "phone"),
        ("Source", "source"),
        ("Referred by email", "referred_by_email"),
        ("Referrer e-mail", "referred_by_email"),
        ("Tags", "tags"),
        ("Notes", "notes"),
        ("Email consent", "email_consent"),
        ("Marketing consent", "email_consent"),
        ("first_name", "first_name"),
    ],
)
def test_headers_are_matched_case_insensitively_with_synonyms(header, field):
    mapping = detect_mapping(["first name", header] if field != "first_name" else [header])
    assert field in mapping.columns.values()


def test_unknown_and_repeated_headers_are_ignored_and_reported():
    mapping = detect_mapping(["First name", "Favourite colour", "Mobile", "Phone"])
    assert mapping.columns == {0: "first_name", 2: "phone"}
    assert mapping.ignored == ["Favourite colour", "Phone"]


def test_a_file_without_a_name_column_is_refused():
    with pytest.raises(ImportFileError, match="No recognised header row"):
        detect_mapping(["ann@example.com", "07911 123456"])


@pytest.mark.parametrize(
    "raw,message",
    [
        ("Vorname,E-mail\nJürgen,j@example.com\n".encode("latin-1"), "not UTF-8"),
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8"),
        (b"first name\x00\x00", "not a CSV file"),
        (b"   \n", "empty"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(raw, message):
    with pytest.raises(ImportFileError, match=message):
        decode_upload(raw)


def test_a_byte_order_mark_is_accepted():
    text = decode_upload("\ufeffFirst name,Email\nJürgen,j@example.com\n".encode())
    parsed = parse_csv(text)
    assert parsed.mapping.columns == {0: "first_name", 1: "email"}
    assert parsed.rows[0].values == {"first_name": "Jürgen", "email": "j@example.com"}


def test_line_numbers_count_the_header_as_line_one_and_follow_multi_line_cells():
    text = 'First name;Notes\nAnn;"line one\nline two"\n\n   ;\nBo;short\n'
    parsed = parse_csv(text)
    assert [(row.line, row.values["first_name"]) for row in parsed.rows] == [(2, "Ann"), (6, "Bo")]
    assert parsed.rows[0].values["notes"] == "line one\nline two"


def test_a_full_name_column_is_split_when_there_is_no_first_name_column():
    parsed = parse_csv("Name,Email\nMary Ann Smith,m@example.com\n")
    data, _ = row_to_data(parsed.rows[0].values)
    assert (data.first_name, data.last_name) == ("Mary", "Ann Smith")


@pytest.mark.parametrize(
    "value,expected",
    [
        ("", Source.IMPORT),
        ("Walk-in", Source.WALK_IN),
        ("walk_in", Source.WALK_IN),
        ("CLIENT REFERRAL", Source.CLIENT_REFERRAL),
    ],
)
def test_sources_are_read_by_value_or_label(value, expected):
    data, _ = row_to_data({"first_name": "Ann", "source": value})
    assert data.source == expected


@pytest.mark.parametrize(
    "values,reason",
    [
        ({"first_name": ""}, "first name is empty"),
        ({"first_name": "Ann", "source": "Billboard"}, "Source “Billboard” is not one of"),
        ({"first_name": "Ann", "email_consent": "maybe"}, "must be yes or no"),
        ({"first_name": "Ann", "email": "ann@"}, "not a valid address"),
        ({"first_name": "Ann", "referred_by_email": "nobody"}, "not a valid e-mail"),
    ],
)
def test_bad_rows_raise_a_reason(values, reason):
    with pytest.raises(RowError, match=reason):
        row_to_data(values)


@pytest.mark.parametrize(
    "value,expected",
    [("yes", True), ("Y", True), ("TRUE", True), ("1", True), ("no", False), ("0", False), ("", False)],
)
def test_consent_words(value, expected):
    data, _ = row_to_data({"first_name": "Ann", "email_consent": value, "sms_consent": value})
    assert data.email_consent is expected and data.sms_consent is expected


def test_tags_split_on_commas_and_semicolons():
    data, _ = row_to_data({"first_name": "Ann", "tags": "VIP, mornings; gift card"})
    assert data.tags == ["VIP", "mornings", "gift card"]


def test_referrers_rows_come_before_the_rows_they_referred():
    rows = [
        ParsedRow(2, {"email": "c@example.com", "referred_by_email": "b@example.com"}),
        ParsedRow(3, {"email": "b@example.com", "referred_by_email": "A@example.com"}),
        ParsedRow(4, {"email": "a@example.com"}),
        ParsedRow(5, {"email": "x@example.com", "referred_by_email": "y@example.com"}),
        ParsedRow(6, {"email": "loop1@example.com", "referred_by_email": "loop2@example.com"}),
        ParsedRow(7, {"email": "loop2@example.com", "referred_by_email": "loop1@example.com"}),
    ]
    assert [row.line for row in import_order(rows)] == [4, 5, 3, 6, 7, 2]
