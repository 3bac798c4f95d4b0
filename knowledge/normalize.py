"""Vietnamese normalisation for matching: NFC, case, accent folding, i/y, tone placement, teencode,
legacy terms, polite filler, and facet cue detection."""

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

FACETS = ("documents", "fees", "time", "where", "online", "steps")
TERMS_FILE = Path(__file__).parent / "terms.yaml"
MAX_QUERY_CHARS = 500  # longer messages are cut: nobody names a procedure in the 501st character

_D = str.maketrans({"đ": "d", "Đ": "D"})
_NON_WORD = re.compile(r"[\W_]+")
# i/y: "kí"/"ký", "lí"/"lý" are the same word; after folding a consonant cluster + final y becomes i.
_FINAL_Y = re.compile(r"\b([bcdghklmnpqrstvx]{1,3})y\b")

# Old tone placement puts the mark on the second vowel of open "oa", "oe", "uy" (hoà, khoẻ, thuỷ);
# the current rule puts it on the first (hòa, khỏe, thủy). Only matters for the accented key.
_TONED = {"a": "àáảãạ", "e": "èéẻẽẹ", "y": "ỳýỷỹỵ", "o": "òóỏõọ", "u": "ùúủũụ"}
_OLD_TONE = {}
for _first, _second in (("o", "a"), ("o", "e"), ("u", "y")):
    for _index, _marked in enumerate(_TONED[_second]):
        _OLD_TONE[_first + _marked] = _TONED[_first][_index] + _second
_OLD_TONE_PATTERN = re.compile(r"(?<!q)(" + "|".join(_OLD_TONE) + r")\b")


def nfc(text: str) -> str:
    """Unicode NFC: decomposed input (some keyboards, PDFs) becomes the composed form."""
    return unicodedata.normalize("NFC", text)


def accented_key(text: str) -> str:
    """Lowercase NFC text with current tone placement, punctuation and emoji removed."""
    text = nfc(text[:MAX_QUERY_CHARS]).lower()
    text = _OLD_TONE_PATTERN.sub(lambda match: _OLD_TONE[match.group(1)], text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def fold(text: str) -> str:
    """Accentless lowercase key: đ->d, tone and vowel marks removed, i/y unified, punctuation removed."""
    text = unicodedata.normalize("NFD", nfc(text[:MAX_QUERY_CHARS]).translate(_D).lower())
    text = "".join(char for char in text if unicodedata.category(char) != "Mn")
    text = " ".join(_NON_WORD.sub(" ", text).split())
    return _FINAL_Y.sub(r"\1i", text)


@dataclass(frozen=True)
class Analysis:
    """A citizen's message as the matcher sees it."""

    folded: str  # the whole message, folded
    tokens: tuple[str, ...]  # content words naming the procedure (filler and facet cues removed)
    facets: tuple[str, ...]  # what is asked about, in FACETS order
    smalltalk: str | None  # greeting | thanks | goodbye when the message is only that


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted({phrase for phrase in phrases if phrase}, key=len, reverse=True)
    if not ordered:
        return None
    return re.compile(r"(?<!\S)(?:" + "|".join(re.escape(phrase) for phrase in ordered) + r")(?!\S)")


class Lexicon:
    """The table of citizen terms (teencode, abbreviations, legacy terms), filler, small talk and facet cues."""

    def __init__(self, tables: Iterable[Mapping]) -> None:
        replace: dict[str, str] = {}
        filler: set[str] = set()
        smalltalk: dict[str, str] = {}
        cues: dict[str, str] = {}
        for table in tables:
            for key, value in (table.get("replace") or {}).items():
                replace[fold(str(key))] = fold(str(value))
            filler.update(fold(str(item)) for item in table.get("filler") or [])
            for kind, phrases in (table.get("smalltalk") or {}).items():
                smalltalk.update((fold(str(phrase)), str(kind)) for phrase in phrases)
            for facet, phrases in (table.get("facets") or {}).items():
                if facet not in FACETS:
                    raise ValueError(f"terms: unknown facet '{facet}' (expected one of {', '.join(FACETS)})")
                cues.update((fold(str(phrase)), facet) for phrase in phrases)
        replace.pop("", None)
        self._replace = replace
        self._replace_pattern = _phrase_pattern(replace)
        self._smalltalk = smalltalk
        self._removable_pattern = _phrase_pattern(filler | set(smalltalk))
        self._cues = cues
        self._cue_pattern = _phrase_pattern(cues)

    @classmethod
    def load(cls, extra_file: str | Path | None = None) -> "Lexicon":
        """The bundled table, extended (and overridden) by staff's own YAML file when given."""
        tables = [yaml.safe_load(TERMS_FILE.read_text(encoding="utf-8"))]
        if extra_file:
            tables.append(yaml.safe_load(Path(extra_file).read_text(encoding="utf-8")) or {})
        return cls(tables)

    def expand(self, folded: str) -> str:
        """Replace abbreviations, teencode and legacy terms (longest phrase first, one pass)."""
        if self._replace_pattern is None:
            return folded
        return self._replace_pattern.sub(lambda match: self._replace[match.group(0)], folded)

    def _strip_filler(self, text: str) -> str:
        if self._removable_pattern is None:
            return text
        return self._removable_pattern.sub(" ", text)

    def phrase_tokens(self, text: str) -> tuple[str, ...]:
        """Content tokens of a procedure name or alias (the same treatment as a question)."""
        return tuple(self._strip_filler(self.expand(fold(text))).split())

    def analyze(self, text: str) -> Analysis:
        """Fold, expand, detect facets and small talk, and keep the words that name a procedure."""
        folded = fold(text)
        expanded = self.expand(folded)
        found: set[str] = set()
        if self._cue_pattern is not None:
            found = {self._cues[match.group(0)] for match in self._cue_pattern.finditer(expanded)}
            expanded = self._cue_pattern.sub(" ", expanded)
        smalltalk = None
        if self._removable_pattern is not None:
            kinds = [
                self._smalltalk[m.group(0)]
                for m in self._removable_pattern.finditer(expanded)
                if m.group(0) in self._smalltalk
            ]
            smalltalk = kinds[0] if kinds else None
        tokens = tuple(self._strip_filler(expanded).split())
        facets = tuple(facet for facet in FACETS if facet in found)
        return Analysis(folded, tokens, facets, smalltalk if not tokens and not facets else None)


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The bundled lexicon, loaded once."""
    return Lexicon.load()


def detect_facets(text: str) -> tuple[str, ...]:
    """What a question asks about (documents, fees, time, where, online, steps), with or without accents."""
    return default_lexicon().analyze(text).facets


_TELEX_DOUBLES = (("dd", "d"), ("aw", "a"), ("aa", "a"), ("ee", "e"), ("oo", "o"), ("ow", "o"), ("uw", "u"))
_TELEX_TONE = re.compile(r"^(.+?[a-z])[sfrxj]$")
_TELEX_LATE_HAT = re.compile(r"([aeo])([^aeiouy]+)\1$")  # "ketes" -> "ket": the hat typed after the coda


def telex_variants(token: str) -> list[str]:
    """Plain spellings a token typed with the input method off may stand for ("ddawng" -> "dang")."""
    variants: list[str] = []
    base = token
    for double, single in _TELEX_DOUBLES:
        base = base.replace(double, single)
    base = base.replace("w", "u")
    for candidate in (base, _TELEX_TONE.sub(r"\1", base)):
        for form in (candidate, _TELEX_LATE_HAT.sub(r"\1\2", candidate)):
            form = _FINAL_Y.sub(r"\1i", form)
            if form != token and form not in variants:
                variants.append(form)
    return variants
