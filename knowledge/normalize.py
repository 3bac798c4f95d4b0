"""Vietnamese normalisation for matching: NFC, case, accent folding, i/y, tone placement, teencode,
legacy terms, polite filler, and facet cue detection."""

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge.clauses import segment
from knowledge.folding import FINAL_Y, MAX_QUERY_CHARS, NON_WORD, fold, nfc

FACETS = ("documents", "fees", "time", "where", "online", "steps")
TERMS_FILE = Path(__file__).parent / "terms.yaml"
# Longer messages are cut (MAX_QUERY_CHARS). Narrative messages put the question last, so a cut keeps the
# opening and the end.
_KEPT_OPENING_CHARS = 500

# Old tone placement puts the mark on the second vowel of open "oa", "oe", "uy" (hoà, khoẻ, thuỷ);
# the current rule puts it on the first (hòa, khỏe, thủy). Only matters for the accented key.
_TONED = {"a": "àáảãạ", "e": "èéẻẽẹ", "y": "ỳýỷỹỵ", "o": "òóỏõọ", "u": "ùúủũụ"}
_OLD_TONE = {}
for _first, _second in (("o", "a"), ("o", "e"), ("u", "y")):
    for _index, _marked in enumerate(_TONED[_second]):
        _OLD_TONE[_first + _marked] = _TONED[_first][_index] + _second
_OLD_TONE_PATTERN = re.compile(r"(?<!q)(" + "|".join(_OLD_TONE) + r")\b")


def accented_key(text: str) -> str:
    """Lowercase NFC text with current tone placement, punctuation and emoji removed."""
    text = nfc(text[:MAX_QUERY_CHARS]).lower()
    if any(old in text for old in _OLD_TONE):  # rare: skip the regex on most text
        text = _OLD_TONE_PATTERN.sub(lambda match: _OLD_TONE[match.group(1)], text)
    return " ".join(NON_WORD.sub(" ", text).split())


@dataclass(frozen=True)
class Analysis:
    """A citizen's message as the matcher sees it."""

    folded: str  # the whole message, folded
    tokens: tuple[str, ...]  # content words naming the procedure (filler and facet cues removed)
    facets: tuple[str, ...]  # what is asked about, in FACETS order
    smalltalk: str | None  # greeting | thanks | goodbye when the message is only that
    accents: tuple[str, ...] = ()  # each token as typed with its accents, "" where typed without
    sentences: tuple[int, ...] = ()  # each token's sentence (0, 1, ...): phrases are read within one
    asking: tuple[bool, ...] = ()  # each token: said in a sentence that asks the question


def clip_message(text: str) -> str:
    """A message cut to MAX_QUERY_CHARS, keeping its opening and its end (where the question usually is)."""
    if len(text) <= MAX_QUERY_CHARS:
        return text
    return f"{text[:_KEPT_OPENING_CHARS]}.\n{text[-(MAX_QUERY_CHARS - _KEPT_OPENING_CHARS) :]}"


# A token as typed: (folded, accented). Phrases match on the folded form; when the citizen typed the
# word with accents, the accents must agree too, so "mặt tiền" (façade) is not "mất tiền" (costs money).
Token = tuple[str, str]
_I_Y = str.maketrans("yýỳỷỹỵ", "iíìỉĩị")
_NO_MATCH = object()


def tokenize(text: str, folded: str | None = None) -> list[Token]:
    """The words of a text as (folded, accented) pairs (`folded`: fold(text) when the caller has it already)."""
    words, accented = (fold(text) if folded is None else folded).split(), accented_key(text).split()
    if len(words) != len(accented):  # pragma: no cover - only for characters outside Vietnamese
        accented = words
    return list(zip(words, accented, strict=True))


def i_y_unified(accented: str) -> str:
    """An accented spelling with i/y unified ("kỹ" -> "kĩ"): two spellings of one word agree when these do."""
    return accented.translate(_I_Y)


def _compatible(typed: Token, expected: str | None) -> bool:
    """A typed word agrees with a phrase word (`expected`: its i/y-unified accented form, None if unaccented)."""
    _, accented = typed
    if accented.isascii():
        return True  # the citizen typed no accents: any spelling may be meant
    # A table word without accents ("nha", "anh", "cho") is not the accented word typed ("nhà", "ánh", "chó").
    return expected is not None and i_y_unified(accented) == expected


class _PhraseTable:
    """Multi-word phrases looked up on token lists, longest first (dict lookups: far faster than a regex
    alternation of hundreds of phrases)."""

    def __init__(self, phrases: Mapping[str, object]) -> None:
        # Several spellings may fold alike ("cảm ơn", "cám ơn"): each keeps its own accented form.
        self._table: dict[tuple[str, ...], list[tuple[tuple[str | None, ...], object]]] = {}
        for phrase, value in phrases.items():
            pairs = tokenize(phrase)
            if pairs:
                expected = tuple(i_y_unified(a) if a != f else None for f, a in pairs)
                self._table.setdefault(tuple(f for f, _ in pairs), []).append((expected, value))
        lengths: dict[str, set[int]] = {}
        for key in self._table:
            lengths.setdefault(key[0], set()).add(len(key))
        # Only a phrase's first word starts a lookup; most words start none.
        self._lengths = {first: sorted(found, reverse=True) for first, found in lengths.items()}

    def scan(self, tokens: list[Token]) -> Iterator[tuple[int, int, object]]:
        """(start, end, value) of each phrase found, left to right, longest match first."""
        position, count = 0, len(tokens)
        while position < count:
            for length in self._lengths.get(tokens[position][0], ()):
                window = tokens[position : position + length]
                value = self._match(window)
                if value is not _NO_MATCH:
                    yield position, position + length, value
                    position += length
                    break
            else:
                position += 1

    def _match(self, window: list[Token]) -> object:
        for accented, value in self._table.get(tuple(f for f, _ in window), ()):
            if all(_compatible(token, want) for token, want in zip(window, accented, strict=True)):
                return value
        return _NO_MATCH

    def replace(self, tokens: list[Token], drop: bool = False) -> list[Token]:
        """Tokens with each phrase replaced by its value (tokens; removed when None, or with drop)."""
        result: list[Token] = []
        position = 0
        for start, end, value in self.scan(tokens):
            result.extend(tokens[position:start])
            if value and not drop:
                result.extend(value)  # type: ignore[arg-type]
            position = end
        result.extend(tokens[position:])
        return result


class Lexicon:
    """The table of citizen terms (teencode, abbreviations, legacy terms), filler, small talk, facet cues."""

    def __init__(self, tables: Iterable[Mapping]) -> None:
        tables = list(tables)  # read twice
        replace: dict[str, list[Token]] = {}
        removable: dict[str, None] = {}
        smalltalk: dict[str, str] = {}
        cues: dict[str, str] = {}
        weak_cues: dict[str, str] = {}
        for table in tables:
            for key, value in (table.get("replace") or {}).items():
                replace[str(key)] = tokenize(str(value))
            removable.update((str(item), None) for item in table.get("filler") or [])
            for kind, phrases in (table.get("smalltalk") or {}).items():
                smalltalk.update((str(phrase), str(kind)) for phrase in phrases)
            for section, target in (("facets", cues), ("weak_facets", weak_cues)):
                for facet, phrases in (table.get(section) or {}).items():
                    if facet not in FACETS:
                        raise ValueError(f"terms: unknown facet '{facet}' (expected one of {', '.join(FACETS)})")
                    target.update((str(phrase), facet) for phrase in phrases)
        self._replace = _PhraseTable(replace)
        self._removable = _PhraseTable({**removable, **dict.fromkeys(smalltalk)})
        # Names and aliases need both passes; one table (replacements already stripped of filler) does it
        # in one scan, which halves the cost of building an index of 10,000 procedures.
        self._content = _PhraseTable(
            {**removable, **{key: self._removable.replace(value) or None for key, value in replace.items()}}
        )
        self._smalltalk = _PhraseTable(smalltalk)
        self._follow_up_words = {
            word for table in tables for phrase in table.get("follow_up") or [] for word in fold(str(phrase)).split()
        }
        # Weak cues ("thế nào", "ra công an") ask only when nothing more specific is asked, and then only the
        # first weak facet of the table's order: a cue is (facet, rank), rank 0 for a strong cue.
        weak_order = list(dict.fromkeys(weak_cues.values()))
        self._cues = _PhraseTable(
            {
                **{phrase: (facet, 1 + weak_order.index(facet)) for phrase, facet in weak_cues.items()},
                **{phrase: (facet, 0) for phrase, facet in cues.items()},
            }
        )
        # Matters that are not procedures of this knowledge base (another agency's, a court's, a utility's).
        # Two kinds: other agencies' procedures (an imported national record may answer them) and matters
        # that are no procedure at all (weather, lottery results, complaints).
        sections = [table.get("out_of_scope") or {} for table in tables]
        elsewhere = [str(topic) for section in sections for topic in section.get("elsewhere") or []]
        never = [str(topic) for section in sections for topic in section.get("not_procedures") or []]
        self.out_of_scope = tuple(dict.fromkeys([*elsewhere, *never]))
        self.done_elsewhere = frozenset(elsewhere) - frozenset(never)
        # Words too common in citizens' questions to be a reason to offer a procedure ("giấy", "con").
        self.generic_words = tuple(str(word) for table in tables for word in table.get("generic") or [])
        # Where an official name's qualifier starts ("... cho công dân", "... thực hiện tại cấp tỉnh").
        self._qualifiers = _PhraseTable(
            {str(phrase): True for table in tables for phrase in table.get("name_qualifiers") or []}
        )

    def only_follow_up_words(self, tokens: tuple[str, ...]) -> bool:
        """The words left are only those of a follow-up ("còn", "thì", "sao", "nộp") or none at all."""
        return all(token in self._follow_up_words for token in tokens)

    @classmethod
    def load(cls, extra_file: str | Path | None = None) -> "Lexicon":
        """The bundled table, extended (and overridden) by staff's own YAML file when given."""
        tables = [yaml.safe_load(TERMS_FILE.read_text(encoding="utf-8"))]
        if extra_file:
            tables.append(yaml.safe_load(Path(extra_file).read_text(encoding="utf-8")) or {})
        return cls(tables)

    def phrase_pairs(self, text: str) -> tuple[Token, ...]:
        """Content words of a procedure name or alias as (folded, accented) pairs."""
        return tuple(self._content.replace(tokenize(text)))

    def name_heads(self, name: str) -> list[str]:
        """The head of an official name, before its first qualifier ("Cấp Phiếu lý lịch tư pháp" of
        "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam ..."); empty when the name has no qualifier."""
        words = tokenize(name)
        for start, _, _ in self._qualifiers.scan(words):
            if start >= 2:  # a head of one word ("Cấp") names nothing
                return [" ".join(accented for _, accented in words[:start])]
        return []

    def phrase_tokens(self, text: str) -> tuple[str, ...]:
        """Content tokens of a procedure name or alias (the same treatment as a question)."""
        return tuple(folded for folded, _ in self.phrase_pairs(text))

    def analyze(self, text: str) -> Analysis:
        """Fold, expand, detect facets and small talk, and keep the words that name a procedure.

        Each sentence is read on its own (a phrase never spans two), and facets are read in the sentences
        that ask: context such as "vợ em đã ra xã hỏi" says where someone went, not what they ask.
        """
        sentences = segment(clip_message(text))
        folded_parts: list[str] = []
        kept: list[tuple[Token, int, bool]] = []
        asked: list[tuple[str, int]] = []
        kinds: list[object] = []
        for number, sentence in enumerate(sentences):
            typed = tokenize(sentence.text, sentence.folded)  # folded once, by segment
            folded_parts.extend(folded for folded, _ in typed)
            expanded = self._replace.replace(typed)
            if sentence.asking:
                asked.extend(cue for _, _, cue in self._cues.scan(expanded))  # type: ignore[misc]
            without_cues = self._cues.replace(expanded, drop=True)
            kinds.extend(kind for _, _, kind in self._smalltalk.scan(without_cues))
            kept.extend((token, number, sentence.asking) for token in self._removable.replace(without_cues))
        tokens = tuple(folded for (folded, _), _, _ in kept)
        # "ky" folds to "ki" but carries no accent: only a word typed with diacritics says how it is spelled.
        accents = tuple("" if accented.isascii() else accented for (_, accented), _, _ in kept)
        facets = _facets_asked(asked)
        smalltalk = str(kinds[0]) if kinds and not tokens and not facets else None
        return Analysis(
            " ".join(folded_parts),
            tokens,
            facets,
            smalltalk,
            accents,
            tuple(number for _, number, _ in kept),
            tuple(asking for _, _, asking in kept),
        )


def _facets_asked(found: list[tuple[str, int]]) -> tuple[str, ...]:
    """The facets of the cues found, in FACETS order: every strong one; else the first-ranked weak one."""
    if not found:
        return ()
    rank = min(rank for _, rank in found)
    chosen = {facet for facet, cue_rank in found if cue_rank == rank}
    return tuple(facet for facet in FACETS if facet in chosen)


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
            form = FINAL_Y.sub(r"\1i", form)
            if form != token and form not in variants:
                variants.append(form)
    return variants
