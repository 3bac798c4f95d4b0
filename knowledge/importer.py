"""Import and export of procedures: YAML/JSON (bundled), CSV/XLSX (staff spreadsheets), national records."""

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.records import (
    DATA_KEYS,
    LIST_KEYS,
    OFFICE_KEYS,
    ORIGIN_NATIONAL,
    REQUIRED_KEYS,
    OfficeInfo,
    ProcedureInfo,
    RecordError,
    parse_office,
    parse_record,
)

FORMATS = ("yaml", "json", "csv", "xlsx", "dvcqg")
EXPORT_FORMATS = ("json", "yaml", "csv", "xlsx")
MAX_FILE_BYTES = 200 * 1024 * 1024


class ImportFileError(ValueError):
    """A file that cannot be imported; the message names the file, row and field."""


@dataclass
class ReadResult:
    """Procedures read from a file, plus records skipped on purpose (national records only)."""

    procedures: list[ProcedureInfo]
    skipped: list[str] = field(default_factory=list)
    # Per code, the fields the file had when it lacked some (an export made before a field existed):
    # the others stay unchanged on import.
    given: dict[str, frozenset[str]] = field(default_factory=dict)


def detect_format(path: Path) -> str:
    """The import format from the file name, or from the first line for JSON Lines."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("yaml", "yml"):
        return "yaml"
    if suffix in ("csv", "xlsx", "json"):
        return suffix
    if suffix == "jsonl":
        return "dvcqg"
    raise ImportFileError(f"{path}: unknown file type '.{suffix}' (use --format {'|'.join(FORMATS)})")


def _check_unique(infos: list[ProcedureInfo], where: Callable[[int], str]) -> None:
    seen: dict[str, int] = {}
    for index, info in enumerate(infos):
        if info.code in seen:
            raise ImportFileError(f"{where(index)}, field 'code': duplicate code {info.code}")
        seen[info.code] = index


def _parse_all(raws: list[object], where: Callable[[int], str]) -> ReadResult:
    try:
        infos = [parse_record(raw, where(index)) for index, raw in enumerate(raws)]
    except RecordError as error:
        raise ImportFileError(str(error)) from None
    _check_unique(infos, where)
    given = {
        info.code: frozenset(raw)
        for info, raw in zip(infos, raws, strict=True)
        if isinstance(raw, dict) and len(raw) < len(DATA_KEYS)
    }
    return ReadResult(infos, given=given)


def _records_of(document: object, path: Path) -> list[object]:
    if isinstance(document, dict) and "procedures" in document:
        document = document["procedures"]
    if isinstance(document, dict):
        return [document]
    if isinstance(document, list):
        return document
    raise ImportFileError(f"{path}: expected a procedure or a list of procedures")


def read_yaml(path: Path) -> ReadResult:
    """Procedures from a YAML file (one mapping, or a list)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ImportFileError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    records = _records_of(document, path)
    if len(records) == 1:
        return _parse_all(records, lambda _index: str(path))
    return _parse_all(records, lambda index: f"{path}, item {index + 1}")


def read_json(path: Path) -> ReadResult:
    """Procedures from a JSON file (one object, or a list, as `tthc export --format json` writes)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise ImportFileError(f"{path}: not valid JSON ({str(error)[:120]})") from None
    return _parse_all(_records_of(document, path), lambda index: f"{path}, item {index + 1}")


def read_bundled(directory: Path) -> list[ProcedureInfo]:
    """The bundled knowledge base: one YAML file per procedure."""
    infos: list[ProcedureInfo] = []
    for path in sorted(directory.glob("*.yaml")):
        infos.extend(read_yaml(path).procedures)
    _check_unique(infos, lambda index: str(directory))
    return infos


def _rows_to_infos(path: Path, header: list[str], rows: Iterator[tuple[int, list[object]]]) -> ReadResult:
    header = [str(name or "").strip() for name in header]
    unknown = [name for name in header if name and name not in DATA_KEYS]
    if unknown:
        raise ImportFileError(f"{path}, row 1, column '{unknown[0]}': unknown column (expected {', '.join(DATA_KEYS)})")
    # A missing column leaves that field unchanged (the other rows' raw dicts lack the key), never blank.
    missing = [key for key in REQUIRED_KEYS if key not in header]
    if missing:
        raise ImportFileError(f"{path}, row 1: missing column '{missing[0]}'")
    duplicated = next((name for name in header if name and header.count(name) > 1), None)
    if duplicated:
        raise ImportFileError(f"{path}, row 1, column '{duplicated}': appears twice")
    raws: list[dict] = []
    numbers: list[int] = []
    for number, cells in rows:
        if not any(str(cell or "").strip() for cell in cells):
            continue  # blank rows are common at the end of spreadsheets
        if any(str(cell or "").strip() for cell in cells[len(header) :]):
            raise ImportFileError(f"{path}, row {number}: more cells than columns (a stray comma or cell?)")
        raws.append({name: _unguard(cell) for name, cell in zip(header, cells, strict=False) if name})
        numbers.append(number)
    return _parse_all(raws, lambda index: f"{path}, row {numbers[index]}")


def read_csv(path: Path) -> ReadResult:
    """Procedures from a staff CSV: one row per procedure, list values one per line inside the cell."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(f"{path}: not UTF-8 text (save the spreadsheet as CSV UTF-8)") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError(f"{path}: empty file") from None
    except csv.Error as error:
        raise ImportFileError(f"{path}, row 1: {error}") from None

    def rows() -> Iterator[tuple[int, list[object]]]:
        try:
            for cells in reader:
                yield reader.line_num, list(cells)
        except csv.Error as error:
            raise ImportFileError(f"{path}, row {reader.line_num}: {error}") from None

    return _rows_to_infos(path, header, rows())


def read_xlsx(path: Path) -> ReadResult:
    """Procedures from the first sheet of a staff XLSX workbook, same columns as the CSV."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged file
        raise ImportFileError(f"{path}: not a readable .xlsx workbook ({type(error).__name__})") from None
    try:
        sheet = workbook.worksheets[0]
        all_rows = sheet.iter_rows(values_only=True)
        header = next(all_rows, None)
        if header is None:
            raise ImportFileError(f"{path}: empty workbook")
        rows = ((number, list(cells)) for number, cells in enumerate(all_rows, start=2))
        return _rows_to_infos(path, list(header), rows)
    finally:
        workbook.close()


def read_national(path: Path, progress: Callable[[int], None] | None = None) -> ReadResult:
    """National portal records (JSON Lines); mis-scraped records are skipped with a reason."""
    from knowledge import dvcqg

    result = ReadResult([])
    for number, parsed in dvcqg.iter_records(path):
        if isinstance(parsed, Exception):
            result.skipped.append(f"line {number}: {parsed}")
        else:
            try:
                result.procedures.append(parse_record(parsed, f"{path}, line {number}", origin=ORIGIN_NATIONAL))
            except RecordError as error:
                result.skipped.append(str(error))
        if progress:
            progress(number)
    return result


def read_file(path: Path, fmt: str | None = None, progress: Callable[[int], None] | None = None) -> ReadResult:
    """Read any supported file; raises ImportFileError naming file, row and field."""
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ImportFileError(f"{path}: larger than {MAX_FILE_BYTES // 1024 // 1024} MB")
    fmt = fmt or detect_format(path)
    if fmt == "dvcqg":
        return read_national(path, progress)
    readers = {"yaml": read_yaml, "json": read_json, "csv": read_csv, "xlsx": read_xlsx}
    if fmt not in readers:
        raise ImportFileError(f"{path}: unknown format '{fmt}' (use {'|'.join(FORMATS)})")
    return readers[fmt](path)


# Spreadsheet programs run cells starting with these as formulas: exported text is guarded with a "'".
_FORMULA_START = ("=", "+", "-", "@")


def _guard(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _unguard(cell: object) -> object:
    if isinstance(cell, str) and cell.startswith("'") and cell[1:].startswith(_FORMULA_START):
        return cell[1:]
    return cell


def _cell(info: ProcedureInfo, key: str) -> str:
    value = getattr(info, key)
    return _guard("\n".join(value) if key in LIST_KEYS else value)


def export_text(infos: list[ProcedureInfo], fmt: str) -> str:
    """Procedures as JSON, YAML or CSV text (CSV carries a BOM so Excel reads Vietnamese correctly)."""
    if fmt == "json":
        return json.dumps([info.to_dict() for info in infos], ensure_ascii=False, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump([info.to_dict() for info in infos], allow_unicode=True, sort_keys=False, width=110)
    if fmt == "csv":
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(DATA_KEYS)
        for info in infos:
            writer.writerow([_cell(info, key) for key in DATA_KEYS])
        return "\ufeff" + buffer.getvalue()
    raise ImportFileError(f"cannot write format '{fmt}' as text (use {'|'.join(EXPORT_FORMATS)})")


def export_xlsx(infos: list[ProcedureInfo], path: Path) -> None:
    """Procedures as an XLSX workbook with one row per procedure and wrapped list cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "procedures"
    sheet.append(list(DATA_KEYS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for info in infos:
        sheet.append([_cell(info, key) for key in DATA_KEYS])
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = wrap
    sheet.freeze_panes = "C2"
    workbook.save(path)


def export(infos: list[ProcedureInfo], target: str, fmt: str | None = None) -> None:
    """Write procedures to a file, or to standard output when target is '-'."""
    if fmt is None:
        fmt = "json" if target == "-" else Path(target).suffix.lower().lstrip(".").replace("yml", "yaml")
    if fmt not in EXPORT_FORMATS:
        raise ImportFileError(f"{target}: unknown export format '{fmt}' (use {'|'.join(EXPORT_FORMATS)})")
    if fmt == "xlsx":
        if target == "-":
            raise ImportFileError("xlsx cannot be written to standard output; give a file name")
        export_xlsx(infos, Path(target))
        return
    text = export_text(infos, fmt)
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text, encoding="utf-8", newline="")


def read_offices(path: Path) -> list[OfficeInfo]:
    """Offices from YAML, JSON or CSV (columns: the office keys); all or nothing, errors name the row."""
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    suffix = path.suffix.lower().lstrip(".")
    try:
        if suffix in ("yaml", "yml"):
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        elif suffix == "json":
            document = json.loads(path.read_text(encoding="utf-8-sig"))
        elif suffix == "csv":
            rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
            raws = [{key: value for key, value in row.items() if key} for row in rows]
            return _parse_offices(raws, lambda index: f"{path}, row {index + 2}")
        else:
            raise ImportFileError(f"{path}: unknown file type '.{suffix}' (use .yaml, .json or .csv)")
    except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError, csv.Error) as error:
        raise ImportFileError(f"{path}: cannot read ({str(error).splitlines()[0]})") from None
    if isinstance(document, dict) and "offices" in document:
        document = document["offices"]
    records = document if isinstance(document, list) else [document]
    return _parse_offices(records, lambda index: f"{path}, item {index + 1}")


def _parse_offices(raws: list, where: Callable[[int], str]) -> list[OfficeInfo]:
    try:
        offices = [parse_office(raw, where(index)) for index, raw in enumerate(raws)]
    except RecordError as error:
        raise ImportFileError(str(error)) from None
    seen: set[str] = set()
    for index, office in enumerate(offices):
        if office.slug in seen:
            raise ImportFileError(f"{where(index)}, field 'slug': duplicate slug {office.slug}")
        seen.add(office.slug)
    return offices


def export_offices(offices: list[OfficeInfo], target: str) -> None:
    """Offices as YAML/JSON/CSV to a file, or JSON to standard output with '-'."""
    fmt = "json" if target == "-" else Path(target).suffix.lower().lstrip(".").replace("yml", "yaml")
    rows = [office.to_dict() for office in offices]
    if fmt == "json":
        text = json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    elif fmt == "yaml":
        text = yaml.safe_dump(rows, allow_unicode=True, sort_keys=False)
    elif fmt == "csv":
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=OFFICE_KEYS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        text = "\ufeff" + buffer.getvalue()
    else:
        raise ImportFileError(f"{target}: unknown export format '{fmt}' (use .yaml, .json or .csv)")
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text, encoding="utf-8", newline="")
