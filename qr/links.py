"""Deep-link payloads for Telegram's /start (A-Z a-z 0-9 _ -, at most 64 characters) and the links themselves.

Scheme, version 1:
  p1_<code>          a procedure; "." in the code is written "-" (1.001193 -> p1_1-001193)
  o1_<slug>          an office
  o1_<slug>_<code>   a procedure at an office
Codes that contain anything but letters, digits and "." travel as base32 after a "-" ("p1_-<BASE32>");
a plain code never starts with "-", so the two cannot be confused.
"""

import base64
import binascii
import re
from dataclasses import dataclass
from urllib.parse import quote

MAX_PAYLOAD = 64  # https://core.telegram.org/bots/features#deep-linking
PAYLOAD_ALPHABET = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
PLAIN_CODE = re.compile(r"^[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*$")
NATIONAL_CODE = re.compile(r"^\d\.\d{6}$")  # 1.001193: typed as its seven digits


class PayloadError(ValueError):
    """A payload or link part that cannot be encoded (too long, bad characters)."""


@dataclass(frozen=True)
class DeepLink:
    """What a payload opens: a procedure, an office, or a procedure at an office."""

    code: str | None = None
    office: str | None = None


def _encode_code(code: str) -> str:
    if PLAIN_CODE.match(code):
        return code.replace(".", "-")
    return "-" + base64.b32encode(code.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_code(text: str) -> str | None:
    if text.startswith("-"):
        body = text[1:]
        try:
            return base64.b32decode(body + "=" * (-len(body) % 8)).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
    code = text.replace("-", ".")
    return code if PLAIN_CODE.match(code) else None


def encode_payload(code: str | None = None, office: str | None = None) -> str:
    """The /start payload for a procedure, an office, or both."""
    if not code and not office:
        raise PayloadError("a payload needs a procedure code or an office slug")
    if office is not None and not SLUG_PATTERN.match(office):
        raise PayloadError(f"office slug '{office}' must be 1-40 of a-z 0-9 - (not at the ends)")
    if office:
        payload = f"o1_{office}" + (f"_{_encode_code(code)}" if code else "")
    else:
        payload = f"p1_{_encode_code(code or '')}"
    if len(payload) > MAX_PAYLOAD:
        raise PayloadError(f"payload '{payload}' is longer than {MAX_PAYLOAD} characters")
    return payload


def decode_payload(payload: str | None) -> DeepLink | None:
    """What a payload opens, or None for anything malformed (never raises)."""
    if not payload or not isinstance(payload, str) or not PAYLOAD_ALPHABET.match(payload):
        return None
    kind, _, rest = payload.partition("_")
    if kind == "p1":
        code = _decode_code(rest) if rest else None
        return DeepLink(code=code) if code else None
    if kind == "o1":
        slug, _, encoded = rest.partition("_")
        if not SLUG_PATTERN.match(slug):
            return None
        if not encoded:
            return DeepLink(office=slug)
        code = _decode_code(encoded)
        return DeepLink(code=code, office=slug) if code else None
    return None


def telegram_link(bot_username: str, payload: str) -> str:
    """https://t.me/<bot>?start=<payload>."""
    username = bot_username.lstrip("@")
    if not re.match(r"^[A-Za-z][A-Za-z0-9_]{3,31}$", username):
        raise PayloadError(f"'{bot_username}' is not a Telegram bot username")
    return f"https://t.me/{username}?start={quote(payload, safe='')}"


def short_path(code: str) -> str:
    """The path people type from a poster when they cannot scan: /q/1001193 for procedure 1.001193 (digits
    only: no dot to miss on a phone keyboard); other codes keep their deep-link form."""
    if NATIONAL_CODE.match(code):
        return "/q/" + code.replace(".", "")
    encoded = _encode_code(code)
    if code_from_short(encoded) != code:  # seven digits alone would read as a national code
        encoded = "-" + base64.b32encode(code.encode("utf-8")).decode("ascii").rstrip("=")
    return "/q/" + encoded


def code_from_short(text: str) -> str | None:
    """The procedure code a short path names ("1001193" -> "1.001193"), or None."""
    text = text.strip().strip("/")
    if text.isdigit() and len(text) == 7:
        return f"{text[0]}.{text[1:]}"
    return _decode_code(text) if text else None
