"""Export of procedures and offices: JSON, YAML, CSV and XLSX, written so spreadsheet programs never run a cell.

The importer reads these files back unchanged (`unguard` undoes `guard`).
"""

import csv
import io
import json
import sys
from pathlib import Path

import yaml

from knowledge.records import DATA_KEYS, OFFICE_KEYS, OfficeInfo, ProcedureInfo

EXPORT_FORMATS = ("json", "yaml", "csv", "xlsx")


class ExportError(ValueError):
    """An export that cannot be written (unknown format, XLSX to standard output)."""


# Spreadsheet programs run cells starting with these as formulas: exported text is guarded with a "'".
FORMULA_START = ("=", "+", "-", "@")


def guard(text: str) -> str:
    """The text as a spreadsheet cell that is never run as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def unguard(cell: object) -> object:
    """A cell as it was before `guard`."""
    if isinstance(cell, str) and cell.startswith("'") and cell[1:].startswith(FORMULA_START):
        return cell[1:]
    return cell


def _cell(value: object) -> object:
    """A field as a spreadsheet cell: lists one item per line (as the importer reads them), text guarded."""
    if isinstance(value, (list, tuple)):
        value = "\n".join(value)
    return guard(value) if isinstance(value, str) else value


def _csv(header: tuple[str, ...], rows: list[list[object]]) -> str:
    """CSV text with a BOM, so Excel reads Vietnamese correctly."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return "\ufeff" + buffer.getvalue()


def _format_of(target: str) -> str:
    """The format a target's suffix names; JSON for standard output."""
    return "json" if target == "-" else Path(target).suffix.lower().lstrip(".").replace("yml", "yaml")


def _write(text: str, target: str) -> None:
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text, encoding="utf-8", newline="")


def export_text(infos: list[ProcedureInfo], fmt: str) -> str:
    """Procedures as JSON, YAML or CSV text (CSV carries a BOM so Excel reads Vietnamese correctly)."""
    if fmt == "json":
        return json.dumps([info.to_dict() for info in infos], ensure_ascii=False, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump([info.to_dict() for info in infos], allow_unicode=True, sort_keys=False, width=110)
    if fmt == "csv":
        return _csv(DATA_KEYS, [[_cell(getattr(info, key)) for key in DATA_KEYS] for info in infos])
    raise ExportError(f"cannot write format '{fmt}' as text (use {'|'.join(EXPORT_FORMATS)})")


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
        sheet.append([_cell(getattr(info, key)) for key in DATA_KEYS])
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = wrap
    sheet.freeze_panes = "C2"
    workbook.save(path)


def export(infos: list[ProcedureInfo], target: str, fmt: str | None = None) -> None:
    """Write procedures to a file, or to standard output when target is '-'."""
    if fmt is None:
        fmt = _format_of(target)
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"{target}: unknown export format '{fmt}' (use {'|'.join(EXPORT_FORMATS)})")
    if fmt == "xlsx":
        if target == "-":
            raise ExportError("xlsx cannot be written to standard output; give a file name")
        export_xlsx(infos, Path(target))
        return
    _write(export_text(infos, fmt), target)


def export_offices(offices: list[OfficeInfo], target: str) -> None:
    """Offices as YAML/JSON/CSV to a file, or JSON to standard output with '-'."""
    fmt = _format_of(target)
    rows = [office.to_dict() for office in offices]
    if fmt == "json":
        text = json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    elif fmt == "yaml":
        text = yaml.safe_dump(rows, allow_unicode=True, sort_keys=False)
    elif fmt == "csv":
        text = _csv(OFFICE_KEYS, [[_cell(row[key]) for key in OFFICE_KEYS] for row in rows])
    else:
        raise ExportError(f"{target}: unknown export format '{fmt}' (use .yaml, .json or .csv)")
    _write(text, target)
