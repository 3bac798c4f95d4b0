"""The in-memory matcher: candidates from the phrase index, procedures ranked, the decision (answer, clarify,
none).

A procedure's score is its best phrase's reading (knowledge/phrases.py), plus how much of the asking sentences
its phrases found in the message explain, plus priors; a small learned reading of the whole message
(knowledge/learned.py) orders the curated procedures it knows. Out-of-scope topics of the terms table
("hộ chiếu", "ly hôn") compete with the procedures: when one is what the question is about, only procedures
named by it are offered (an imported national record), or none.
"""

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from knowledge.learned import PhraseClassifier
from knowledge.normalize import Analysis, Lexicon, default_lexicon
from knowledge.phrases import MessageReading, Phrase, PhraseIndex, PhraseReading
from knowledge.records import ORIGIN_CURATED, ProcedureInfo

ANSWER = "answer"
CLARIFY = "clarify"
NONE = "none"

# Calibrated on labelled questions with `tthc eval` (short and long sets); a score is 0-100.
ANSWER_MIN_SCORE = 55.0  # below this nothing is answered outright
ANSWER_MARGIN = 5.0  # the runner-up must be this far behind, else we ask
CLARIFY_MIN_SCORE = 45.0  # below this nothing fits: an honest "không tìm thấy"
CLARIFY_WINDOW = 25.0  # choices offered: procedures within this distance of the best
MAX_CHOICES = 5
MAX_SUGGESTIONS = 3
# A question whose words all appear in the official names of this many procedures names a category
# ("căn cước", "kết hôn"), unless it is exactly one procedure's name: we ask instead of guessing.
CATEGORY_SIZE = 3

FIT_WEIGHT = 0.30  # share of the asking sentences' words the procedure's phrases found in the message explain
FOUND_COVERAGE = 0.5  # a phrase is found in a message when this share of it stands together in one sentence
CANDIDATE_PHRASES = 32
# An answer needs telling words in common (not the terms table's generic ones) worth this share of an
# average word's idf: "khai sinh" or "kết hôn" passes; "giấy tờ" + "con" never do.
MIN_EVIDENCE = 0.7
# Derived short forms of long official names ("Cấp Phiếu lý lịch tư pháp" of "Cấp Phiếu lý lịch tư pháp cho
# công dân ...") stand for records without aliases; they are a little less specific than the name itself.
HEAD_PHRASE_SHARE = 0.9
# Points a procedure earns per unit of the learned classifier's margin above -1 (knowledge/learned.py).
LEARNED_WEIGHT = 20.0
# Training solves a system the size of the learnt phrases (time and memory grow with their square): beyond this
# many, the index goes without the learned reading rather than stall every reload (bundled: about 1,000).
MAX_LEARNT_PHRASES = 2500
# An out-of-scope topic ("hộ chiếu", "ly hôn") said in full and scoring within this of the best procedure is
# what the question is about: only procedures its words name are offered, or none.
OUT_OF_SCOPE_MARGIN = 0.0
# Priors break near-ties: citizens mostly ask about commune procedures, curated entries are richer,
# and popular procedures are more likely meant by a vague question.
CURATED_BONUS = 2.0
COMMUNE_BONUS = 1.0
POPULARITY_BONUS = 8.0
# The question is exactly a procedure's name or alias: strong evidence over longer near-namesakes
# ("đăng ký khai sinh" vs "đăng ký lại khai sinh", whose "lại" weighs little among 2,600 procedures).
EXACT_BONUS = 5.0
POPULAR_FILE = Path(__file__).parent / "popular.yaml"
# Official names qualify their head: "Cấp Phiếu lý lịch tư pháp | cho công dân ...". Parentheses are notes.
_PARENTHESES = re.compile(r"\([^)]*\)")


@dataclass(frozen=True)
class Hit:
    """One ranked procedure."""

    code: str
    name: str
    level: str
    score: float  # 0-100, as shown
    rank_score: float = field(default=0.0, compare=False, repr=False)  # uncapped, with priors: decides
    evidence: float = field(default=0.0, compare=False, repr=False)  # idf weight of the telling words in common
    distinctive: bool = field(default=False, compare=False, repr=False)  # shares a distinctive word
    support: float = field(default=0.0, compare=False, repr=False)  # the lexical score: does anything fit?


@dataclass(frozen=True)
class SearchResult:
    """The matcher's reading of one question."""

    query: str
    analysis: Analysis
    decision: str
    hits: tuple[Hit, ...]

    @property
    def facets(self) -> tuple[str, ...]:
        """What the question asks about."""
        return self.analysis.facets

    @property
    def choices(self) -> tuple[Hit, ...]:
        """The procedures to offer as buttons when the decision is clarify."""
        if not self.hits:
            return ()
        best = max(hit.support for hit in self.hits)
        close = [hit for hit in self.hits if hit.support >= max(CLARIFY_MIN_SCORE, best - CLARIFY_WINDOW)]
        return tuple(close[:MAX_CHOICES])

    @property
    def suggestions(self) -> tuple[Hit, ...]:
        """Procedures worth offering after an honest "none": those sharing a distinctive word with the question.

        A word every other procedure uses ("giấy", "con", "đăng ký") is no reason to offer one: a question
        about a passport is never offered "Khai báo tạm vắng".
        """
        return tuple(hit for hit in self.hits if hit.distinctive)[:MAX_SUGGESTIONS]

    def to_json(self, limit: int = 5) -> dict:
        """The `tthc search --json` object of DESIGN.md."""
        return {
            "query": self.query,
            "decision": self.decision,
            "facets": list(self.facets),
            "results": [{"code": hit.code, "name": hit.name, "score": hit.score} for hit in self.hits[:limit]],
        }


class SearchIndex:
    """Every procedure's names and aliases, tokenised once; answers questions without touching a database."""

    def __init__(
        self,
        procedures: Sequence[ProcedureInfo],
        lexicon: Lexicon | None = None,
        popularity: Mapping[str, float] | None = None,
    ) -> None:
        self.lexicon = lexicon or default_lexicon()
        self.procedures = list(procedures)
        self.by_code = {info.code: info for info in self.procedures}
        self._owner_of = {info.code: owner for owner, info in enumerate(self.procedures)}
        count = len(self.procedures)
        # Owners 0..n-1 are the procedures; after them come the out-of-scope topics of the terms table
        # ("hộ chiếu", "ly hôn"), indexed like procedures so that they compete with them for a question.
        sources = [_phrases_of(info, self.lexicon) for info in self.procedures]
        sources.extend([(topic, 1.0, True)] for topic in self.lexicon.out_of_scope)
        self._phrases = PhraseIndex(sources, self.lexicon, documents=count)

        # The category rule (_names_a_category) reads the words of the procedures' official names.
        self._names = {(owner, tokens) for owner in range(count) for tokens in self._phrases.names[owner]}
        self._name_owners: dict[str, set[int]] = defaultdict(set)
        for owner, tokens in self._names:
            for token in tokens:
                self._name_owners[token].add(owner)

        mixed_origins = len({info.origin for info in self.procedures}) > 1
        self._prior = [
            (CURATED_BONUS if mixed_origins and info.origin == ORIGIN_CURATED else 0.0)
            + (COMMUNE_BONUS if mixed_origins and "xã" in info.level.lower() else 0.0)
            for info in self.procedures
        ] + [0.0] * len(self.lexicon.out_of_scope)
        popularity = popularity or {}
        top_popularity = max(popularity.values(), default=0.0) or 1.0
        self._popularity_bonus = {
            info.code: POPULARITY_BONUS * popularity.get(info.code, 0.0) / top_popularity for info in self.procedures
        }
        self._topic_procedures = self._procedures_named_by_topics()
        self._learnt, self._classifier = self._learn()

    def _learn(self) -> tuple[frozenset[int], PhraseClassifier | None]:
        """The learned reading: of curated procedures (reviewed, with aliases in citizens' words) only, and of
        no more than MAX_LEARNT_PHRASES of their phrases."""
        curated = {
            owner for owner, info in enumerate(self.procedures) if info.origin == ORIGIN_CURATED and info.aliases
        }
        if LEARNED_WEIGHT <= 0:
            return frozenset(), None
        phrases = self._phrases
        learnt = [
            (tuple(phrases.words_list[token_id] for token_id in sequence), owner)
            for sequence, owner in zip(phrases.sequences, phrases.owner_of, strict=True)
            if owner in curated
        ]
        if len(learnt) > MAX_LEARNT_PHRASES:
            return frozenset(), None
        classifier = PhraseClassifier.train([tokens for tokens, _ in learnt], [owner for _, owner in learnt])
        return (frozenset(curated), classifier) if classifier else (frozenset(), None)

    def _procedures_named_by_topics(self) -> list[frozenset[int]]:
        """For each out-of-scope topic, the procedures whose official name holds its words in order
        ("Cấp hộ chiếu phổ thông" for "hộ chiếu"); imported national records usually are the only ones.

        Only topics that are other agencies' procedures ("hộ chiếu", "tách thửa") can be named so; matters
        that are no procedure at all ("thời tiết", "xổ số" results) never are.
        """
        procedures, phrases = len(self.procedures), self._phrases
        topics: dict[int, tuple[int, ...]] = {}
        for sequence, owner in zip(phrases.sequences, phrases.owner_of, strict=True):
            if owner >= procedures and self.lexicon.out_of_scope[owner - procedures] in self.lexicon.done_elsewhere:
                topics[owner - procedures] = sequence
        by_first_word: dict[int, list[int]] = defaultdict(list)
        for topic, sequence in topics.items():
            by_first_word[sequence[0]].append(topic)
        named: list[set[int]] = [set() for _ in self.lexicon.out_of_scope]
        for sequence, owner, is_name in zip(phrases.sequences, phrases.owner_of, phrases.naming, strict=True):
            if owner >= procedures or not is_name:
                continue
            for start, token_id in enumerate(sequence):
                for topic in by_first_word.get(token_id, ()):
                    if sequence[start : start + len(topics[topic])] == topics[topic]:
                        named[topic].add(owner)
        return [frozenset(owners) for owners in named]

    def __len__(self) -> int:
        return len(self.procedures)

    @property
    def phrase_count(self) -> int:
        """How many distinct names and aliases are indexed."""
        return len(self._phrases)

    def search(self, text: str, limit: int = 5) -> SearchResult:
        """Rank procedures for a question and decide: answer, clarify or none."""
        analysis = self.lexicon.analyze(text)
        hits, out_of_scope = self._rank(analysis)
        decision = NONE if out_of_scope else self._decide(hits)
        if hits and decision != CLARIFY and not out_of_scope and self._names_a_category(analysis.tokens, hits[0].code):
            # "căn cước", "đk": words that name several procedures alike; we ask which one.
            decision = CLARIFY
        if decision != ANSWER:
            # Popularity orders the choices of a vague question; it never decides that one is meant.
            hits.sort(key=lambda hit: hit.rank_score + self._popularity_bonus[hit.code], reverse=True)
        return SearchResult(text, analysis, decision, tuple(hits[: max(limit, 0)]))

    def _names_a_category(self, tokens: tuple[str, ...], top_code: str) -> bool:
        owners_sets = [self._name_owners.get(token, set()) for token in dict.fromkeys(tokens)]
        if not owners_sets:
            return False
        owners = set.intersection(*owners_sets)
        if self.by_code[top_code].origin == ORIGIN_CURATED:  # as in _decide: national namesakes do not count
            owners = {owner for owner in owners if self.procedures[owner].origin == ORIGIN_CURATED}
        if len(owners) < CATEGORY_SIZE:
            return False
        return (self._owner_of[top_code], tokens) not in self._names

    def _read_candidates(
        self, analysis: Analysis, message: MessageReading
    ) -> tuple[dict[int, PhraseReading], dict[int, float]]:
        """Each owner's best phrase reading, and its lexical score: that reading, the fit of the asking
        sentences by all its phrases found in the message, and its prior."""
        phrases, procedures = self._phrases, len(self.procedures)
        query_text = " ".join(analysis.tokens)
        best: dict[int, PhraseReading] = {}
        found: dict[int, set[int]] = defaultdict(set)
        for phrase_id in phrases.candidates(message, CANDIDATE_PHRASES):
            owner = phrases.owner_of[phrase_id]
            reading = phrases.read_phrase(phrase_id, message)
            if owner >= procedures and not reading.whole:
                continue  # an out-of-scope topic counts only when said in full ("khám bệnh", not "khám")
            if phrases.texts[phrase_id] == query_text:
                reading = replace(reading, score=reading.score + EXACT_BONUS)
            if reading.local >= FOUND_COVERAGE:
                found[owner].update(reading.words)
            if owner not in best or reading.score > best[owner].score:
                best[owner] = reading
        # How much of the question a procedure explains: the words of all its phrases found in the message
        # ("đổi địa chỉ" + "giấy chứng nhận đăng ký hộ kinh doanh"), not of one phrase alone.
        lexical = {
            owner: reading.score
            + 100.0 * FIT_WEIGHT * phrases.fit(message, found[owner] | reading.words)
            + self._prior[owner]
            for owner, reading in best.items()
        }
        return best, lexical

    def _rank(self, analysis: Analysis, limit: int = 50) -> tuple[list[Hit], bool]:
        """The procedures ranked for a message, and whether the message is about a matter nothing here handles."""
        if not analysis.tokens or not len(self._phrases):
            return [], False
        message = self._phrases.read_message(analysis)
        if message is None:
            return [], False
        best, lexical = self._read_candidates(analysis, message)
        procedures = len(self.procedures)
        # The learned reading of the whole message orders the procedures it has learnt (a bonus for those it
        # finds plausible, a margin above -1). It knows nothing of the others (imported national records), so
        # it never lifts a learnt procedure past one of them: between the two, the lexical reading decides.
        # Whether anything fits at all is the lexical reading's call too (Hit.support).
        margins = self._classifier.margins(analysis.tokens) if self._classifier else {}
        unlearnt = max(
            (lexical[owner] for owner in best if owner < procedures and owner not in self._learnt), default=0.0
        )
        combined = dict(lexical)
        for owner in best.keys() & self._learnt:
            lifted = lexical[owner] + LEARNED_WEIGHT * max(margins.get(owner, -1.0) + 1.0, 0.0)
            combined[owner] = lifted if lexical[owner] >= unlearnt else min(lifted, unlearnt)
        # Sort on the uncapped score so priors still separate two perfect matches.
        ranked = sorted(((combined[owner], owner) for owner in best if owner < procedures), reverse=True)
        topics = [(lexical[owner], owner) for owner in best if owner >= procedures]
        strongest = max((lexical[owner] for _, owner in ranked), default=0.0)
        said = [(score, topic - procedures) for score, topic in topics if score >= strongest - OUT_OF_SCOPE_MARGIN]
        out_of_scope = False
        if said:
            # The question is about an out-of-scope topic ("hộ chiếu"). Procedures named by the topic are
            # about it (an imported national record "Cấp hộ chiếu phổ thông"): they alone are offered, in the
            # order of their own fit, with the topic's evidence. With none, nothing here handles the question.
            about: dict[int, float] = {}
            for score, topic in said:
                for owner in self._topic_procedures[topic]:
                    about[owner] = max(about.get(owner, 0.0), score)
            for owner, score in about.items():
                if owner not in best:  # named by the topic, not among the candidates read
                    best[owner] = PhraseReading(0.0, 0.0, frozenset(), 0.0, False)
                    lexical[owner] = combined[owner] = self._prior[owner]
                combined[owner] += score
                lexical[owner] = max(lexical[owner], score + self._prior[owner])
            if about:
                ranked = sorted(((combined[owner], owner) for owner in about), reverse=True)
            out_of_scope = not about  # the procedures stay listed: the dialog may suggest some
        distinctive = self._phrases.distinctive
        return [
            Hit(
                self.procedures[owner].code,
                self.procedures[owner].name,
                self.procedures[owner].level,
                round(max(min(lexical[owner], 100.0), 0.0), 1),
                float(score),
                best[owner].telling,
                any(distinctive[token_id] for token_id in best[owner].words),
                lexical[owner],
            )
            for score, owner in ranked[:limit]
        ], out_of_scope

    def _decide(self, hits: list[Hit]) -> str:
        if not hits or hits[0].support < CLARIFY_MIN_SCORE:
            return NONE
        rivals = hits[1:]
        if self.by_code[hits[0].code].origin == ORIGIN_CURATED:
            # Curated entries are the procedures the commune serves: an imported national namesake
            # (a provincial or ministerial variant) does not make the question ambiguous.
            rivals = [hit for hit in rivals if self.by_code[hit.code].origin == ORIGIN_CURATED]
        runner_up = rivals[0].rank_score if rivals else 0.0
        if hits[0].evidence < MIN_EVIDENCE * self._phrases.mean_idf:
            return CLARIFY  # only common words in common ("giấy", "con"): never answer on that alone
        if hits[0].support >= ANSWER_MIN_SCORE and hits[0].rank_score - runner_up >= ANSWER_MARGIN:
            return ANSWER
        return CLARIFY


def _phrases_of(info: ProcedureInfo, lexicon: Lexicon) -> list[Phrase]:
    """A procedure's phrases (name, short name, aliases): the share of a score each may earn, and whether it
    is an official name (or the head of one).

    A record without aliases (an imported national record) also gets the head of its official name, before
    any qualifier: citizens say "lý lịch tư pháp", not "... cho công dân Việt Nam mà không xác định được nơi
    thường trú".
    """
    phrases = [(info.name, 1.0, True), (info.short_name, 1.0, True), *((alias, 1.0, False) for alias in info.aliases)]
    if not info.aliases:
        heads = lexicon.name_heads(_PARENTHESES.sub(" ", info.name))
        phrases.extend((head, HEAD_PHRASE_SHARE, True) for head in heads)
    return phrases


def bundled_popularity() -> dict[str, float]:
    """The bundled "most asked" order as weights in (0, 1], most asked = 1."""
    codes = [str(code) for code in yaml.safe_load(POPULAR_FILE.read_text(encoding="utf-8")) or []]
    return {code: (len(codes) - rank) / len(codes) for rank, code in enumerate(codes)}
