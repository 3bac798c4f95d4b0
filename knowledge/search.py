"""The in-memory matcher: folded-token inverted index, weighted overlap, rapidfuzz re-ranking, decision."""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from knowledge.normalize import Analysis, Lexicon, default_lexicon, same_accents, telex_variants
from knowledge.records import ProcedureInfo

ANSWER = "answer"
CLARIFY = "clarify"
NONE = "none"

# Calibrated on labelled questions with `tthc eval` (see README "Matching"): a score is 0-100.
ANSWER_MIN_SCORE = 55.0  # below this nothing is answered outright
ANSWER_MARGIN = 5.0  # the runner-up must be this far behind, else we ask
CLARIFY_MIN_SCORE = 52.0  # below this nothing fits: an honest "không tìm thấy"
CLARIFY_WINDOW = 18.0  # choices offered: procedures within this distance of the best
MAX_CHOICES = 5
# A question whose words all appear in the official names of this many procedures names a category
# ("căn cước", "kết hôn"), unless it is exactly one procedure's name: we ask instead of guessing.
CATEGORY_SIZE = 3

# Weights of the score: how much of the question the phrase covers, how much of the phrase the
# question covers (penalises long, more specific procedures), and character similarity (word order, typos).
QUERY_COVERAGE_WEIGHT = 0.6
PHRASE_COVERAGE_WEIGHT = 0.4
OVERLAP_SHARE = 0.8
CANDIDATE_PHRASES = 60
FUZZY_TOKEN_CUTOFF = 75.0
TELEX_CONFIDENCE = 0.95
FUZZY_CONFIDENCE = 0.85
BIGRAM_WEIGHT = 0.1  # adjacent word pairs shared with the phrase ("con lai" vs "khai sinh lại")
ACCENT_MISMATCH_SHARE = 0.6  # share of a word's weight lost when its typed accents differ from the alias
UNKNOWN_TOKEN_WEIGHT = 0.5
# An answer needs words in common worth this share of an average word's idf (a word like "khai sinh" or
# "kết hôn" passes; "giấy" + "con" alone do not).
MIN_EVIDENCE = 0.85  # share of the mean idf an unknown word weighs in the question
# Priors break near-ties: citizens mostly ask about commune procedures, curated entries are richer,
# and popular procedures are more likely meant by a vague question.
CURATED_BONUS = 2.0
COMMUNE_BONUS = 1.0
POPULARITY_BONUS = 4.0
# The question is exactly a procedure's name or alias: strong evidence over longer near-namesakes
# ("đăng ký khai sinh" vs "đăng ký lại khai sinh", whose "lại" weighs little among 2,600 procedures).
EXACT_BONUS = 5.0
# Words of the question explained by the procedure's other aliases (not the best-matching one) count too.
OTHER_ALIASES_WEIGHT = 0.25
POPULAR_FILE = Path(__file__).parent / "popular.yaml"


@dataclass(frozen=True)
class Hit:
    """One ranked procedure."""

    code: str
    name: str
    level: str
    score: float  # 0-100, as shown
    rank_score: float = field(default=0.0, compare=False, repr=False)  # uncapped, with priors: decides
    evidence: float = field(default=0.0, compare=False, repr=False)  # idf weight of the words in common


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
        best = max(hit.score for hit in self.hits)
        close = [hit for hit in self.hits if hit.score >= max(CLARIFY_MIN_SCORE, best - CLARIFY_WINDOW)]
        return tuple(close[:MAX_CHOICES])

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
        popularity = popularity or {}
        mixed_origins = len({info.origin for info in self.procedures}) > 1

        phrase_texts: list[str] = []
        phrase_owner: list[int] = []
        token_ids: dict[str, int] = {}
        postings: list[list[int]] = []
        proc_tokens: list[set[int]] = []
        phrase_token_ids: list[tuple[int, ...]] = []
        phrase_accents: list[str] = []
        self._name_owners: dict[str, set[int]] = defaultdict(set)
        self._names: set[tuple[int, tuple[str, ...]]] = set()
        for owner, info in enumerate(self.procedures):
            seen_phrases: set[tuple[str, ...]] = set()
            owned: set[int] = set()
            for number, text in enumerate((info.name, info.short_name, *info.aliases)):
                pairs = self.lexicon.phrase_pairs(text)
                tokens = tuple(folded for folded, _ in pairs)
                if number < 2:
                    self._names.add((owner, tokens))
                    for token in tokens:
                        self._name_owners[token].add(owner)
                if not tokens or tokens in seen_phrases:
                    continue
                seen_phrases.add(tokens)
                phrase_id = len(phrase_texts)
                phrase_texts.append(" ".join(tokens))
                # One string per phrase (not a dict): a 10,000-procedure index stays small.
                accented_text = " ".join(accented for _, accented in pairs)
                phrase_accents.append(accented_text if accented_text != phrase_texts[-1] else "")
                phrase_owner.append(owner)
                ids = tuple(dict.fromkeys(token_ids.setdefault(token, len(token_ids)) for token in tokens))
                for token_id in ids:
                    if token_id == len(postings):
                        postings.append([])
                    postings[token_id].append(phrase_id)
                phrase_token_ids.append(ids)
                owned.update(ids)
            proc_tokens.append(owned)

        document_frequency = np.zeros(len(token_ids), dtype=np.float64)
        for owned in proc_tokens:
            for token_id in owned:
                document_frequency[token_id] += 1
        count = max(len(self.procedures), 1)
        self._idf = np.log1p(count / np.maximum(document_frequency, 1.0))
        self._mean_idf = float(self._idf.mean()) if len(self._idf) else 1.0
        self._vocabulary = token_ids
        self._vocabulary_list = list(token_ids)
        self._postings = [np.asarray(ids, dtype=np.int32) for ids in postings]
        owners_of: list[list[int]] = [[] for _ in token_ids]
        for owner, owned in enumerate(proc_tokens):
            for token_id in owned:
                owners_of[token_id].append(owner)
        self._owner_postings = [np.asarray(owners, dtype=np.int32) for owners in owners_of]
        self._phrase_texts = phrase_texts
        self._phrase_accents = phrase_accents
        self._phrase_owner = np.asarray(phrase_owner, dtype=np.int32)
        self._phrase_weight = np.asarray(
            [sum(self._idf[token_id] for token_id in ids) for ids in phrase_token_ids], dtype=np.float64
        )
        top_popularity = max(popularity.values(), default=0.0) or 1.0
        self._prior = np.asarray(
            [
                (CURATED_BONUS if mixed_origins and info.origin == "curated" else 0.0)
                + (COMMUNE_BONUS if mixed_origins and "xã" in info.level.lower() else 0.0)
                for info in self.procedures
            ],
            dtype=np.float64,
        )
        self._popularity_bonus = {
            info.code: POPULARITY_BONUS * popularity.get(info.code, 0.0) / top_popularity for info in self.procedures
        }
        self._resolve = lru_cache(maxsize=20_000)(self._resolve_uncached)

    def __len__(self) -> int:
        return len(self.procedures)

    @property
    def phrase_count(self) -> int:
        """How many distinct names and aliases are indexed."""
        return len(self._phrase_texts)

    def _resolve_uncached(self, token: str) -> tuple[int, float] | None:
        """The indexed word a question's word stands for, with a confidence; None when nothing is close."""
        if token in self._vocabulary:
            return self._vocabulary[token], 1.0
        for variant in telex_variants(token):
            if variant in self._vocabulary:
                return self._vocabulary[variant], TELEX_CONFIDENCE
        if len(token) < 3 or token.isdigit():
            return None
        # OSA counts a swap of two letters ("khia", "tahc") as one edit, as people make it.
        match = process.extractOne(
            token, self._vocabulary_list, scorer=OSA.normalized_similarity, score_cutoff=FUZZY_TOKEN_CUTOFF / 100
        )
        if match is None:
            return None
        return self._vocabulary[match[0]], FUZZY_CONFIDENCE * match[1]

    def search(self, text: str, limit: int = 5) -> SearchResult:
        """Rank procedures for a question and decide: answer, clarify or none."""
        analysis = self.lexicon.analyze(text)
        hits = self._rank(analysis.tokens, analysis.accents)
        decision = self._decide(hits)
        if decision == ANSWER and self._names_a_category(analysis.tokens, hits[0].code):
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
        if self.by_code[top_code].origin == "curated":  # as in _decide: national namesakes do not count
            owners = {owner for owner in owners if self.procedures[owner].origin == "curated"}
        if len(owners) < CATEGORY_SIZE:
            return False
        return (self._owner_of[top_code], tokens) not in self._names

    def _rank(self, tokens: tuple[str, ...], accents: tuple[str, ...] = (), limit: int = 50) -> list[Hit]:
        if not tokens or not self._phrase_texts:
            return []
        resolved: dict[int, float] = {}
        query_weight = 0.0
        for token in dict.fromkeys(tokens):
            found = self._resolve(token)
            if found is None:
                query_weight += UNKNOWN_TOKEN_WEIGHT * self._mean_idf
                continue
            token_id, confidence = found
            if confidence > resolved.get(token_id, 0.0):
                resolved[token_id] = confidence
        if not resolved:
            return []
        query_weight += sum(self._idf[token_id] for token_id in resolved)
        overlap = np.zeros(len(self._phrase_texts), dtype=np.float64)
        owner_overlap = np.zeros(len(self.procedures), dtype=np.float64)
        for token_id, confidence in resolved.items():
            weight = confidence * self._idf[token_id]
            overlap[self._postings[token_id]] += weight
            owner_overlap[self._owner_postings[token_id]] += weight
        base = QUERY_COVERAGE_WEIGHT * overlap / query_weight + PHRASE_COVERAGE_WEIGHT * overlap / self._phrase_weight
        count = min(CANDIDATE_PHRASES, int(np.count_nonzero(overlap)))
        candidates = np.argpartition(-base, count - 1)[:count] if count < len(base) else np.flatnonzero(overlap)
        query_text = " ".join(tokens)
        typed = [(token, accented) for token, accented in zip(tokens, accents, strict=False) if accented]
        query_bigrams = set(zip(tokens, tokens[1:], strict=False))
        best: dict[int, float] = defaultdict(float)
        evidence: dict[int, float] = {}
        for phrase_id in candidates:
            if overlap[phrase_id] <= 0:
                continue
            similarity = fuzz.ratio(query_text, self._phrase_texts[phrase_id]) / 100.0
            phrase_base = base[phrase_id]
            if typed and self._phrase_accents[phrase_id]:
                # Typed accents that disagree ("lai" typed "lại" vs "con lai") count as a weaker match.
                spelled = dict(
                    zip(self._phrase_texts[phrase_id].split(), self._phrase_accents[phrase_id].split(), strict=True)
                )
                disagree = sum(
                    self._idf[self._vocabulary[token]]
                    for token, accented in typed
                    if token in spelled and spelled[token] != token and not same_accents(accented, spelled[token])
                )
                if disagree:
                    agreed = overlap[phrase_id] - ACCENT_MISMATCH_SHARE * disagree
                    phrase_base = (
                        QUERY_COVERAGE_WEIGHT * agreed / query_weight
                        + PHRASE_COVERAGE_WEIGHT * agreed / self._phrase_weight[phrase_id]
                    )
            if query_bigrams:
                words = self._phrase_texts[phrase_id].split()
                shared = len(query_bigrams & set(zip(words, words[1:], strict=False))) / len(query_bigrams)
                similarity_bonus = BIGRAM_WEIGHT * shared
            else:
                similarity_bonus = 0.0
            owner = int(self._phrase_owner[phrase_id])
            elsewhere = (owner_overlap[owner] - overlap[phrase_id]) / query_weight
            score = 100.0 * (
                OVERLAP_SHARE * phrase_base
                + (1 - OVERLAP_SHARE) * similarity
                + OTHER_ALIASES_WEIGHT * elsewhere
                + similarity_bonus
            )
            if self._phrase_texts[phrase_id] == query_text:
                score += EXACT_BONUS
            if score > best[owner]:
                best[owner] = score
                evidence[owner] = float(overlap[phrase_id])
        # Sort on the uncapped score so priors still separate two perfect matches.
        ranked = sorted(((score + self._prior[owner], owner) for owner, score in best.items()), reverse=True)
        return [
            Hit(
                self.procedures[owner].code,
                self.procedures[owner].name,
                self.procedures[owner].level,
                round(min(float(score), 100.0), 1),
                float(score),
                evidence[owner],
            )
            for score, owner in ranked[:limit]
        ]

    def _decide(self, hits: list[Hit]) -> str:
        if not hits or hits[0].rank_score < CLARIFY_MIN_SCORE:
            return NONE
        rivals = hits[1:]
        if self.by_code[hits[0].code].origin == "curated":
            # Curated entries are the procedures the commune serves: an imported national namesake
            # (a provincial or ministerial variant) does not make the question ambiguous.
            rivals = [hit for hit in rivals if self.by_code[hit.code].origin == "curated"]
        runner_up = rivals[0].rank_score if rivals else 0.0
        if hits[0].evidence < MIN_EVIDENCE * self._mean_idf:
            return CLARIFY  # only common words in common ("giấy", "con"): never answer on that alone
        if hits[0].rank_score >= ANSWER_MIN_SCORE and hits[0].rank_score - runner_up >= ANSWER_MARGIN:
            return ANSWER
        return CLARIFY


def bundled_popularity() -> dict[str, float]:
    """The bundled "most asked" order as weights in (0, 1], most asked = 1."""
    codes = [str(code) for code in yaml.safe_load(POPULAR_FILE.read_text(encoding="utf-8")) or []]
    return {code: (len(codes) - rank) / len(codes) for rank, code in enumerate(codes)}
