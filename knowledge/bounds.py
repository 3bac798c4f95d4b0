"""The bounds every imported file is read within, and the one error a refused file gives.

Size on disk and unpacked, rows, columns, values per record, nesting, wall time: a hostile or broken file is refused
early with one line naming the file, row and field (ImportFileError), never with another exception, minutes of work
or gigabytes of memory.
"""

import time
from pathlib import Path
from typing import BinaryIO

from knowledge.records import DATA_KEYS

MB = 1024 * 1024

# --- limits ---------------------------------------------------------------------------------------------------------
# Sizes on disk. An export of MAX_ROWS procedures as long as the national ones is about 55 MB of JSON.
MAX_FILE_BYTES = 200 * MB  # national records (JSON Lines; the 2026 crawl is 42 MB)
MAX_STAFF_FILE_BYTES = 64 * MB  # YAML, JSON, CSV, XLSX from the command line
MAX_UPLOAD_BYTES = 20 * MB  # a file uploaded in the web admin
# What one file may hold.
MAX_ROWS = 10_000  # procedures (or offices); the national crawl has 2,642
MAX_SHEET_ROWS = 10 * MAX_ROWS  # spreadsheet rows read, blank ones included
MAX_COLUMNS = 2 * len(DATA_KEYS)  # spreadsheet columns read; cells further right are refused
MAX_ROW_CHARS = MB  # one CSV row, all its lines together (cells may hold line breaks)
MAX_VALUES_PER_RECORD = 1_000  # JSON/YAML keys, texts and lists in one record; a full procedure has about 450
MAX_DEPTH = 8  # nesting inside one JSON/YAML record; a valid one has 2 (its mapping, a list)
# Wall time, checked while reading.
MAX_SECONDS = 60.0  # one file from the command line (10,000 spreadsheet rows take about 15 s)
MAX_UPLOAD_SECONDS = 30.0  # one file uploaded in the web admin
MAX_NATIONAL_SECONDS = 300.0  # a national crawl (the 2026 one takes about 3 s)
MAX_NATIONAL_LINES = 100_000  # lines of a national crawl, blank ones included
# XLSX is a zip of XML parts that openpyxl parses, each part as a whole or, for sheets and shared strings, one row or
# string at a time: everything is checked on the zip directory and by streaming each part once, before openpyxl.
MAX_XLSX_ENTRIES = 1_000  # parts in the archive (a workbook has about ten)
MAX_XLSX_UNPACKED_BYTES = 128 * MB  # all parts unpacked (MAX_ROWS national-size rows are about 60 MB)
MAX_XLSX_RATIO = 100  # unpacked to packed size of a part over 1 MB: sheets pack 5-15 to 1, zip bombs 100-1,000
MAX_XML_TAGS_PER_ROW = 4_096  # XML elements in one sheet row, or in one shared string
MAX_XML_TAGS_PER_PART = 100_000  # XML elements of any other part (styles, workbook, relationships, ...)
MAX_SHARED_STRINGS = (MAX_ROWS + 1) * MAX_COLUMNS


class ImportFileError(ValueError):
    """A file that cannot be imported; the message names the file, row and field."""


class Deadline:
    """The wall-clock budget of reading one file."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def check(self, where: str) -> None:
        """Refuse the file once its time is spent; `where` names the file and the row reached."""
        if time.monotonic() >= self._end:
            raise ImportFileError(f"{where}: reading stopped after {self.seconds:g} s; split the file in smaller ones")


def open_file(path: Path, label: str) -> BinaryIO:
    """The file opened for reading in binary; refused, not raised, when it cannot be."""
    try:
        return path.open("rb")
    except OSError as error:
        raise ImportFileError(f"{label}: cannot be read ({error.strerror or error})") from None


def check_size(path: Path, label: str, limit: int) -> None:
    """Refuse a file larger than `limit` bytes on disk."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ImportFileError(f"{label}: cannot be read ({error.strerror or error})") from None
    if size > limit:
        shown = f"{limit // MB} MB" if limit >= MB else f"{limit:,} bytes"
        raise ImportFileError(f"{label}: larger than {shown}")


def refuse_utf16(head: bytes, label: str, hint: str) -> None:
    """Spreadsheet programs save "Unicode text" as UTF-16; say so rather than report garbage."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(f"{label}: not UTF-8 text but UTF-16 ({hint})")
