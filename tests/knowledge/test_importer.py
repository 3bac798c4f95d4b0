"""Import and export: round trips, all-or-nothing spreadsheets, errors that name file, row and field."""

import csv
import io
import json
from dataclasses import replace

import pytest
from openpyxl import Workbook, load_workbook

from knowledge.db import load_procedures, write_procedures
from knowledge.exporter import export, export_text
from knowledge.importer import ImportFileError, read_file
from knowledge.records import DATA_KEYS


def test_bundled_data_is_seeded_into_an_empty_database(engine, bundled):
    stored = load_procedures(engine)
    assert [info.code for info in stored] == sorted(info.code for info in bundled)
    assert stored == sorted(bundled, key=lambda info: info.code)


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv", "xlsx"])
def test_export_import_export_is_lossless(engine, tmp_path, fmt):
    first = tmp_path / f"kb.{fmt}"
    export(load_procedures(engine), str(first))
    read = read_file(first)
    assert read.procedures == load_procedures(engine)
    result = write_procedures(engine, read.procedures)
    assert result.added == result.updated == []
    second = tmp_path / f"again.{fmt}"
    export(load_procedures(engine), str(second))
    if fmt == "xlsx":
        rows = lambda path: list(load_workbook(path).active.iter_rows(values_only=True))  # noqa: E731
        assert rows(first) == rows(second)
    else:
        assert first.read_bytes() == second.read_bytes()


def test_csv_has_a_bom_and_one_line_per_list_item(engine, tmp_path):
    path = tmp_path / "kb.csv"
    export(load_procedures(engine), str(path))
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines(keepends=True)))
    birth = next(row for row in rows if row["code"] == "1.001193")
    assert list(rows[0]) == list(DATA_KEYS)
    assert "Giấy chứng sinh" in birth["documents"]
    assert len(birth["documents"].split("\n")) > 3


def _csv_with(tmp_path, rows, header=DATA_KEYS):
    """A staff CSV: every column of the export, rows given as (code, name, aliases, verified_on)."""
    path = tmp_path / "staff.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for code, name, aliases, verified in rows:
            row = dict.fromkeys(header, "x") | {
                "online_level": "full",
                "code": code,
                "name": name,
                "aliases": aliases,
                "verified_on": verified,
                "source_url": "https://x",
            }
            writer.writerow([row[key] for key in header])
    return path


def test_a_bad_row_refuses_the_whole_file_and_changes_nothing(engine, tmp_path):
    before = load_procedures(engine)
    path = _csv_with(
        tmp_path,
        [
            ["9.000001", "Thủ tục thử nghiệm một", "thử một", "2026-11-01"],
            ["9.000002", "Thủ tục thử nghiệm hai", "thử hai", "hôm qua"],
        ],
    )
    with pytest.raises(ImportFileError, match=r"staff\.csv, row 3, field 'verified_on'"):
        read_file(path)
    assert load_procedures(engine) == before


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("", "Không có mã", "", "")], r"row 2, field 'code': required"),
        ([("1.001193", "", "", "")], r"row 2, field 'name': required"),
        ([("1 001193!", "Mã sai", "", "")], r"row 2, field 'code'"),
        ([("9.1", "A", "", ""), ("9.1", "B", "", "")], r"row 3, field 'code': duplicate code"),
    ],
)
def test_row_errors_name_row_and_field(tmp_path, rows, message):
    with pytest.raises(ImportFileError, match=message):
        read_file(_csv_with(tmp_path, rows))


def test_unknown_columns_and_missing_required_columns_are_named(tmp_path):
    path = tmp_path / "kb.csv"
    path.write_text(",".join(DATA_KEYS) + ",phone\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"row 1, column 'phone'"):
        read_file(path)
    with pytest.raises(ImportFileError, match=r"row 1: missing column 'name'"):
        read_file(_csv_with(tmp_path, [], header=tuple(key for key in DATA_KEYS if key != "name")))


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_an_export_made_before_a_field_existed_still_imports_and_keeps_that_field(engine, tmp_path, fmt):
    """A spreadsheet from an older version lacks the newer columns: those fields stay as they are."""
    before = {info.code: info for info in load_procedures(engine)}
    path = tmp_path / f"old.{fmt}"
    export(load_procedures(engine), str(path))
    newer = ("special_cases", "online_level", "notes")
    if fmt == "json":
        items = json.loads(path.read_text(encoding="utf-8"))
        for item in items:
            item["fees"] = item["fees"] + " (sửa)"
            for key in newer:
                item.pop(key)
        path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    else:
        if fmt == "xlsx":
            sheet = load_workbook(path).active
            rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        else:
            rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
        keep = [index for index, name in enumerate(rows[0]) if name not in newer]
        fees = rows[0].index("fees")
        rows = [rows[0]] + [[*row[:fees], row[fees] + " (sửa)", *row[fees + 1 :]] for row in rows[1:]]
        rows = [[row[index] for index in keep] for row in rows]
        if fmt == "xlsx":
            workbook = Workbook()
            for row in rows:
                workbook.active.append(row)
            workbook.save(path)
        else:
            with path.open("w", encoding="utf-8-sig", newline="") as handle:
                csv.writer(handle).writerows(rows)
    read = read_file(path)
    result = write_procedures(engine, read.procedures, given=read.given)
    assert len(result.updated) == len(before)
    for info in load_procedures(engine):
        assert info.fees == before[info.code].fees + " (sửa)"
        assert (info.online_level, info.special_cases, info.notes) == (
            before[info.code].online_level,
            before[info.code].special_cases,
            before[info.code].notes,
        )


def test_a_row_with_more_cells_than_columns_is_refused(tmp_path):
    path = _csv_with(tmp_path, [("9.1", "A", "", "2026-01-01")])
    path.write_text(path.read_text(encoding="utf-8-sig").rstrip() + ",lạc\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"row 2: more cells than columns"):
        read_file(path)


def _xlsx(tmp_path, rows):
    workbook = Workbook()
    workbook.active.append(list(DATA_KEYS))
    for values in rows:
        defaults = {"verified_on": "2026-11-22", "source_url": "https://dichvucong.gov.vn", "online_level": "none"}
        workbook.active.append([values.get(key, defaults.get(key, "x")) for key in DATA_KEYS])
    path = tmp_path / "kb.xlsx"
    workbook.save(path)
    return path


def test_xlsx_rows_are_validated_like_csv(tmp_path):
    path = _xlsx(
        tmp_path,
        [
            {"code": "9.000001", "name": "Thủ tục A", "documents": "Giấy một\nGiấy hai"},
            {"code": "9.000002", "name": None, "documents": "Giấy"},
        ],
    )
    with pytest.raises(ImportFileError, match=r"kb\.xlsx, row 3, field 'name': required"):
        read_file(path)


def test_spreadsheet_dates_and_numeric_codes(tmp_path):
    from datetime import datetime

    read = read_file(_xlsx(tmp_path, [{"code": "9.000001", "name": "A", "verified_on": datetime(2025, 7, 1)}]))
    assert read.procedures[0].verified_on == "2025-07-01"
    with pytest.raises(ImportFileError, match=r"row 2, field 'code': write the code as text"):
        read_file(_xlsx(tmp_path, [{"code": 1.00119, "name": "A"}]))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_formula_like_text_is_guarded_on_export_and_restored_on_import(engine, tmp_path, fmt):
    info = load_procedures(engine)[0]
    tricky = replace(info, documents=('=HYPERLINK("http://x","y")', "+84 giấy", "Bình thường"))
    write_procedures(engine, [tricky])
    path = tmp_path / f"kb.{fmt}"
    export(load_procedures(engine), str(path))
    if fmt == "xlsx":
        cell = load_workbook(path).active.cell(row=2, column=DATA_KEYS.index("documents") + 1)
        assert cell.data_type == "s" and cell.value.startswith("'=")
    assert read_file(path).procedures[0].documents == tricky.documents


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("kb.json", b"{not json", "not valid JSON"),
        ("kb.yaml", b"code: [unclosed", "not valid YAML"),
        ("kb.xlsx", b"PK\x03\x04 broken", "not a readable .xlsx"),
        ("kb.csv", "code,name\n1.1,Tên\n".encode("utf-16"), "not UTF-8"),
        ("kb.txt", b"hello", "unknown file type"),
        ("kb.json", b'[{"code": "1.1", "name": "A", "documents": 5}]', "field 'documents': expected a list"),
    ],
)
def test_broken_files_get_one_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        read_file(path)


def test_dry_run_reports_without_writing(engine, tmp_path):
    infos = load_procedures(engine)
    changed = [infos[0].__class__(**{**infos[0].to_dict(), "fees": "Miễn phí (đã sửa)"})]
    result = write_procedures(engine, changed, dry_run=True)
    assert result.updated == [infos[0].code]
    assert load_procedures(engine)[0].fees == infos[0].fees


def test_json_export_has_every_key_in_design_order(engine):
    exported = json.loads(export_text(load_procedures(engine), "json"))
    assert all(list(item) == list(DATA_KEYS) for item in exported)
