"""The procedure and office records every layer passes around: the one schema, and its validation.

`ProcedureInfo` is the single definition of a procedure's fields. The export keys, the list keys, the
database table (knowledge.models), spreadsheet columns and admin forms are all derived from it, so a
new field is one line here plus a database migration.
"""

import dataclasses
import math
import re
import typing
from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import date, datetime

ORIGIN_CURATED = "curated"
ORIGIN_NATIONAL = "dvcqg"
ONLINE_LEVELS = ("none", "partial", "full")  # no online filing / some steps or cases / the whole procedure

CODE_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,38}$")
SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
MAX_TEXT = 4000
MAX_ITEMS = 80
# A value is measured again after its whitespace is collapsed; this bounds the work before that.
MAX_RAW_TEXT = 8 * MAX_TEXT
# A spreadsheet cell holding a list (one item per line).
MAX_RAW_LIST = 2 * MAX_ITEMS * MAX_TEXT
# Characters nobody types: control characters that are not whitespace (whitespace is collapsed first), and lone
# surrogates, which stand for bytes that were not UTF-8 (or a JSON "\ud800"); databases refuse or mangle them.
_INVALID_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

# Field metadata: `data=False` keeps a field out of exports and imports (bookkeeping, not facts);
# `optional=True` means a complete curated entry may leave it empty.
_BOOKKEEPING = {"data": False}
_OPTIONAL = {"optional": True}


class RecordError(ValueError):
    """A record that cannot be accepted; the message names where (file, row) and the field."""


@dataclass(frozen=True)
class ProcedureInfo:
    """A procedure with every DESIGN.md data key, independent of storage (field order = export order)."""

    code: str
    name: str
    short_name: str = ""
    field: str = ""
    level: str = ""
    agency: str = ""
    where_to_file: str = ""
    documents: tuple[str, ...] = ()  # the usual dossier, what most people need
    special_cases: tuple[str, ...] = dataclasses.field(default=(), metadata=_OPTIONAL)  # "Trẻ bị bỏ rơi: ..."
    steps: tuple[str, ...] = ()
    processing_time: str = ""
    fees: str = ""
    online_level: str = ""  # one of ONLINE_LEVELS
    online: str = ""  # where and how to file online (or why not)
    legal_basis: tuple[str, ...] = ()
    result: str = ""
    aliases: tuple[str, ...] = ()
    source_url: str = ""
    verified_on: str = ""
    notes: str = dataclasses.field(default="", metadata=_OPTIONAL)  # for staff only: provenance, doubts
    origin: str = dataclasses.field(default=ORIGIN_CURATED, compare=False, metadata=_BOOKKEEPING)

    @property
    def title(self) -> str:
        """The name citizens recognise: short name when there is one."""
        return self.short_name or self.name

    @property
    def online_possible(self) -> bool:
        """Whether any part of the procedure can be filed online."""
        return self.online_level in ("partial", "full")

    def to_dict(self) -> dict:
        """The export form: DESIGN.md keys in order, lists as lists."""
        data = asdict(self)
        return {key: list(data[key]) if key in LIST_KEYS else data[key] for key in DATA_KEYS}

    def empty_keys(self) -> list[str]:
        """Keys a complete entry fills but this one leaves empty."""
        return [key for key in REQUIRED_FOR_COMPLETE if not getattr(self, key)]


def _is_list(field: dataclasses.Field) -> bool:
    return typing.get_origin(field.type) is tuple or str(field.type).startswith("tuple")


DATA_FIELDS = tuple(field for field in dataclasses.fields(ProcedureInfo) if field.metadata.get("data", True))
DATA_KEYS = tuple(field.name for field in DATA_FIELDS)
LIST_KEYS = frozenset(field.name for field in DATA_FIELDS if _is_list(field))
REQUIRED_KEYS = ("code", "name")
REQUIRED_FOR_COMPLETE = tuple(field.name for field in DATA_FIELDS if not field.metadata.get("optional"))


def merge(old: ProcedureInfo, new: ProcedureInfo, keys: Collection[str]) -> ProcedureInfo:
    """`old` with the fields in `keys` taken from `new` (a file that lacks a column leaves it unchanged)."""
    return dataclasses.replace(old, origin=new.origin, **{key: getattr(new, key) for key in keys if key in DATA_KEYS})


def brief(value: object, limit: int = 60) -> str:
    """A value quoted in an error message: one line, cut short."""
    if isinstance(value, int) and value.bit_length() > 128:  # str() of a 5,000-digit number raises
        return "(a very large number)"
    text = " ".join(str(value)[: 4 * limit].split())
    text = _INVALID_CHARS.sub("?", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: object, where: str, key: str, lenient: bool = False) -> str:
    """One text value, whitespace collapsed; lenient (machine-parsed records) trims and cleans instead of refusing."""
    if value is None:
        return ""
    if isinstance(value, datetime):  # a date typed into a spreadsheet cell
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > 128:  # str() of a 5,000-digit number raises
            raise RecordError(f"{where}, field '{key}': a number too large to be a value")
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):  # JSON NaN, YAML .nan
            raise RecordError(f"{where}, field '{key}': not a number")
        if math.isinf(value):  # JSON 1e99999, YAML .inf
            raise RecordError(f"{where}, field '{key}': a number too large to be a value")
        return str(value)
    if not isinstance(value, str):
        raise RecordError(f"{where}, field '{key}': expected text, got {type(value).__name__}")
    if len(value) > MAX_RAW_TEXT:
        if not lenient:
            raise RecordError(f"{where}, field '{key}': longer than {MAX_TEXT} characters")
        value = value[:MAX_RAW_TEXT]
    text = " ".join(value.split())
    invalid = _INVALID_CHARS.search(text)
    if invalid and lenient:
        text = " ".join(_INVALID_CHARS.sub(" ", text).split())
    elif invalid and "\ud800" <= invalid.group() <= "\udfff":
        raise RecordError(f"{where}, field '{key}': not UTF-8 text (save the file as UTF-8)")
    elif invalid:
        code = ord(invalid.group())
        raise RecordError(f"{where}, field '{key}': contains the control character U+{code:04X} (a binary file?)")
    if len(text) > MAX_TEXT and lenient:
        return text[: MAX_TEXT - 1].rsplit(" ", 1)[0] + "…"
    if len(text) > MAX_TEXT:
        raise RecordError(f"{where}, field '{key}': longer than {MAX_TEXT} characters")
    return text


def _items(value: object, where: str, key: str, lenient: bool = False) -> tuple[str, ...]:
    """A list value (a list, or a cell with one item per line) as distinct non-empty texts."""
    if value is None or (isinstance(value, str) and not value):
        return ()
    if isinstance(value, str):
        if len(value) > MAX_RAW_LIST:
            if not lenient:
                raise RecordError(f"{where}, field '{key}': longer than {MAX_RAW_LIST} characters")
            value = value[:MAX_RAW_LIST]
        # Spreadsheet cells hold one item per line.
        value = value.splitlines()
    if not isinstance(value, list | tuple):
        raise RecordError(f"{where}, field '{key}': expected a list, got {type(value).__name__}")
    if len(value) > MAX_ITEMS and lenient:
        value = [*value[: MAX_ITEMS - 1], "… (xem đầy đủ trên Cổng Dịch vụ công quốc gia)"]
    if len(value) > MAX_ITEMS:
        raise RecordError(f"{where}, field '{key}': more than {MAX_ITEMS} items")
    items = [_text(item, where, key, lenient) for item in value]
    return tuple(dict.fromkeys(item for item in items if item))


def parse_record(raw: object, where: str, origin: str = ORIGIN_CURATED) -> ProcedureInfo:
    """Validate one raw mapping (from YAML, JSON, CSV or XLSX) into a ProcedureInfo; absent keys are empty."""
    if not isinstance(raw, dict):
        raise RecordError(f"{where}: expected a mapping of fields, got {type(raw).__name__}")
    unknown = sorted(brief(key, 40) for key in raw if not (isinstance(key, str) and key in DATA_KEYS))
    if unknown:
        raise RecordError(f"{where}, field '{unknown[0]}': unknown field (expected one of {', '.join(DATA_KEYS)})")
    # Machine-parsed national records are trimmed to the limits; staff files are refused instead.
    lenient = origin != ORIGIN_CURATED
    if isinstance(raw.get("code"), float):
        # 1.001190 typed as a number loses its last zero: the code must be text.
        raise RecordError(f"{where}, field 'code': write the code as text (e.g. '1.001190'), not a number")
    values = {
        key: _items(raw.get(key), where, key, lenient) if key in LIST_KEYS else _text(raw.get(key), where, key, lenient)
        for key in DATA_KEYS
    }
    for key in REQUIRED_KEYS:
        if not values[key]:
            raise RecordError(f"{where}, field '{key}': required")
    if not CODE_PATTERN.match(str(values["code"])):
        raise RecordError(f"{where}, field 'code': '{brief(values['code'])}' is not a procedure code like 1.001193")
    verified = str(values["verified_on"])
    if verified:
        try:
            date.fromisoformat(verified)
        except ValueError:
            raise RecordError(f"{where}, field 'verified_on': '{brief(verified)}' is not a date YYYY-MM-DD") from None
    level = str(values["online_level"])
    if level and level not in ONLINE_LEVELS:
        raise RecordError(f"{where}, field 'online_level': '{brief(level)}' must be one of {', '.join(ONLINE_LEVELS)}")
    return ProcedureInfo(origin=origin, **values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class OfficeInfo:
    """A one-stop office as the dialog and posters see it."""

    slug: str
    name: str
    address: str = ""
    hours: str = ""
    phone: str = ""
    map_url: str = ""
    province: str = ""
    commune: str = ""
    notes: str = ""
    # The agencies whose dossiers this office receives ("UBND cấp xã", "Công an cấp xã"); empty means the
    # commune People's Committee's procedures only, as at most one-stop centres.
    agencies: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """The export form (lists as lists)."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


OFFICE_KEYS = tuple(field.name for field in dataclasses.fields(OfficeInfo))
OFFICE_LIST_KEYS = frozenset(field.name for field in dataclasses.fields(OfficeInfo) if _is_list(field))


def parse_office(raw: object, where: str) -> OfficeInfo:
    """Validate one raw office mapping; errors name where and the field."""
    if not isinstance(raw, dict):
        raise RecordError(f"{where}: expected a mapping of fields, got {type(raw).__name__}")
    unknown = sorted(brief(key, 40) for key in raw if not (isinstance(key, str) and key in OFFICE_KEYS))
    if unknown:
        raise RecordError(f"{where}, field '{unknown[0]}': unknown field (expected {', '.join(OFFICE_KEYS)})")
    values: dict[str, object] = {
        key: _items(raw.get(key), where, key) if key in OFFICE_LIST_KEYS else _text(raw.get(key), where, key)
        for key in OFFICE_KEYS
    }
    if not SLUG_PATTERN.match(str(values["slug"])):
        slug = brief(values["slug"])
        raise RecordError(f"{where}, field 'slug': '{slug}' must be 1-40 of a-z 0-9 - (e.g. xa-dray-sap)")
    if not values["name"]:
        raise RecordError(f"{where}, field 'name': required")
    if values["map_url"] and not str(values["map_url"]).startswith(("https://", "http://")):
        raise RecordError(f"{where}, field 'map_url': must be a web link")
    return OfficeInfo(**values)  # type: ignore[arg-type]
