"""The procedure record every layer passes around, and its validation (errors name file, row, field)."""

import dataclasses
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime

from knowledge.models import DATA_KEYS, LIST_KEYS, ORIGIN_CURATED

CODE_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,38}$")
REQUIRED_KEYS = ("code", "name")
MAX_TEXT = 4000
MAX_ITEMS = 80


class RecordError(ValueError):
    """A record that cannot be accepted; the message names where (file, row) and the field."""


@dataclass(frozen=True)
class ProcedureInfo:
    """A procedure with every DESIGN.md data key, independent of storage."""

    code: str
    name: str
    short_name: str = ""
    field: str = ""
    level: str = ""
    agency: str = ""
    where_to_file: str = ""
    documents: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    processing_time: str = ""
    fees: str = ""
    online: str = ""
    legal_basis: tuple[str, ...] = ()
    result: str = ""
    aliases: tuple[str, ...] = ()
    source_url: str = ""
    verified_on: str = ""
    origin: str = dataclasses.field(default=ORIGIN_CURATED, compare=False)

    @property
    def title(self) -> str:
        """The name citizens recognise: short name when there is one."""
        return self.short_name or self.name

    def to_dict(self) -> dict:
        """The export form: DESIGN.md keys in order, lists as lists."""
        data = asdict(self)
        return {key: list(data[key]) if key in LIST_KEYS else data[key] for key in DATA_KEYS}

    def empty_keys(self) -> list[str]:
        """Keys whose value is empty (a complete curated record has none)."""
        return [key for key in DATA_KEYS if not getattr(self, key)]


def _text(value: object, where: str, key: str, lenient: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):  # a date typed into a spreadsheet cell
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise RecordError(f"{where}, field '{key}': expected text, got {type(value).__name__}")
    text = " ".join(value.split())
    if len(text) > MAX_TEXT and lenient:
        return text[: MAX_TEXT - 1].rsplit(" ", 1)[0] + "…"
    if len(text) > MAX_TEXT:
        raise RecordError(f"{where}, field '{key}': longer than {MAX_TEXT} characters")
    return text


def _items(value: object, where: str, key: str, lenient: bool = False) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
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
    """Validate one raw mapping (from YAML, JSON, CSV or XLSX) into a ProcedureInfo."""
    if not isinstance(raw, dict):
        raise RecordError(f"{where}: expected a mapping of fields, got {type(raw).__name__}")
    unknown = sorted(str(key) for key in raw if key not in DATA_KEYS)
    if unknown:
        raise RecordError(f"{where}, field '{unknown[0]}': unknown field (expected one of {', '.join(DATA_KEYS)})")
    # Machine-parsed national records are trimmed to the limits; staff files are refused instead.
    lenient = origin != ORIGIN_CURATED
    if isinstance(raw.get("code"), float):
        # 1.001190 typed as a number loses its last zero: the code must be text.
        raise RecordError(f"{where}, field 'code': write the code as text (e.g. '1.001190'), not a number")
    values: dict[str, object] = {}
    for key in DATA_KEYS:
        if key in LIST_KEYS:
            values[key] = _items(raw.get(key), where, key, lenient)
        else:
            values[key] = _text(raw.get(key), where, key, lenient)
    for key in REQUIRED_KEYS:
        if not values[key]:
            raise RecordError(f"{where}, field '{key}': required")
    if not CODE_PATTERN.match(str(values["code"])):
        raise RecordError(f"{where}, field 'code': '{values['code']}' is not a procedure code like 1.001193")
    verified = str(values["verified_on"])
    if verified:
        try:
            date.fromisoformat(verified)
        except ValueError:
            raise RecordError(f"{where}, field 'verified_on': '{verified}' is not a date YYYY-MM-DD") from None
    return ProcedureInfo(origin=origin, **values)  # type: ignore[arg-type]


SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


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

    def to_dict(self) -> dict:
        """The export form."""
        return asdict(self)


OFFICE_KEYS = tuple(field.name for field in dataclasses.fields(OfficeInfo))


def parse_office(raw: object, where: str) -> OfficeInfo:
    """Validate one raw office mapping; errors name where and the field."""
    if not isinstance(raw, dict):
        raise RecordError(f"{where}: expected a mapping of fields, got {type(raw).__name__}")
    unknown = sorted(str(key) for key in raw if key not in OFFICE_KEYS)
    if unknown:
        raise RecordError(f"{where}, field '{unknown[0]}': unknown field (expected {', '.join(OFFICE_KEYS)})")
    values = {key: _text(raw.get(key), where, key) for key in OFFICE_KEYS}
    if not SLUG_PATTERN.match(values["slug"]):
        raise RecordError(f"{where}, field 'slug': '{values['slug']}' must be 1-40 of a-z 0-9 - (e.g. xa-dray-sap)")
    if not values["name"]:
        raise RecordError(f"{where}, field 'name': required")
    if values["map_url"] and not values["map_url"].startswith(("https://", "http://")):
        raise RecordError(f"{where}, field 'map_url': must be a web link")
    return OfficeInfo(**values)
