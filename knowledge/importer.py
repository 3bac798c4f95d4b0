"""Import of procedures and offices: YAML/JSON (bundled), CSV/XLSX (staff spreadsheets), national records.

Every file is read within the bounds of knowledge/bounds.py, streamed where the format allows (XLSX: knowledge/xlsx.py),
so that a hostile or broken file is refused with one line naming the file, row and field (ImportFileError).
"""

import csv
import io
import json
import math
import re
from collections.abc import Callable, Generator, Hashable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import yaml
from yaml.composer import Composer

from knowledge.bounds import (
    MAX_COLUMNS,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NATIONAL_LINES,
    MAX_NATIONAL_SECONDS,
    MAX_ROW_CHARS,
    MAX_ROWS,
    MAX_SECONDS,
    MAX_SHEET_ROWS,
    MAX_STAFF_FILE_BYTES,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_SECONDS,
    MAX_VALUES_PER_RECORD,
    Deadline,
    ImportFileError,
    check_size,
    open_file,
    refuse_utf16,
)
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
from knowledge.xlsx import xlsx_rows

FORMATS = ("yaml", "json", "csv", "xlsx", "dvcqg")
STAFF_FORMATS = ("yaml", "json", "csv", "xlsx")
UPLOAD_SUFFIXES = {".xlsx": "xlsx", ".csv": "csv", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}

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
    key: str  # the field that names an item, unique in a file
    parse: Callable[[object, str], Any]  # a raw record and where it is -> the item, or RecordError


_PROCEDURES = _Kind("a procedure or a list of procedures", "procedures", DATA_KEYS, REQUIRED_KEYS, "code", parse_record)
_OFFICES = _Kind("an office or a list of offices", "offices", OFFICE_KEYS, ("slug", "name"), "slug", parse_office)

# Raw records, each with where it is ("kb.csv, row 4"), read lazily.
_Records = Generator[tuple[object, str], None, None]


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


# --- collecting records -------------------------------------------------------------------------------------------


def _collect(records: _Records, deadline: Deadline, kind: _Kind) -> tuple[list[Any], dict[str, frozenset[str]]]:
    """Validate records one by one as they are read: all or nothing, at most MAX_ROWS, keys unique. Also, per
    item, the fields a record had when it lacked some (an export made before a field existed)."""
    items: list[Any] = []
    given: dict[str, frozenset[str]] = {}
    first: dict[str, str] = {}
    for raw, where in records:
        if len(items) >= MAX_ROWS:
            raise ImportFileError(f"{where}: more than {MAX_ROWS:,} {kind.wrapper} in one file; split it")
        deadline.check(where)
        try:
            item = kind.parse(raw, where)
        except RecordError as error:
            raise ImportFileError(str(error)) from None
        name = getattr(item, kind.key)
        if name in first:
            raise ImportFileError(f"{where}, field '{kind.key}': duplicate {kind.key} {name} (also {first[name]})")
        first[name] = where.rpartition(", ")[2]
        items.append(item)
        if isinstance(raw, dict) and len(raw) < len(kind.keys):
            given[name] = frozenset(raw)
    return items, given


def _read(
    path: Path, fmt: str, label: str, max_bytes: int, seconds: float, kind: _Kind
) -> tuple[list[Any], dict[str, frozenset[str]]]:
    """The items of a YAML, JSON, CSV or XLSX file within the limits; messages name the file as `label`."""
    if not path.is_file():
        raise ImportFileError(f"{label}: no such file")
    check_size(path, label, max_bytes)
    deadline = Deadline(seconds)
    with closing(_records(path, fmt, label, deadline, kind)) as records:
        return _collect(records, deadline, kind)


def _records(path: Path, fmt: str, label: str, deadline: Deadline, kind: _Kind) -> _Records:
    """The raw records of a YAML, JSON, CSV or XLSX file, read lazily."""
    if fmt == "yaml":
        return _yaml_records(path, label, deadline, kind)
    if fmt == "json":
        return _json_records(path, label, deadline, kind)
    rows = _csv_rows(path, label) if fmt == "csv" else xlsx_rows(path, label, deadline)
    return _sheet_records(rows, label, deadline, kind)


def _read_staff(path: Path, fmt: str, label: str, max_bytes: int, seconds: float) -> ReadResult:
    """Procedures from a YAML, JSON, CSV or XLSX file within the limits; messages name the file as `label`."""
    procedures, given = _read(path, fmt, label, max_bytes, seconds, _PROCEDURES)
    return ReadResult(procedures, given=given)


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

    def __init__(self, stream: BinaryIO, label: str, deadline: Deadline) -> None:
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


def _yaml_records(path: Path, label: str, deadline: Deadline, kind: _Kind) -> _Records:
    """The records of a YAML file, streamed; parser errors become one line with the line number."""
    with open_file(path, label) as handle:
        refuse_utf16(handle.peek(4)[:4], label, "save the file as UTF-8")  # type: ignore[attr-defined]
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

    def __init__(self, text: str, label: str, deadline: Deadline) -> None:
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


def _json_records(path: Path, label: str, deadline: Deadline, kind: _Kind) -> _Records:
    """The records of a JSON file (UTF-8), decoded one at a time."""
    with open_file(path, label) as handle:
        data = handle.read()
    refuse_utf16(data[:4], label, "save the file as UTF-8")
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
    rows: Generator[tuple[int, Sequence[object]], None, None], label: str, deadline: Deadline, kind: _Kind
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
            yield {name: unguard(cell) for name, cell in pairs if name}, where


class _RowTooLong(Exception):
    """Raised through the csv reader when the lines of one row exceed MAX_ROW_CHARS."""


def _csv_rows(path: Path, label: str) -> Generator[tuple[int, Sequence[object]], None, None]:
    """(spreadsheet row, cells) of each CSV record, read lazily; the header is row 1, and a record whose cells hold
    line breaks is still one row."""
    handle = open_file(path, label)
    # Bytes that are not UTF-8 become lone surrogates, refused by the record check with their row and field.
    with io.TextIOWrapper(handle, encoding="utf-8-sig", errors="surrogateescape", newline="") as text:
        refuse_utf16(handle.peek(4)[:4], label, "save the spreadsheet as CSV UTF-8")  # type: ignore[attr-defined]

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



# --- national records and the entry points --------------------------------------------------------------------------


def read_national(path: Path, progress: Callable[[int], None] | None = None) -> ReadResult:
    """National portal records (JSON Lines); mis-scraped or unreadable records are skipped with a reason."""
    from knowledge import dvcqg

    label = str(path)
    deadline = Deadline(MAX_NATIONAL_SECONDS)

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
        check_size(path, label, MAX_FILE_BYTES)
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
    suffix = path.suffix.lower().lstrip(".")
    fmt = {"yaml": "yaml", "yml": "yaml", "json": "json", "csv": "csv"}.get(suffix)
    if fmt is None and path.is_file():
        raise ImportFileError(f"{label}: unknown file type '.{brief(suffix, 20)}' (use .yaml, .json or .csv)")
    offices, _ = _read(path, fmt or "yaml", label, MAX_STAFF_FILE_BYTES, MAX_SECONDS, _OFFICES)
    return offices
