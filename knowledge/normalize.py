"""Vietnamese normalisation for matching: NFC, case, accent folding, i/y, tone placement, teencode,
legacy terms, polite filler, and facet cue detection."""

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

FACETS = ("documents", "fees", "time", "where", "online", "steps")
TERMS_FILE = Path(__file__).parent / "terms.yaml"
MAX_QUERY_CHARS = 500  # longer messages are cut: nobody names a procedure in the 501st character

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


def _build_fold_table() -> dict[int, str | None]:
    # One str.translate pass instead of NFD + a per-character category test: ~10x faster on index builds.
    table: dict[int, str | None] = {ord("đ"): "d", ord("Đ"): "d"}
    for codepoint in range(0x00C0, 0x2000):
        char = chr(codepoint)
        base = "".join(c for c in unicodedata.normalize("NFD", char) if unicodedata.category(c) != "Mn")
        if base != char and len(base) == 1:
            table[codepoint] = base.lower()
    table.update(dict.fromkeys(range(768, 880)))  # stray combining marks
    return table


_FOLD_TABLE = _build_fold_table()


def fold(text: str) -> str:
    """Accentless lowercase key: đ->d, tone and vowel marks removed, i/y unified, punctuation removed."""
    text = nfc(text[:MAX_QUERY_CHARS]).lower().translate(_FOLD_TABLE)
    text = " ".join(_NON_WORD.sub(" ", text).split())
    return _FINAL_Y.sub(r"\1i", text)


@dataclass(frozen=True)
class Analysis:
    """A citizen's message as the matcher sees it."""

    folded: str  # the whole message, folded
    tokens: tuple[str, ...]  # content words naming the procedure (filler and facet cues removed)
    facets: tuple[str, ...]  # what is asked about, in FACETS order
    smalltalk: str | None  # greeting | thanks | goodbye when the message is only that


class _PhraseTable:
    """Multi-word phrases looked up on token lists, longest first (dict lookups: far faster than a regex
    alternation of hundreds of phrases)."""

    def __init__(self, phrases: Mapping[str, str | None]) -> None:
        self._table = {tuple(phrase.split()): value for phrase, value in phrases.items() if phrase.split()}
        lengths: dict[str, set[int]] = {}
        for key in self._table:
            lengths.setdefault(key[0], set()).add(len(key))
        # Only a phrase's first word starts a lookup; most words start none.
        self._lengths = {first: sorted(found, reverse=True) for first, found in lengths.items()}

    def scan(self, tokens: list[str]) -> Iterator[tuple[int, int, str | None]]:
        """(start, end, value) of each phrase found, left to right, longest match first."""
        position, count = 0, len(tokens)
        while position < count:
            for length in self._lengths.get(tokens[position], ()):
                key = tuple(tokens[position : position + length])
                if key in self._table:
                    yield position, position + length, self._table[key]
                    position += length
                    break
            else:
                position += 1

    def replace(self, tokens: list[str], drop: bool = False) -> list[str]:
        """Tokens with each phrase replaced by its value (removed when the value is None, or with drop)."""
        result: list[str] = []
        position = 0
        for start, end, value in self.scan(tokens):
            result.extend(tokens[position:start])
            if value and not drop:
                result.extend(value.split())
            position = end
        result.extend(tokens[position:])
        return result


class Lexicon:
    """The table of citizen terms (teencode, abbreviations, legacy terms), filler, small talk, facet cues."""

    def __init__(self, tables: Iterable[Mapping]) -> None:
        replace: dict[str, str | None] = {}
        removable: dict[str, str | None] = {}
        smalltalk: dict[str, str] = {}
        cues: dict[str, str | None] = {}
        for table in tables:
            for key, value in (table.get("replace") or {}).items():
                replace[fold(str(key))] = fold(str(value))
            removable.update((fold(str(item)), None) for item in table.get("filler") or [])
            for kind, phrases in (table.get("smalltalk") or {}).items():
                smalltalk.update((fold(str(phrase)), str(kind)) for phrase in phrases)
            for facet, phrases in (table.get("facets") or {}).items():
                if facet not in FACETS:
                    raise ValueError(f"terms: unknown facet '{facet}' (expected one of {', '.join(FACETS)})")
                cues.update((fold(str(phrase)), facet) for phrase in phrases)
        self._replace = _PhraseTable(replace)
        self._removable = _PhraseTable({**removable, **dict.fromkeys(smalltalk)})
        self._smalltalk = _PhraseTable(dict(smalltalk))
        self._cues = _PhraseTable(cues)

    @classmethod
    def load(cls, extra_file: str | Path | None = None) -> "Lexicon":
        """The bundled table, extended (and overridden) by staff's own YAML file when given."""
        tables = [yaml.safe_load(TERMS_FILE.read_text(encoding="utf-8"))]
        if extra_file:
            tables.append(yaml.safe_load(Path(extra_file).read_text(encoding="utf-8")) or {})
        return cls(tables)

    def expand(self, folded: str) -> str:
        """Replace abbreviations, teencode and legacy terms (longest phrase first, one pass)."""
        return " ".join(self._replace.replace(folded.split()))

    def phrase_tokens(self, text: str) -> tuple[str, ...]:
        """Content tokens of a procedure name or alias (the same treatment as a question)."""
        return tuple(self._removable.replace(self._replace.replace(fold(text).split())))

    def analyze(self, text: str) -> Analysis:
        """Fold, expand, detect facets and small talk, and keep the words that name a procedure."""
        folded = fold(text)
        expanded = self._replace.replace(folded.split())
        found = {facet for _, _, facet in self._cues.scan(expanded)}
        without_cues = self._cues.replace(expanded, drop=True)
        kinds = [kind for _, _, kind in self._smalltalk.scan(without_cues)]
        tokens = tuple(self._removable.replace(without_cues))
        facets = tuple(facet for facet in FACETS if facet in found)
        smalltalk = kinds[0] if kinds and not tokens and not facets else None
        return Analysis(folded, tokens, facets, smalltalk)


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
