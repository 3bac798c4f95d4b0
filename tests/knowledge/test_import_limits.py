"""Hostile and broken files: every import is bounded and refused with one line naming the file, row and field.

The builders below make each hostile file in a few kilobytes or megabytes; scripts may reuse them to measure.
"""

import csv
import io
import json
import random
import re
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from knowledge import bounds, importer, xlsx
from knowledge.bounds import MAX_COLUMNS, MAX_DEPTH, MAX_ROWS, MAX_SHEET_ROWS
from knowledge.db import load_procedures
from knowledge.importer import ImportFileError, ReadResult, read_file, read_offices, read_upload
from knowledge.records import DATA_KEYS, RecordError, parse_record

HEADER = ",".join(DATA_KEYS)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# --- builders of hostile files ---------------------------------------------------------------------------------------


def workbook_bytes(rows: list[list[object]] | None = None) -> bytes:
    """A real workbook (openpyxl) with the export header and the given rows."""
    workbook = Workbook()
    workbook.active.append(list(DATA_KEYS))
    for row in rows if rows is not None else [["9.000001", "Thủ tục A"]]:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rewrite_part(data: bytes, name: str, change: Callable[[bytes], bytes]) -> bytes:
    """The workbook with one part's bytes changed, repacked."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            target.writestr(info.filename, change(content) if info.filename == name else content)
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"


def wide_dimension_xlsx(folder: Path, blank_rows: int = 20_000) -> Path:
    """The probe's workbook: one procedure, then empty rows, in a sheet declaring the dimension A1:XFD1048576
    (read naively, every row is padded to 16,384 cells: minutes of work for a few kilobytes)."""
    blank = b"".join(b'<row r="%d"/>' % number for number in range(3, 3 + blank_rows))

    def widen(xml: bytes) -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', xml)
        return xml.replace(b"</sheetData>", blank + b"</sheetData>")

    path = folder / "wide.xlsx"
    path.write_bytes(rewrite_part(workbook_bytes(), SHEET, widen))
    return path


def far_row_xlsx(folder: Path) -> Path:
    """A workbook whose second row is numbered 1,048,576 (openpyxl fills the gap with empty rows)."""
    far = b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>9.000002</t></is></c></row></sheetData>'
    data = rewrite_part(workbook_bytes(), SHEET, lambda xml: xml.replace(b"</sheetData>", far))
    path = folder / "far.xlsx"
    path.write_bytes(data)
    return path


def zip_bomb_xlsx(folder: Path, megabytes: int = 8) -> Path:
    """Small on disk, large unpacked: the sheet padded with megabytes of spaces (legal between XML elements)."""
    padding = b" " * (megabytes * 1024 * 1024)
    data = rewrite_part(workbook_bytes(), SHEET, lambda xml: xml.replace(b"<sheetData>", b"<sheetData>" + padding))
    path = folder / "bomb.xlsx"
    path.write_bytes(data)
    return path


def lying_directory_xlsx(folder: Path) -> Path:
    """A workbook whose zip directory declares a 2 GB sheet."""
    data = bytearray(workbook_bytes())
    entry = data.index(b"PK\x01\x02")
    while True:  # the central directory entry of the sheet
        name_length = int.from_bytes(data[entry + 28 : entry + 30], "little")
        if data[entry + 46 : entry + 46 + name_length] == SHEET.encode():
            break
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 24 : entry + 28] = (2**31 - 1).to_bytes(4, "little")
    path = folder / "lying.xlsx"
    path.write_bytes(bytes(data))
    return path


def many_entries_xlsx(folder: Path) -> Path:
    """A zip of 1,001 empty parts."""
    path = folder / "entries.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for number in range(bounds.MAX_XLSX_ENTRIES + 1):
            archive.writestr(f"part{number}.xml", b"")
    return path


def wide_row_xlsx(folder: Path) -> Path:
    """A sheet row of 10,000 cells (openpyxl builds a whole row in memory before it yields it)."""
    cells = b"<c/>" * 10_000
    data = rewrite_part(
        workbook_bytes(), SHEET, lambda xml: xml.replace(b"</sheetData>", b"<row>" + cells + b"</row></sheetData>")
    )
    path = folder / "wide-row.xlsx"
    path.write_bytes(data)
    return path


def dtd_xlsx(folder: Path) -> Path:
    """A workbook part with an entity declaration (the start of a billion-laughs expansion)."""
    dtd = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>'
    data = rewrite_part(
        workbook_bytes(),
        "xl/workbook.xml",
        lambda xml: re.sub(rb"^(<\?xml[^>]*\?>)?", lambda m: (m.group(0) or b"") + dtd, xml),
    )
    path = folder / "dtd.xlsx"
    path.write_bytes(data)
    return path


def truncated_xlsx(folder: Path) -> Path:
    """The first half of a workbook, as an interrupted download leaves it."""
    data = workbook_bytes()
    path = folder / "truncated.xlsx"
    path.write_bytes(data[: len(data) // 2])
    return path


def garbage(folder: Path, suffix: str, size: int = 4096) -> Path:
    """Random bytes under a staff file name."""
    path = folder / f"garbage.{suffix}"
    path.write_bytes(random.Random(7).randbytes(size))
    return path


def csv_over_row_limit(folder: Path) -> Path:
    """MAX_ROWS + 1 valid procedure rows."""
    path = folder / "rows.csv"
    lines = ["code,name"] + [f"9.{number:06d},Thủ tục {number}" for number in range(MAX_ROWS + 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def csv_blank_rows(folder: Path) -> Path:
    """A header, then more blank lines than a spreadsheet has rows to read."""
    path = folder / "blank.csv"
    path.write_text("code,name\n" + "\n" * (MAX_SHEET_ROWS + 1), encoding="utf-8")
    return path


def csv_long_line(folder: Path) -> Path:
    """One physical line of over a million characters."""
    path = folder / "line.csv"
    path.write_text("code,name\n9.1," + "a" * bounds.MAX_ROW_CHARS, encoding="utf-8")
    return path


def csv_endless_row(folder: Path) -> Path:
    """Quoted cells that each end a line, so that one row goes on for 300,000 short lines."""
    path = folder / "endless.csv"
    path.write_text("code,name\n9.1," + '"a\n",' * 300_000 + "\n", encoding="utf-8")
    return path


def csv_huge_cell(folder: Path) -> Path:
    """A quoted cell beyond csv.field_size_limit, made of short lines."""
    path = folder / "cell.csv"
    path.write_text('code,name,documents\n9.1,A,"' + "giấy\n" * 30_000 + '"\n', encoding="utf-8")
    return path


def csv_utf16(folder: Path) -> Path:
    path = folder / "utf16.csv"
    path.write_bytes("code,name\n9.1,Đăng ký\n".encode("utf-16"))
    return path


def csv_nul(folder: Path) -> Path:
    path = folder / "nul.csv"
    path.write_bytes(b"code,name\n9.1,A\x00B\n")
    return path


def json_huge_numbers(folder: Path) -> Path:
    path = folder / "numbers.json"
    path.write_text('[{"code": "9.1", "name": "A", "fees": 1e99999}]', encoding="utf-8")
    return path


def json_huge_integer(folder: Path) -> Path:
    path = folder / "integer.json"
    path.write_text('[{"code": "9.1", "name": ' + "9" * 5000 + "}]", encoding="utf-8")
    return path


def json_deep(folder: Path) -> Path:
    path = folder / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    return path


def json_many_values(folder: Path) -> Path:
    """One procedure holding a list of 200,000 empty lists (a few bytes each, 64 bytes each once built)."""
    path = folder / "values.json"
    path.write_text(
        '[{"code": "9.1", "name": "A", "documents": [' + ",".join(["[]"] * 200_000) + "]}]", encoding="utf-8"
    )
    return path


def yaml_alias_bomb(folder: Path) -> Path:
    """Billion laughs: nine levels of ten aliases."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]" for level in range(1, 10)]
    path = folder / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def yaml_deep(folder: Path) -> Path:
    path = folder / "deep.yaml"
    path.write_text("- " * 5000 + "x\n", encoding="utf-8")
    return path


def yaml_huge_integer(folder: Path) -> Path:
    path = folder / "integer.yaml"
    path.write_text("code: '9.1'\nname: " + "9" * 5000 + "\n", encoding="utf-8")
    return path


def yaml_nul(folder: Path) -> Path:
    path = folder / "nul.yaml"
    path.write_bytes(b"code: '9.1'\nname: A\x00B\n")
    return path


# (builder, the message: a regex that names the file and, where meaningful, the row or item and field)
HOSTILE = {
    "far-row xlsx": (far_row_xlsx, r"far\.xlsx, row 100001: more than 100,000 rows"),
    "zip bomb xlsx": (zip_bomb_xlsx, r"bomb\.xlsx, part 'xl/worksheets/sheet1\.xml': packed [\d,]+ to 1"),
    "lying zip directory": (lying_directory_xlsx, r"lying\.xlsx: unpacks to 2,048 MB"),
    "many zip entries": (many_entries_xlsx, r"entries\.xlsx: more than 1,000 parts"),
    "wide row xlsx": (wide_row_xlsx, r"wide-row\.xlsx, part 'xl/worksheets/sheet1\.xml': more than 4,096 XML elements"),
    "DTD in xlsx": (dtd_xlsx, r"dtd\.xlsx, part 'xl/workbook\.xml': declares a DTD"),
    "truncated xlsx": (truncated_xlsx, r"truncated\.xlsx: not a readable \.xlsx workbook"),
    "garbage xlsx": (lambda folder: garbage(folder, "xlsx"), r"garbage\.xlsx: not a readable \.xlsx workbook"),
    "CSV over the row limit": (csv_over_row_limit, r"rows\.csv, row 10002: more than 10,000 procedures"),
    "CSV blank rows": (csv_blank_rows, r"blank\.csv, row 100001: more than 100,000 rows"),
    "CSV long line": (csv_long_line, r"line\.csv, row 2: a row longer than 1,048,576 characters"),
    "CSV endless row": (csv_endless_row, r"endless\.csv, row 2: a row longer than 1,048,576 characters"),
    "CSV huge cell": (csv_huge_cell, r"cell\.csv, row 2: a cell longer than 131,072 characters"),
    "CSV UTF-16": (csv_utf16, r"utf16\.csv: not UTF-8 text but UTF-16"),
    "CSV NUL byte": (csv_nul, r"nul\.csv, row 2, field 'name': contains the control character U\+0000"),
    "garbage CSV": (lambda folder: garbage(folder, "csv"), r"garbage\.csv"),
    "JSON 1e99999": (json_huge_numbers, r"numbers\.json, item 1, field 'fees': a number too large"),
    "JSON 5,000 digits": (json_huge_integer, r"integer\.json, item 1, field 'name': a number too large"),
    "deep JSON": (json_deep, r"deep\.json, item 1, line 1: nested deeper than 8 levels"),
    "JSON many values": (json_many_values, r"values\.json, item 1, line 1: more than 1,000 values in one record"),
    "garbage JSON": (lambda folder: garbage(folder, "json"), r"garbage\.json"),
    "YAML alias bomb": (yaml_alias_bomb, r"laughs\.yaml, line 2: aliases \(\*a0\) are not accepted"),
    "deep YAML": (yaml_deep, r"deep\.yaml, item 1, line 1: nested deeper than 8 levels"),
    "YAML 5,000 digits": (yaml_huge_integer, r"integer\.yaml, line 2: not valid YAML \(Exceeds the limit"),
    "YAML NUL byte": (yaml_nul, r"nul\.yaml, character \d+: not valid YAML text \(control characters"),
    "garbage YAML": (lambda folder: garbage(folder, "yaml"), r"garbage\.yaml"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_files_are_refused_with_one_line_and_nothing_is_written(engine, tmp_path, case):
    build, message = HOSTILE[case]
    path = build(tmp_path)
    before = load_procedures(engine)
    with pytest.raises(ImportFileError, match=message) as refused:
        read_file(path)
    assert "\n" not in str(refused.value)
    assert str(refused.value).startswith(str(path))
    assert load_procedures(engine) == before


def test_a_declared_dimension_is_ignored(tmp_path):
    """The probe's file pinned a thread for minutes; it holds one good row and is read as such."""
    assert [info.code for info in read_file(wide_dimension_xlsx(tmp_path)).procedures] == ["9.000001"]


def test_refusals_keep_memory_small(tmp_path):
    """The unpacked size, the packing ratio and the structure are checked before anything is built."""
    for build in (zip_bomb_xlsx, wide_row_xlsx, json_many_values, yaml_alias_bomb, json_deep):
        path = build(tmp_path)
        tracemalloc.start()
        try:
            with pytest.raises(ImportFileError):
                read_file(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 64 * 1024 * 1024, (build.__name__, peak)


# --- row numbers, fields and the other limits ------------------------------------------------------------------------


def test_csv_errors_name_the_spreadsheet_row_even_when_cells_hold_several_lines(tmp_path):
    path = tmp_path / "kb.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "documents", "verified_on"])
        writer.writerow(["9.1", "A", "\n".join(f"Giấy {n}" for n in range(30)), "2026-01-01"])
        writer.writerow(["9.2", "B", "Giấy\nGiấy khác", "2026-01-01"])
        writer.writerow(["9.3", "C", "Giấy", "hôm qua"])
    with pytest.raises(ImportFileError, match=r"kb\.csv, row 4, field 'verified_on'"):
        read_file(path)


def test_bytes_that_are_not_utf8_are_named_by_row_and_field(tmp_path):
    path = tmp_path / "kb.csv"
    path.write_bytes("code,name\n9.1,A\n9.2,Đăng ký\n".encode().replace("Đăng".encode(), "Đăng".encode("cp1258")))
    with pytest.raises(ImportFileError, match=r"kb\.csv, row 3, field 'name': not UTF-8 text"):
        read_file(path)


def test_more_columns_than_allowed_are_refused(tmp_path):
    path = tmp_path / "kb.csv"
    path.write_text("code,name" + "," * MAX_COLUMNS + "x\n9.1,A\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match=rf"kb\.csv, row 1: more than {MAX_COLUMNS} columns"):
        read_file(path)
    blank_columns = tmp_path / "blank.csv"
    blank_columns.write_text("code,name" + "," * MAX_COLUMNS + "\n9.1,A\n", encoding="utf-8")
    assert len(read_file(blank_columns).procedures) == 1


def test_a_stray_xlsx_cell_beyond_the_columns_read_is_refused(tmp_path):
    row: list[object] = ["9.000001", "A"] + [None] * (MAX_COLUMNS - 2) + ["lạc"]
    path = tmp_path / "kb.xlsx"
    path.write_bytes(workbook_bytes([row]))
    with pytest.raises(ImportFileError, match=r"kb\.xlsx, row 2: more cells than columns"):
        read_file(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"code": "9.1", "name": "A\\u0000"}]', r"item 1, field 'name': contains the control character U\+0000"),
        ('[{"code": "9.1", "name": "\\ud800"}]', r"item 1, field 'name': not UTF-8 text"),
        ('[{"code": "9.1", "name": NaN}]', r"item 1, field 'name': not a number"),
        ('[{"code": 1e400, "name": "A"}]', r"item 1, field 'code': write the code as text"),
        ('[{"code": "9.1", "name": "A"}] x', r"line 1, column 32: not valid JSON \(extra data"),
        ('[{"code": "9.1", "name": "A"},\n 5]', r"item 2: expected a mapping of fields"),
        ('{"procedures": [{"code": "9.1", "name": "A"}, {"code": "9.1", "name": "B"}]}', r"item 2, field 'code': dup"),
        ('"text"', r"expected a procedure or a list of procedures"),
        ("", r"empty file"),
    ],
)
def test_json_problems_name_item_and_field(tmp_path, text, message):
    path = tmp_path / "kb.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFileError, match=message):
        read_file(path)


def test_json_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "kb.json"
    path.write_bytes(b'[\n{"code": "9.1",\n "name": "\xff"}]')
    with pytest.raises(ImportFileError, match=r"kb\.json, line 3: not UTF-8 text"):
        read_file(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("code: '9.1'\nname: A\nverified_on: 2025-13-45\n", r"kb\.yaml, line 3: not valid YAML \(month must be"),
        ("code: '9.1'\nname: !!python/object:os.system x\n", r"kb\.yaml, line 2: not valid YAML"),
        ("- code: '9.1'\n  name: .inf\n", r"kb\.yaml, item 1, field 'name': a number too large"),
        ("code: '9.1'\nname: A\n---\ncode: '9.2'\nname: B\n", r"more than one YAML document"),
        ("? [a, b]\n: c\n", r"not valid YAML"),
        ("# only a comment\n", r"kb\.yaml: empty file"),
        ("procedures: 5\n", r"expected a procedure or a list of procedures"),
    ],
)
def test_yaml_problems_name_line_item_and_field(tmp_path, text, message):
    path = tmp_path / "kb.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFileError, match=message):
        read_file(path)


def test_yaml_and_json_wrappers_and_single_records_still_read(tmp_path):
    wrapped = tmp_path / "wrapped.yaml"
    wrapped.write_text("title: ignored\nprocedures:\n  - code: '9.1'\n    name: A\n  - code: '9.2'\n    name: B\n")
    assert [info.code for info in read_file(wrapped).procedures] == ["9.1", "9.2"]
    single = tmp_path / "single.json"
    single.write_text('{"code": "9.1", "name": "A", "fees": 50000}', encoding="utf-8")
    read = read_file(single)
    assert read.procedures[0].fees == "50000" and read.given["9.1"] == {"code", "name", "fees"}


def test_the_deadline_refuses_a_slow_read_naming_the_row_reached(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "MAX_SECONDS", 0.0)
    for name, content in (("kb.csv", b"code,name\n9.1,A\n"), ("kb.json", b'[{"code": "9.1", "name": "A"}]')):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ImportFileError, match=rf"{re.escape(name)}, (row 2|item 1): reading stopped after 0 s"):
            read_file(path)
    path = tmp_path / "kb.xlsx"
    path.write_bytes(workbook_bytes())
    with pytest.raises(ImportFileError, match=r"kb\.xlsx, part '[^']+': reading stopped after 0 s"):
        read_file(path)


def test_shared_strings_and_part_sizes_are_bounded(tmp_path, monkeypatch):
    strings = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b"<si><t>x</t></si>" * 11
        + b"</sst>"
    )
    path = tmp_path / "strings.xlsx"
    with zipfile.ZipFile(io.BytesIO(workbook_bytes())) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        target.writestr("xl/sharedStrings.xml", strings)
    monkeypatch.setattr(xlsx, "MAX_SHARED_STRINGS", 10)
    with pytest.raises(ImportFileError, match=r"strings\.xlsx, part 'xl/sharedStrings\.xml': more than 10 shared"):
        read_file(path)
    monkeypatch.setattr(xlsx, "MAX_XML_TAGS_PER_PART", 5)
    with pytest.raises(ImportFileError, match=r"strings\.xlsx, part '[^']+': more than 5 XML elements in one part"):
        read_file(path)


# --- uploads, offices, national records ------------------------------------------------------------------------------


def test_an_upload_is_read_under_its_own_name_with_the_web_limits(tmp_path, monkeypatch):
    temporary = tmp_path / "tmpa1b2c3"
    temporary.write_bytes(workbook_bytes())
    assert [info.code for info in read_upload(temporary, "Danh mục.xlsx").procedures] == ["9.000001"]
    temporary.write_bytes(b"code,name\n9.1,A\n9.1,B\n")
    with pytest.raises(ImportFileError, match=r"^kb\.csv, row 3, field 'code': duplicate code 9\.1 \(also row 2\)$"):
        read_upload(temporary, "../../kb.csv")
    with pytest.raises(ImportFileError, match=r"^crawl\.jsonl: use \.xlsx, \.csv, \.json or \.yaml$"):
        read_upload(temporary, "crawl.jsonl")
    with pytest.raises(ImportFileError, match=r"^a b\.csv: no such file$") as refused:
        read_upload(tmp_path / "missing", "a\nb.csv")
    assert "tmp" not in str(refused.value)
    monkeypatch.setattr(importer, "MAX_UPLOAD_BYTES", 10)
    with pytest.raises(ImportFileError, match=r"^kb\.csv: larger than 10 bytes$"):
        read_upload(temporary, "kb.csv")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("offices.csv", b"slug,name\nxa-a,A\nxa-a,B\n", r"offices\.csv, row 3, field 'slug': duplicate slug"),
        ("offices.csv", b"slug,name,phone2\n", r"offices\.csv, row 1, column 'phone2': unknown column"),
        ("offices.json", b"[" * 50_000, r"offices\.json, item 1, line 1: nested deeper"),
        ("offices.yaml", b"- &a {slug: xa-a, name: A}\n- *a\n", r"offices\.yaml, item 2, line 2: aliases"),
        ("offices.yaml", b"\xff\xfe\x00\x00", r"offices\.yaml: not UTF-8 text but UTF-16"),
        ("offices.json", b'{"offices": [{"slug": "xa-a", "name": "A\\u0001"}]}', r"item 1, field 'name': contains"),
    ],
)
def test_office_files_are_bounded_too(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        read_offices(path)


def test_national_records_skip_bad_lines_and_refuse_a_file_of_nothing_else(tmp_path):
    good = json.dumps({"ma_thu_tuc": "1.000001", "ten_thu_tuc": "Thủ tục thử", "cach_thuc_thuc_hien": ["not", "text"]})
    lines = [
        good.encode(),
        b'{"ma_thu_tuc": ' + b"9" * 5000 + b"}",
        b"[" * 100_000,
        b"\xff\xfe garbage",
        b'{"ma_thu_tuc": "1.000002", "ten_thu_tuc": "' + b"a" * (3 * 1024 * 1024) + b'"}',
    ]
    path = tmp_path / "crawl.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    read = read_file(path)
    assert [info.code for info in read.procedures] == ["1.000001"]
    assert read.skipped == [
        "line 2: invalid JSON",
        "line 3: invalid JSON",
        "line 4: not UTF-8 text",
        "line 5: longer than 2 MB",
    ]
    garbage_file = garbage(tmp_path, "jsonl")
    with pytest.raises(ImportFileError, match=r"garbage\.jsonl: no national record could be read"):
        read_file(garbage_file)


# --- properties: whatever the bytes, a result or one ImportFileError -------------------------------------------------


def _read_or_refuse(path: Path) -> ReadResult | None:
    try:
        return read_file(path)
    except ImportFileError as error:
        assert str(error).startswith(str(path)) and "\n" not in str(error)
        return None


@PROPERTY
@given(data=st.binary(max_size=2048), suffix=st.sampled_from(["csv", "json", "yaml", "xlsx", "jsonl"]))
def test_random_bytes_never_raise_anything_else(tmp_path, data, suffix):
    path = tmp_path / f"random.{suffix}"
    path.write_bytes(data)
    _read_or_refuse(path)


@PROPERTY
@given(text=st.text(max_size=400), suffix=st.sampled_from(["csv", "json", "yaml"]))
def test_random_text_never_raises_anything_else(tmp_path, text, suffix):
    path = tmp_path / f"random.{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _read_or_refuse(path)
    path.write_text(f"{HEADER}\n{text}" if suffix == "csv" else text, encoding="utf-8", errors="surrogatepass")
    _read_or_refuse(path)


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["9.1", "9.2", "1.001193", "2026-01-01", "full", "none"]),
)
_KEYS = st.one_of(st.sampled_from([*DATA_KEYS, "procedures"]), st.text(max_size=8))
_DOCUMENTS = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=6), max_leaves=30
)


def _reference(document: object) -> list | None:
    """What the importer must accept, read the simple way (the whole document, then every record)."""
    if isinstance(document, dict) and "procedures" in document:
        document = document["procedures"]
    records = [document] if isinstance(document, dict) else document
    if not isinstance(records, list):
        return None
    try:
        infos = [parse_record(raw, "where") for raw in records]
    except RecordError:
        return None
    codes = [info.code for info in infos]
    return infos if len(codes) == len(set(codes)) else None


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


@PROPERTY
@given(document=_DOCUMENTS, fmt=st.sampled_from(["json", "yaml"]))
def test_streamed_json_and_yaml_read_what_a_whole_document_parse_reads(tmp_path, document, fmt):
    # The one difference on purpose: the limits also apply to what a {"procedures": [...]} wrapper ignores.
    assume(not (isinstance(document, dict) and "procedures" in document and _depth(document) > MAX_DEPTH))
    path = tmp_path / f"doc.{fmt}"
    text = json.dumps(document, ensure_ascii=False) if fmt == "json" else yaml.safe_dump(document, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    read = _read_or_refuse(path)
    expected = _reference(json.loads(text) if fmt == "json" else yaml.safe_load(text))
    if expected is None:
        assert read is None
    else:
        assert read is not None and read.procedures == expected


@PROPERTY
@given(rows=st.lists(st.lists(st.text(max_size=12), max_size=len(DATA_KEYS) + 2), max_size=6))
def test_random_csv_rows_are_read_or_refused_by_row(tmp_path, rows):
    path = tmp_path / "rows.csv"
    with path.open("w", encoding="utf-8", newline="", errors="surrogatepass") as handle:
        writer = csv.writer(handle)
        writer.writerow(DATA_KEYS)
        writer.writerows(rows)
    try:
        read_file(path)
    except ImportFileError as error:
        row = re.search(r"rows\.csv, row (\d+)", str(error))
        assert row and 2 <= int(row.group(1)) <= len(rows) + 1, str(error)
