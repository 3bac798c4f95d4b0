"""XLSX workbooks read safely: the zip directory and every XML part checked by streaming before openpyxl sees them,
then the first sheet's rows one at a time."""

import io
import re
import struct
import zipfile
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import BinaryIO

from knowledge.bounds import (
    MAX_COLUMNS,
    MAX_SHARED_STRINGS,
    MAX_SHEET_ROWS,
    MAX_XLSX_ENTRIES,
    MAX_XLSX_RATIO,
    MAX_XLSX_UNPACKED_BYTES,
    MAX_XML_TAGS_PER_PART,
    MAX_XML_TAGS_PER_ROW,
    MB,
    Deadline,
    ImportFileError,
    open_file,
)
from knowledge.records import brief

_NAME = rb"(?:[A-Za-z_][\w.-]*:)?"  # an XML namespace prefix
_ROW_SPLIT = re.compile(rb"<" + _NAME + rb"row[\s/>]|</" + _NAME + rb"sheetData\s*>")
_STRING_SPLIT = re.compile(rb"<" + _NAME + rb"si[\s/>]")
_SHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml", re.IGNORECASE)
_STRINGS_PART = re.compile(r"xl/sharedStrings\.xml", re.IGNORECASE)
# Parts openpyxl does not parse in read-only mode (pictures, printer settings, macros).
_BINARY_PART = re.compile(r"\.(?:png|jpe?g|gif|bmp|tiff?|emf|wmf|svg|ico|bin|mp[34]|wav)$", re.IGNORECASE)
_EOCD = b"PK\x05\x06"


def _zip_directory(handle: BinaryIO) -> tuple[int, int] | None:
    """(entries, directory bytes) from a zip's end record, before zipfile builds its whole directory in memory."""
    size = handle.seek(0, io.SEEK_END)
    tail_size = min(size, 22 + 65_535)  # the end record, then a comment of up to 64 KB
    handle.seek(size - tail_size)
    tail = handle.read(tail_size)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        return None
    entries, directory_bytes = struct.unpack_from("<HI", tail, at + 10)
    return entries, directory_bytes


def _start_tags(data: bytes, start: int, end: int) -> int:
    """Start tags in data[start:end] (closing tags, comments, declarations and instructions aside)."""
    opened = data.count(b"<", start, end)
    return opened - data.count(b"</", start, end) - data.count(b"<!", start, end) - data.count(b"<?", start, end)


def _scan_part(archive: zipfile.ZipFile, part: zipfile.ZipInfo, label: str, deadline: Deadline) -> None:
    """Refuse an XML part that openpyxl could not parse in bounded memory, by counting its elements as it streams:
    in all for a part parsed whole, per row for a sheet and per string for the shared strings."""
    if _BINARY_PART.search(part.filename):
        return
    where = f"{label}, part '{brief(part.filename, 60)}'"
    split, most, what = None, 0, ""
    if _SHEET_PART.fullmatch(part.filename):
        split, most, what = _ROW_SPLIT, MAX_SHEET_ROWS, "rows"
    elif _STRINGS_PART.fullmatch(part.filename):
        split, most, what = _STRING_SPLIT, MAX_SHARED_STRINGS, "shared strings"
    limit, tags, count, carry = MAX_XML_TAGS_PER_PART, 0, 0, b""

    def refuse_tags() -> ImportFileError:
        scope = "one row or shared string" if limit == MAX_XML_TAGS_PER_ROW else "one part"
        return ImportFileError(f"{where}: more than {limit:,} XML elements in {scope}")

    with archive.open(part) as stream:
        while True:
            chunk = stream.read(MB)
            data = carry + chunk
            # A tag cut by the chunk boundary is counted with the next chunk.
            cut = data.rfind(b"<", max(0, len(data) - 64)) if chunk else -1
            cut = len(data) if cut < 0 else cut
            data, carry = data[:cut], data[cut:]
            if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
                raise ImportFileError(f"{where}: declares a DTD (<!DOCTYPE>), which workbooks never do")
            start = 0
            for match in split.finditer(data) if split else ():
                tags += _start_tags(data, start, match.start())
                if tags > limit:
                    raise refuse_tags()
                start, tags = match.start(), 0
                if match.group().startswith(b"</"):  # the sheet's settings after its rows are parsed whole
                    limit = MAX_XML_TAGS_PER_PART
                    continue
                limit = MAX_XML_TAGS_PER_ROW
                count += 1
                if count > most:
                    raise ImportFileError(f"{where}: more than {most:,} {what}")
            tags += _start_tags(data, start, len(data))
            if tags > limit:
                raise refuse_tags()
            if not chunk:
                return
            deadline.check(where)


def _check_workbook(path: Path, label: str, deadline: Deadline) -> None:
    """Refuse a workbook that would take openpyxl unbounded time or memory, before it parses anything: the zip
    directory (entries, unpacked size, packing ratio), then each XML part streamed once (elements per row or part)."""
    with open_file(path, label) as handle:
        directory = _zip_directory(handle)
        if directory is None:
            raise ImportFileError(f"{label}: not a readable .xlsx workbook (not a zip archive)")
        entries, directory_bytes = directory
        if entries > MAX_XLSX_ENTRIES or directory_bytes > MAX_XLSX_ENTRIES * 1024:
            raise ImportFileError(f"{label}: more than {MAX_XLSX_ENTRIES:,} parts in the workbook")
        try:
            archive = zipfile.ZipFile(handle)
        except Exception as error:  # zipfile raises several types for a damaged archive
            raise ImportFileError(f"{label}: not a readable .xlsx workbook ({type(error).__name__})") from None
        with archive:
            parts = archive.infolist()
            if len(parts) > MAX_XLSX_ENTRIES:
                raise ImportFileError(f"{label}: more than {MAX_XLSX_ENTRIES:,} parts in the workbook")
            unpacked = sum(part.file_size for part in parts)
            if unpacked > MAX_XLSX_UNPACKED_BYTES:
                raise ImportFileError(
                    f"{label}: unpacks to {unpacked / MB:,.0f} MB, more than {MAX_XLSX_UNPACKED_BYTES // MB} MB"
                    " (a zip bomb?)"
                )
            for part in parts:
                if part.file_size > MB and part.file_size > MAX_XLSX_RATIO * max(part.compress_size, 1):
                    ratio = part.file_size / max(part.compress_size, 1)
                    raise ImportFileError(
                        f"{label}, part '{brief(part.filename, 60)}': packed {ratio:,.0f} to 1, more than"
                        f" {MAX_XLSX_RATIO} to 1 (a zip bomb?)"
                    )
            for part in parts:
                try:
                    _scan_part(archive, part, label, deadline)
                except ImportFileError:
                    raise
                except Exception as error:  # zipfile and zlib errors of a damaged part, CRC included
                    problem = f"not a readable .xlsx workbook ({type(error).__name__})"
                    raise ImportFileError(f"{label}, part '{brief(part.filename, 60)}': {problem}") from None


def xlsx_rows(path: Path, label: str, deadline: Deadline) -> Generator[tuple[int, Sequence[object]], None, None]:
    """(spreadsheet row, cells) of the first sheet, at most MAX_COLUMNS + 1 cells each (one more shows a stray cell)."""
    _check_workbook(path, label, deadline)
    from openpyxl import load_workbook

    # A file object, not the path: openpyxl refuses paths not ending in .xlsx (an upload's temporary name).
    handle = open_file(path, label)
    try:
        workbook = load_workbook(handle, read_only=True, data_only=True, keep_links=False)
    except Exception as error:  # openpyxl raises many types for a damaged file
        handle.close()
        raise ImportFileError(f"{label}: not a readable .xlsx workbook ({type(error).__name__})") from None
    try:
        if not workbook.worksheets:
            raise ImportFileError(f"{label}: no worksheet")
        sheet = workbook.worksheets[0]
        # A declared dimension of A1:XFD1048576 (in a 5 KB file) would pad every row to 16,384 cells and add empty
        # rows up to 1,048,576: ignore it and read what is there, never wider than the columns we use.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True)
        number = 0
        while True:
            try:
                cells = next(rows, None)
            except Exception as error:  # a damaged cell or row
                problem = f"not a readable .xlsx workbook ({type(error).__name__})"
                raise ImportFileError(f"{label}, row {number + 1}: {problem}") from None
            if cells is None:
                return
            number += 1
            yield number, cells
    finally:
        workbook.close()
        handle.close()
