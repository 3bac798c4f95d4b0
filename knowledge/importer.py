"""Import of procedures and offices: YAML/JSON (bundled), CSV/XLSX (staff spreadsheets), national records.

Every file is read within the bounds below (size on disk and unpacked, rows, columns, values per record, nesting,
wall time), streamed where the format allows, so that a hostile or broken file is refused early with one line naming
the file, row and field (ImportFileError), never with another exception, minutes of work or gigabytes of memory.
"""

import csv
import io
import json
import math
import re
import struct
import time
import zipfile
from collections.abc import Callable, Generator, Hashable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import yaml
from yaml.composer import Composer

from knowledge.exporter import unguard
from knowledge.records import (
    DATA_KEYS,
    OFFICE_KEYS,
    ORIGIN_NATIONAL,
    REQUIRED_KEYS,
    OfficeInfo,
    ProcedureInfo,
    RecordError,
    brief,
    parse_office,
    parse_record,
)

FORMATS = ("yaml", "json", "csv", "xlsx", "dvcqg")
STAFF_FORMATS = ("yaml", "json", "csv", "xlsx")
UPLOAD_SUFFIXES = {".xlsx": "xlsx", ".csv": "csv", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}

_MB = 1024 * 1024

# --- limits ---------------------------------------------------------------------------------------------------------
# Sizes on disk. An export of MAX_ROWS procedures as long as the national ones is about 55 MB of JSON.
MAX_FILE_BYTES = 200 * _MB  # national records (JSON Lines; the 2026 crawl is 42 MB)
MAX_STAFF_FILE_BYTES = 64 * _MB  # YAML, JSON, CSV, XLSX from the command line
MAX_UPLOAD_BYTES = 20 * _MB  # a file uploaded in the web admin
# What one file may hold.
MAX_ROWS = 10_000  # procedures (or offices); the national crawl has 2,642
MAX_SHEET_ROWS = 10 * MAX_ROWS  # spreadsheet rows read, blank ones included
MAX_COLUMNS = 2 * len(DATA_KEYS)  # spreadsheet columns read; cells further right are refused
MAX_ROW_CHARS = _MB  # one CSV row, all its lines together (cells may hold line breaks)
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
MAX_XLSX_UNPACKED_BYTES = 128 * _MB  # all parts unpacked (MAX_ROWS national-size rows are about 60 MB)
MAX_XLSX_RATIO = 100  # unpacked to packed size of a part over 1 MB: sheets pack 5-15 to 1, zip bombs 100-1,000
MAX_XML_TAGS_PER_ROW = 4_096  # XML elements in one sheet row, or in one shared string
MAX_XML_TAGS_PER_PART = 100_000  # XML elements of any other part (styles, workbook, relationships, ...)
MAX_SHARED_STRINGS = (MAX_ROWS + 1) * MAX_COLUMNS


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


@dataclass(frozen=True)
class _Kind:
    """What a file holds: procedures or offices."""

    noun: str  # for "expected ..."
    wrapper: str  # the key of {"procedures": [...]}
    keys: tuple[str, ...]
    required: tuple[str, ...]
    guarded: bool  # spreadsheet cells were guarded against formulas on export


_PROCEDURES = _Kind("a procedure or a list of procedures", "procedures", DATA_KEYS, REQUIRED_KEYS, True)
_OFFICES = _Kind("an office or a list of offices", "offices", OFFICE_KEYS, ("slug", "name"), True)

# Raw records, each with where it is ("kb.csv, row 4"), read lazily.
_Records = Generator[tuple[object, str], None, None]


class _Deadline:
    """The wall-clock budget of reading one file."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def check(self, where: str) -> None:
        """Refuse the file once its time is spent; `where` names the file and the row reached."""
        if time.monotonic() >= self._end:
            raise ImportFileError(f"{where}: reading stopped after {self.seconds:g} s; split the file in smaller ones")


def detect_format(path: Path) -> str:
    """The import format from the file name, or from the first line for JSON Lines."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("yaml", "yml"):
        return "yaml"
    if suffix in ("csv", "xlsx", "json"):
        return suffix
    if suffix == "jsonl":
        return "dvcqg"
    raise ImportFileError(f"{path}: unknown file type '.{brief(suffix, 20)}' (use --format {'|'.join(FORMATS)})")


def _open(path: Path, label: str) -> BinaryIO:
    """The file opened for reading in binary; refused, not raised, when it cannot be."""
    try:
        return path.open("rb")
    except OSError as error:
        raise ImportFileError(f"{label}: cannot be read ({error.strerror or error})") from None


def _check_size(path: Path, label: str, limit: int) -> None:
    """Refuse a file larger than `limit` bytes on disk."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ImportFileError(f"{label}: cannot be read ({error.strerror or error})") from None
    if size > limit:
        shown = f"{limit // _MB} MB" if limit >= _MB else f"{limit:,} bytes"
        raise ImportFileError(f"{label}: larger than {shown}")


def _refuse_utf16(head: bytes, label: str, hint: str) -> None:
    """Spreadsheet programs save "Unicode text" as UTF-16; say so rather than report garbage."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(f"{label}: not UTF-8 text but UTF-16 ({hint})")


# --- collecting records -------------------------------------------------------------------------------------------


def _collect_procedures(records: _Records, deadline: _Deadline) -> ReadResult:
    """Validate records one by one as they are read: all or nothing, at most MAX_ROWS, codes unique."""
    result = ReadResult([])
    first: dict[str, str] = {}
    for raw, where in records:
        if len(result.procedures) >= MAX_ROWS:
            raise ImportFileError(f"{where}: more than {MAX_ROWS:,} procedures in one file; split it")
        deadline.check(where)
        try:
            info = parse_record(raw, where)
        except RecordError as error:
            raise ImportFileError(str(error)) from None
        if info.code in first:
            raise ImportFileError(f"{where}, field 'code': duplicate code {info.code} (also {first[info.code]})")
        first[info.code] = where.rpartition(", ")[2]
        result.procedures.append(info)
        if isinstance(raw, dict) and len(raw) < len(DATA_KEYS):
            result.given[info.code] = frozenset(raw)
    return result


def _collect_offices(records: _Records, deadline: _Deadline) -> list[OfficeInfo]:
    """Validate office records one by one as they are read: all or nothing, at most MAX_ROWS, slugs unique."""
    offices: list[OfficeInfo] = []
    first: dict[str, str] = {}
    for raw, where in records:
        if len(offices) >= MAX_ROWS:
            raise ImportFileError(f"{where}: more than {MAX_ROWS:,} offices in one file; split it")
        deadline.check(where)
        try:
            office = parse_office(raw, where)
        except RecordError as error:
            raise ImportFileError(str(error)) from None
        if office.slug in first:
            raise ImportFileError(f"{where}, field 'slug': duplicate slug {office.slug} (also {first[office.slug]})")
        first[office.slug] = where.rpartition(", ")[2]
        offices.append(office)
    return offices


def _records(path: Path, fmt: str, label: str, deadline: _Deadline, kind: _Kind) -> _Records:
    """The raw records of a YAML, JSON, CSV or XLSX file, read lazily."""
    if fmt == "yaml":
        return _yaml_records(path, label, deadline, kind)
    if fmt == "json":
        return _json_records(path, label, deadline, kind)
    rows = _csv_rows(path, label) if fmt == "csv" else _xlsx_rows(path, label, deadline)
    return _sheet_records(rows, label, deadline, kind)


def _read_staff(path: Path, fmt: str, label: str, max_bytes: int, seconds: float) -> ReadResult:
    """Procedures from a YAML, JSON, CSV or XLSX file within the limits; messages name the file as `label`."""
    if not path.is_file():
        raise ImportFileError(f"{label}: no such file")
    _check_size(path, label, max_bytes)
    deadline = _Deadline(seconds)
    with closing(_records(path, fmt, label, deadline, _PROCEDURES)) as records:
        return _collect_procedures(records, deadline)


# --- YAML -------------------------------------------------------------------------------------------------------------

if getattr(yaml, "__with_libyaml__", False):

    class _YamlBase(Composer, yaml.CSafeLoader):
        """libyaml's parser (fast, streaming) under PyYAML's composer, whose nodes can be counted one by one."""

        def __init__(self, stream: BinaryIO) -> None:
            yaml.CSafeLoader.__init__(self, stream)
            Composer.__init__(self)

else:  # pragma: no cover - PyYAML built without libyaml
    _YamlBase = yaml.SafeLoader  # type: ignore[misc,assignment]


class _YamlReader(_YamlBase):
    """The records of a YAML document, each composed and constructed on its own within MAX_VALUES_PER_RECORD nodes
    and MAX_DEPTH levels; aliases are refused (a few lines of them expand to billions of values)."""

    def __init__(self, stream: BinaryIO, label: str, deadline: _Deadline) -> None:
        super().__init__(stream)
        self._label, self._deadline = label, deadline
        self._where, self._budget, self._depth = label, MAX_VALUES_PER_RECORD, 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        """PyYAML's composition of one node, counted, bounded and timed."""
        event = self.peek_event()
        line = event.start_mark.line + 1 if event.start_mark else "?"
        if isinstance(event, yaml.AliasEvent):
            anchor = brief(event.anchor, 30)
            raise ImportFileError(f"{self._where}, line {line}: aliases (*{anchor}) are not accepted; write values out")
        self._budget -= 1
        if self._budget < 0:
            problem = f"more than {MAX_VALUES_PER_RECORD:,} values in one record"
            raise ImportFileError(f"{self._where}, line {line}: {problem}")
        if self._depth >= MAX_DEPTH:
            raise ImportFileError(f"{self._where}, line {line}: nested deeper than {MAX_DEPTH} levels")
        self._deadline.check(self._where)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _value(self, where: str) -> object:
        """The next node, composed and constructed."""
        node = self.compose_node(None, None)
        self.anchors = {}  # aliases are refused, so anchors serve nothing; keep no nodes alive
        try:
            return self.construct_document(node)
        except (ValueError, TypeError, OverflowError) as error:  # a date 2025-13-45, a 5,000-digit number
            line = node.start_mark.line + 1 if node.start_mark else "?"
            raise ImportFileError(f"{where}, line {line}: not valid YAML ({brief(error, 80)})") from None

    def _record(self, where: str) -> object:
        self._where, self._budget = where, MAX_VALUES_PER_RECORD
        return self._value(where)

    def _items(self) -> _Records:
        number = 0
        while not self.check_event(yaml.SequenceEndEvent):
            number += 1
            where = f"{self._label}, item {number}"
            yield self._record(where), where
        self.get_event()

    def records(self, kind: _Kind) -> _Records:
        """The document's records: a list, one mapping, or a mapping whose `kind.wrapper` key holds them."""
        self.get_event()  # stream start
        if self.check_event(yaml.StreamEndEvent):
            raise ImportFileError(f"{self._label}: empty file")
        self.get_event()  # document start
        if self.check_event(yaml.SequenceStartEvent):
            self.get_event()
            yield from self._items()
        elif self.check_event(yaml.MappingStartEvent):
            yield from self._mapping(kind)
        else:
            raise ImportFileError(f"{self._label}: expected {kind.noun}")
        self.get_event()  # document end
        if not self.check_event(yaml.StreamEndEvent):
            raise ImportFileError(f"{self._label}: more than one YAML document (---); keep one per file")

    def _mapping(self, kind: _Kind) -> _Records:
        self.get_event()
        self._where, self._budget = self._label, MAX_VALUES_PER_RECORD
        members: dict = {}
        streamed = False
        while not self.check_event(yaml.MappingEndEvent):
            key = self._value(self._label)
            if not isinstance(key, Hashable):
                raise ImportFileError(f"{self._label}: not valid YAML (a key that is a list or a mapping)")
            if key == kind.wrapper and not streamed and self.check_event(yaml.SequenceStartEvent):
                self.get_event()
                yield from self._items()
                streamed = True
                self._where, self._budget = self._label, MAX_VALUES_PER_RECORD
            else:
                members[key] = self._value(self._label)
        self.get_event()
        if not streamed:
            yield from _unwrap(members, kind, self._label, self._label)


def _unwrap(members: dict, kind: _Kind, label: str, single: str) -> _Records:
    """The records of a whole top-level mapping: itself, or what its wrapper key holds."""
    if kind.wrapper not in members:
        yield members, single
        return
    inner = members[kind.wrapper]
    if isinstance(inner, dict):
        yield inner, single
    elif isinstance(inner, list):
        for number, raw in enumerate(inner, start=1):
            yield raw, f"{label}, item {number}"
    else:
        raise ImportFileError(f"{label}: expected {kind.noun}")


def _yaml_records(path: Path, label: str, deadline: _Deadline, kind: _Kind) -> _Records:
    """The records of a YAML file, streamed; parser errors become one line with the line number."""
    with _open(path, label) as handle:
        _refuse_utf16(handle.peek(4)[:4], label, "save the file as UTF-8")  # type: ignore[attr-defined]
        reader = _YamlReader(handle, label, deadline)
        try:
            yield from reader.records(kind)
        except yaml.reader.ReaderError as error:  # bytes that are not UTF-8, control characters
            problem = f"not valid YAML text ({error.reason})"
            raise ImportFileError(f"{label}, character {error.position}: {problem}") from None
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = f", line {mark.line + 1}" if mark else ""
            problem = brief(error.problem or error.context or error, 100)
            raise ImportFileError(f"{label}{line}: not valid YAML ({problem})") from None
        except yaml.YAMLError as error:
            raise ImportFileError(f"{label}: not valid YAML ({brief(error, 100)})") from None
        finally:
            reader.dispose()


def read_yaml(path: Path) -> ReadResult:
    """Procedures from a YAML file (one mapping, or a list)."""
    return _read_staff(path, "yaml", str(path), MAX_STAFF_FILE_BYTES, MAX_SECONDS)


# --- JSON -------------------------------------------------------------------------------------------------------------

# One JSON token after separators: a string, an opening or closing bracket, or a bare literal (number, true, ...).
# Possessive quantifiers keep an unterminated 60 MB string linear.
_JSON_TOKEN = re.compile(r'[\s,:]*+(?:"(?:[^"\\]++|\\.)*+"|([\[{])|([\]}])|[^\s,:\[\]{}"]++)', re.DOTALL)
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _json_int(digits: str) -> int | float:
    """An integer literal; one too long for a value becomes inf, which the record check refuses by name and field."""
    return int(digits) if len(digits) <= 40 else math.inf


class _JsonReader:
    """The records of a JSON document: the items of a top-level list (or of {"procedures": [...]}) are decoded one at
    a time, each after a cheap scan has checked that it is small and shallow, so no giant structure is ever built."""

    def __init__(self, text: str, label: str, deadline: _Deadline) -> None:
        self._text, self._label, self._deadline = text, label, deadline
        self._decoder = json.JSONDecoder(parse_int=_json_int)

    def records(self, kind: _Kind) -> _Records:
        """The document's records: a list, one object, or an object whose `kind.wrapper` key holds them."""
        pos = self._skip(0)
        if pos == len(self._text):
            raise ImportFileError(f"{self._label}: empty file")
        if self._text.startswith("[", pos):
            pos = yield from self._items(pos)
        elif self._text.startswith("{", pos):
            pos = yield from self._object(pos, kind)
        else:
            self._value(pos, self._label, MAX_VALUES_PER_RECORD)  # a syntax error is named first
            raise ImportFileError(f"{self._label}: expected {kind.noun}")
        pos = self._skip(pos)
        if pos < len(self._text):
            raise self._error(pos, "extra data after the end")

    def _items(self, pos: int) -> Generator[tuple[object, str], None, int]:
        pos = self._skip(pos + 1)
        if self._text.startswith("]", pos):
            return pos + 1
        number = 0
        while True:
            number += 1
            where = f"{self._label}, item {number}"
            self._deadline.check(where)
            value, pos, _ = self._value(pos, where, MAX_VALUES_PER_RECORD)
            yield value, where
            pos = self._skip(pos)
            if self._text.startswith(",", pos):
                pos = self._skip(pos + 1)
            elif self._text.startswith("]", pos):
                return pos + 1
            else:
                raise self._error(pos, "expected ',' or ']' after an item")

    def _object(self, pos: int, kind: _Kind) -> Generator[tuple[object, str], None, int]:
        text, where = self._text, f"{self._label}, item 1"
        members: dict = {}
        streamed = False
        budget = MAX_VALUES_PER_RECORD
        pos = self._skip(pos + 1)
        if text.startswith("}", pos):
            pos += 1
        else:
            while True:
                if not text.startswith('"', pos):
                    raise self._error(pos, "expected a key in double quotes")
                key, pos = self._decode(pos)
                pos = self._skip(pos)
                if not text.startswith(":", pos):
                    raise self._error(pos, "expected ':' after a key")
                pos = self._skip(pos + 1)
                if key == kind.wrapper and not streamed and text.startswith("[", pos):
                    pos = yield from self._items(pos)
                    streamed = True
                else:
                    members[key], pos, used = self._value(pos, where, budget - 1)
                    budget -= used + 1
                pos = self._skip(pos)
                if text.startswith(",", pos):
                    pos = self._skip(pos + 1)
                elif text.startswith("}", pos):
                    pos += 1
                    break
                else:
                    raise self._error(pos, "expected ',' or '}' after a value")
        if not streamed:
            yield from _unwrap(members, kind, self._label, where)
        return pos

    def _value(self, pos: int, where: str, budget: int) -> tuple[object, int, int]:
        """(value, end, values in it) at pos, refused first if it holds more than `budget` values or nests deeper
        than MAX_DEPTH."""
        used = self._scan(pos, where, budget)
        value, end = self._decode(pos)
        return value, end, used

    def _scan(self, pos: int, where: str, budget: int) -> int:
        """The number of values in the value at pos, counted without building it; stops where the text stops being
        JSON (decoding then names the error)."""
        depth = values = 0
        while match := _JSON_TOKEN.match(self._text, pos):
            pos = match.end()
            if match.group(2):  # ] or }
                depth -= 1
                if depth <= 0:
                    break
                continue
            if match.group(1):  # [ or {
                depth += 1
                if depth > MAX_DEPTH:
                    raise ImportFileError(f"{where}, line {self._line(pos)}: nested deeper than {MAX_DEPTH} levels")
            values += 1
            if values > budget:
                raise ImportFileError(
                    f"{where}, line {self._line(pos)}: more than {MAX_VALUES_PER_RECORD:,} values in one record"
                )
            if depth == 0:
                break
        return values

    def _decode(self, pos: int) -> tuple[object, int]:
        try:
            return self._decoder.raw_decode(self._text, pos)
        except json.JSONDecodeError as error:
            problem = f"not valid JSON ({error.msg})"
            raise ImportFileError(f"{self._label}, line {error.lineno}, column {error.colno}: {problem}") from None
        except (ValueError, RecursionError) as error:  # the scan bounds numbers and depth; never trust a parser
            problem = f"not valid JSON ({brief(error, 80)})"
            raise ImportFileError(f"{self._label}, line {self._line(pos)}: {problem}") from None

    def _skip(self, pos: int) -> int:
        match = _JSON_SPACE.match(self._text, pos)
        return match.end() if match else pos

    def _line(self, pos: int) -> int:
        return self._text.count("\n", 0, pos) + 1

    def _error(self, pos: int, problem: str) -> ImportFileError:
        column = pos - self._text.rfind("\n", 0, pos)
        return ImportFileError(f"{self._label}, line {self._line(pos)}, column {column}: not valid JSON ({problem})")


def _json_records(path: Path, label: str, deadline: _Deadline, kind: _Kind) -> _Records:
    """The records of a JSON file (UTF-8), decoded one at a time."""
    with _open(path, label) as handle:
        data = handle.read()
    _refuse_utf16(data[:4], label, "save the file as UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ImportFileError(f"{label}, line {line}: not UTF-8 text (save the file as UTF-8)") from None
    del data  # the text is what is read from now on
    yield from _JsonReader(text, label, deadline).records(kind)



def read_bundled(directory: Path) -> list[ProcedureInfo]:
    """The bundled knowledge base: one YAML file per procedure."""
    infos: list[ProcedureInfo] = []
    seen: dict[str, Path] = {}
    for path in sorted(directory.glob("*.yaml")):
        for info in read_yaml(path).procedures:
            if info.code in seen:
                raise ImportFileError(f"{path}, field 'code': duplicate code {info.code} (also {seen[info.code].name})")
            seen[info.code] = path
            infos.append(info)
    return infos


# --- spreadsheets: CSV and XLSX ---------------------------------------------------------------------------------------


_NOT_UTF8 = re.compile("[\ud800-\udfff]")  # what bytes that are not UTF-8 become when decoded with surrogateescape


def _filled(cell: object) -> bool:
    """Whether a spreadsheet cell holds something."""
    return bool(str(cell or "").strip())


def _header(cells: Sequence[object], label: str, kind: _Kind) -> list[str]:
    """The column names of the first row, checked: known, required ones present, none twice, not too many."""
    names = [str(cell or "").strip() for cell in cells]
    if len(names) > MAX_COLUMNS:
        if any(names[MAX_COLUMNS:]):
            raise ImportFileError(f"{label}, row 1: more than {MAX_COLUMNS} columns")
        names = names[:MAX_COLUMNS]
    if any(_NOT_UTF8.search(name) for name in names):
        raise ImportFileError(f"{label}, row 1: not UTF-8 text (save the spreadsheet as CSV UTF-8)")
    unknown = [name for name in names if name and name not in kind.keys]
    if unknown:
        expected = ", ".join(kind.keys)
        raise ImportFileError(f"{label}, row 1, column '{brief(unknown[0], 40)}': unknown column (expected {expected})")
    # A missing column leaves that field unchanged (the other rows' raw dicts lack the key), never blank.
    missing = [key for key in kind.required if key not in names]
    if missing:
        raise ImportFileError(f"{label}, row 1: missing column '{missing[0]}'")
    duplicated = next((name for name in names if name and names.count(name) > 1), None)
    if duplicated:
        raise ImportFileError(f"{label}, row 1, column '{duplicated}': appears twice")
    return names


def _sheet_records(
    rows: Generator[tuple[int, Sequence[object]], None, None], label: str, deadline: _Deadline, kind: _Kind
) -> _Records:
    """Raw records (column name -> cell) of a spreadsheet's rows after the header row; blank rows are skipped."""
    with closing(rows):
        first = next(rows, None)
        if first is None:
            raise ImportFileError(f"{label}: empty file")
        header = _header(first[1], label, kind)
        for number, cells in rows:
            where = f"{label}, row {number}"
            deadline.check(where)
            if number > MAX_SHEET_ROWS:
                raise ImportFileError(f"{where}: more than {MAX_SHEET_ROWS:,} rows, blank ones included; split it")
            if not any(_filled(cell) for cell in cells):
                continue  # blank rows are common at the end of spreadsheets
            if any(_filled(cell) for cell in cells[len(header) :]):
                raise ImportFileError(f"{where}: more cells than columns (a stray comma or cell?)")
            pairs = zip(header, cells, strict=False)
            yield {name: unguard(cell) if kind.guarded else cell for name, cell in pairs if name}, where


class _RowTooLong(Exception):
    """Raised through the csv reader when the lines of one row exceed MAX_ROW_CHARS."""


def _csv_rows(path: Path, label: str) -> Generator[tuple[int, Sequence[object]], None, None]:
    """(spreadsheet row, cells) of each CSV record, read lazily; the header is row 1, and a record whose cells hold
    line breaks is still one row."""
    handle = _open(path, label)
    # Bytes that are not UTF-8 become lone surrogates, refused by the record check with their row and field.
    with io.TextIOWrapper(handle, encoding="utf-8-sig", errors="surrogateescape", newline="") as text:
        _refuse_utf16(handle.peek(4)[:4], label, "save the spreadsheet as CSV UTF-8")  # type: ignore[attr-defined]

        row_chars = 0  # of the row being read: quoted cells can join any number of lines into one row

        def lines() -> Iterator[str]:
            nonlocal row_chars
            while line := text.readline(MAX_ROW_CHARS + 1 - row_chars):
                row_chars += len(line)
                if row_chars > MAX_ROW_CHARS:
                    raise _RowTooLong
                yield line

        reader = csv.reader(lines())
        number = 0
        while True:
            number += 1
            row_chars = 0  # the reader asks for lines only while it reads a row
            try:
                cells = next(reader, None)
            except _RowTooLong:
                problem = f"a row longer than {MAX_ROW_CHARS:,} characters"
                raise ImportFileError(f"{label}, row {number}: {problem}") from None
            except csv.Error as error:
                problem = str(error)
                if "field larger than field limit" in problem:
                    problem = f"a cell longer than {csv.field_size_limit():,} characters"
                raise ImportFileError(f"{label}, row {number}: {problem}") from None
            if cells is None:
                return
            yield number, cells



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


def _scan_part(archive: zipfile.ZipFile, part: zipfile.ZipInfo, label: str, deadline: _Deadline) -> None:
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
            chunk = stream.read(_MB)
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


def _check_workbook(path: Path, label: str, deadline: _Deadline) -> None:
    """Refuse a workbook that would take openpyxl unbounded time or memory, before it parses anything: the zip
    directory (entries, unpacked size, packing ratio), then each XML part streamed once (elements per row or part)."""
    with _open(path, label) as handle:
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
                    f"{label}: unpacks to {unpacked / _MB:,.0f} MB, more than {MAX_XLSX_UNPACKED_BYTES // _MB} MB"
                    " (a zip bomb?)"
                )
            for part in parts:
                if part.file_size > _MB and part.file_size > MAX_XLSX_RATIO * max(part.compress_size, 1):
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


def _xlsx_rows(path: Path, label: str, deadline: _Deadline) -> Generator[tuple[int, Sequence[object]], None, None]:
    """(spreadsheet row, cells) of the first sheet, at most MAX_COLUMNS + 1 cells each (one more shows a stray cell)."""
    _check_workbook(path, label, deadline)
    from openpyxl import load_workbook

    # A file object, not the path: openpyxl refuses paths not ending in .xlsx (an upload's temporary name).
    handle = _open(path, label)
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



# --- national records and the entry points --------------------------------------------------------------------------


def read_national(path: Path, progress: Callable[[int], None] | None = None) -> ReadResult:
    """National portal records (JSON Lines); mis-scraped or unreadable records are skipped with a reason."""
    from knowledge import dvcqg

    label = str(path)
    deadline = _Deadline(MAX_NATIONAL_SECONDS)

    def on_line(number: int) -> None:
        deadline.check(f"{label}, line {number}")
        if number > MAX_NATIONAL_LINES:
            raise ImportFileError(f"{label}, line {number}: more than {MAX_NATIONAL_LINES:,} lines; split the file")

    result = ReadResult([])
    try:
        with closing(dvcqg.iter_records(path, on_line)) as records:
            for number, parsed in records:
                if isinstance(parsed, Exception):
                    result.skipped.append(str(parsed))  # "line 12: invalid JSON"
                else:
                    where = f"{label}, line {number}"
                    try:
                        result.procedures.append(parse_record(parsed, where, origin=ORIGIN_NATIONAL))
                    except RecordError as error:
                        result.skipped.append(str(error))
                if progress:
                    progress(number)
    except OSError as error:
        raise ImportFileError(f"{label}: cannot be read ({error.strerror or error})") from None
    if result.skipped and not result.procedures:
        raise ImportFileError(f"{label}: no national record could be read ({result.skipped[0]})")
    return result


def read_file(path: Path, fmt: str | None = None, progress: Callable[[int], None] | None = None) -> ReadResult:
    """Read any supported file within the limits above; raises ImportFileError naming file, row and field."""
    label = str(path)
    if not path.is_file():
        raise ImportFileError(f"{label}: no such file")
    fmt = fmt or detect_format(path)
    if fmt == "dvcqg":
        _check_size(path, label, MAX_FILE_BYTES)
        return read_national(path, progress)
    if fmt not in STAFF_FORMATS:
        raise ImportFileError(f"{label}: unknown format '{brief(fmt, 20)}' (use {'|'.join(FORMATS)})")
    return _read_staff(path, fmt, label, MAX_STAFF_FILE_BYTES, MAX_SECONDS)


def read_upload(path: Path, filename: str) -> ReadResult:
    """Procedures from a file uploaded in the web admin and already saved at `path` (a temporary file).

    The format comes from `filename` (.xlsx, .csv, .json, .yaml or .yml); messages name `filename`, never the
    temporary path; the web limits apply (MAX_UPLOAD_BYTES, MAX_UPLOAD_SECONDS) on top of the others.
    """
    name = Path(filename).name or "upload"
    label = brief(name, 80)  # one line, whatever the browser sent
    fmt = UPLOAD_SUFFIXES.get(Path(name).suffix.lower())
    if fmt is None:
        raise ImportFileError(f"{label}: use .xlsx, .csv, .json or .yaml")
    return _read_staff(path, fmt, label, MAX_UPLOAD_BYTES, MAX_UPLOAD_SECONDS)


def read_offices(path: Path) -> list[OfficeInfo]:
    """Offices from YAML, JSON or CSV (columns: the office keys); all or nothing, errors name the row."""
    label = str(path)
    if not path.is_file():
        raise ImportFileError(f"{label}: no such file")
    suffix = path.suffix.lower().lstrip(".")
    fmt = {"yaml": "yaml", "yml": "yaml", "json": "json", "csv": "csv"}.get(suffix)
    if fmt is None:
        raise ImportFileError(f"{label}: unknown file type '.{brief(suffix, 20)}' (use .yaml, .json or .csv)")
    _check_size(path, label, MAX_STAFF_FILE_BYTES)
    deadline = _Deadline(MAX_SECONDS)
    with closing(_records(path, fmt, label, deadline, _OFFICES)) as records:
        return _collect_offices(records, deadline)
