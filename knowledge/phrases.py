"""The phrase index under the matcher: every name and alias tokenised once, and how well one phrase is found in
a message.

A phrase scores by how much of it the message contains (phrase coverage, read in a window of one sentence,
its words weighted by idf), by its word order, and by the weight of the words in common. None of these shrinks
as the message grows: a question that names a procedure in its fourth sentence scores like one that names it
alone. Words of the sentences that ask the question weigh fully; the context before them a little less.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from knowledge.normalize import Analysis, Lexicon, i_y_unified, telex_variants

# The parts of a phrase's score (with the fit of the asking sentences, search.FIT_WEIGHT, they sum to 1 for a
# phrase said exactly, alone).
LOCAL_WEIGHT = 0.45  # share of the phrase found together in one sentence (its idf weight)
SPREAD_WEIGHT = 0.10  # share of the phrase found anywhere in the message
ORDER_WEIGHT = 0.15  # share of the phrase's adjacent word pairs found in the same order
# More words in common make a more specific match ("đổi địa chỉ hộ kinh doanh" over "đăng ký hộ kinh doanh"
# when both are said), up to this many average words.
SPECIFIC_WEIGHT = 0.15
SPECIFIC_EVIDENCE = 4.0
# A phrase's words in common must weigh this many average words for full strength ("giấy" + "con" do not).
FULL_EVIDENCE = 1.6
# Words of the context sentences weigh less than those of the asking ones: the procedure is usually named
# where the question is; context names what happened ("mẹ tôi mất") and other procedures in passing.
CONTEXT_WEIGHT = 0.85
CONTEXT_DECAY = 0.9  # and each sentence further from the question a little less
WINDOW_SLACK = 2  # a phrase's words may be spread over twice its length plus this many words of one sentence
MAX_HITS_PER_PHRASE = 40
FUZZY_TOKEN_CUTOFF = 75.0
TELEX_CONFIDENCE = 0.95
FUZZY_CONFIDENCE = 0.85
ACCENT_MISMATCH_SHARE = 0.6  # share of a word's weight lost when its typed accents differ from the phrase's
UNKNOWN_TOKEN_WEIGHT = 0.5  # share of the mean idf an unknown word weighs in the question
# A word is distinctive (worth offering a procedure for, when nothing is answered) when at most this share
# of the owners use it and the terms table does not list it as generic ("giấy", "con", "đăng ký").
DISTINCTIVE_MAX_SHARE = 0.35

# One phrase of an owner: its text, the share of a score it may earn, and whether it is an official name.
Phrase = tuple[str, float, bool]


@dataclass
class MessageReading:
    """A question's words resolved against the index's vocabulary, position by position."""

    token_ids: list[int] = field(default_factory=list)  # -1 for a word the index does not know
    confidence: list[float] = field(default_factory=list)  # 1.0 exact, less for a Telex or typo reading
    value: list[float] = field(default_factory=list)  # confidence x the weight of the word's sentence
    sentence: list[int] = field(default_factory=list)
    accents: list[str] = field(default_factory=list)  # as typed (i/y unified), "" when typed without accents
    positions: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))  # token id -> positions
    asked: dict[int, float] = field(default_factory=dict)  # token id -> its idf x confidence in asking sentences
    asked_weight: float = 0.0  # all words of the asking sentences, unknown ones included
    pairs: set[tuple[int, int]] = field(default_factory=set)  # adjacent words in one sentence
    near_pairs: set[tuple[int, int]] = field(default_factory=set)  # one word apart ("khai sinh cho con")
    typed_accents: bool = False  # some word was typed with its accents


@dataclass(frozen=True)
class PhraseReading:
    """How well one phrase is found in a message."""

    score: float  # 0-100 before the fit of the asking sentences
    telling: float  # idf weight of the words in common that are not generic ("khai sinh", not "giấy" or "con")
    words: frozenset[int]  # the phrase's words found in the message
    local: float  # share of the phrase found together in one sentence
    whole: bool  # every word of the phrase found together in one sentence, with agreeing accents


class PhraseIndex:
    """Owners' phrases, tokenised once: vocabulary, idf (over the first `documents` owners), postings."""

    def __init__(self, sources: Sequence[Sequence[Phrase]], lexicon: Lexicon, documents: int) -> None:
        self.lexicon = lexicon
        self.texts: list[str] = []
        self.owner_of: list[int] = []
        self.share: list[float] = []
        self.naming: list[bool] = []  # the phrase is an official name (or its head), not an alias
        self.sequences: list[tuple[int, ...]] = []
        self._accents: list[str] = []
        self.names: list[list[tuple[str, ...]]] = []  # per owner: its name and short name, as folded tokens
        self.vocabulary: dict[str, int] = {}
        postings: list[list[int]] = []
        owner_words: list[set[int]] = []
        normalised: dict[str, tuple] = {}  # national records repeat their name as short name
        for phrases in sources:
            seen: set[tuple[str, ...]] = set()
            owned: set[int] = set()
            names: list[tuple[str, ...]] = []
            for number, (text, share, is_name) in enumerate(phrases):
                pairs = normalised.get(text)
                if pairs is None:
                    pairs = normalised[text] = lexicon.phrase_pairs(text)
                tokens = tuple(folded for folded, _ in pairs)
                if number < 2:
                    names.append(tokens)
                if not tokens or tokens in seen:
                    continue
                seen.add(tokens)
                phrase_id = len(self.texts)
                self.texts.append(" ".join(tokens))
                # One string per phrase (not a dict): a 10,000-procedure index stays small.
                accented_text = " ".join(accented for _, accented in pairs)
                self._accents.append(accented_text if accented_text != self.texts[-1] else "")
                self.owner_of.append(len(owner_words))
                self.share.append(share)
                self.naming.append(is_name)
                sequence = tuple(self.vocabulary.setdefault(token, len(self.vocabulary)) for token in tokens)
                for token_id in dict.fromkeys(sequence):
                    if token_id == len(postings):
                        postings.append([])
                    postings[token_id].append(phrase_id)
                self.sequences.append(sequence)
                owned.update(sequence)
            owner_words.append(owned)
            self.names.append(names)

        # Word weights come from the first `documents` owners alone (the procedures): other owners (the
        # out-of-scope topics) must not change how a question about a procedure scores.
        frequency = np.zeros(len(self.vocabulary), dtype=np.float64)
        for owned in owner_words[:documents]:
            for token_id in owned:
                frequency[token_id] += 1
        count = max(documents, 1)
        idf = np.log1p(count / np.maximum(frequency, 1.0))
        self.mean_idf = float(idf.mean()) if len(idf) else 1.0
        generic = {token for word in lexicon.generic_words for token in lexicon.phrase_tokens(word)}
        self.generic = frozenset(self.vocabulary[token] for token in generic if token in self.vocabulary)
        self.distinctive = [
            share <= DISTINCTIVE_MAX_SHARE * count and token not in generic
            for token, share in zip(self.vocabulary, frequency, strict=True)
        ]
        self.words_list = list(self.vocabulary)
        self.postings = [np.asarray(ids, dtype=np.int32) for ids in postings]
        # Plain lists: indexing a list in the per-phrase loop is several times faster than a numpy array.
        self.idf = idf.tolist()
        self.weight = [sum(self.idf[token_id] for token_id in dict.fromkeys(ids)) for ids in self.sequences]
        self._weight_array = np.asarray(self.weight, dtype=np.float64)
        self._idf_array = idf
        self.resolve = lru_cache(maxsize=20_000)(self._resolve_uncached)
        self._shape = lru_cache(maxsize=50_000)(self._shape_uncached)

    def __len__(self) -> int:
        return len(self.texts)

    def _resolve_uncached(self, token: str, typed_with_accents: bool) -> tuple[int, float] | None:
        """The indexed word a question's word stands for, with a confidence; None when nothing is close."""
        if token in self.vocabulary:
            return self.vocabulary[token], 1.0
        for variant in telex_variants(token):
            if variant in self.vocabulary:
                return self.vocabulary[variant], TELEX_CONFIDENCE
        # A word typed with its accents is a real word, not a typo of an indexed one ("tháng" is not "thanh").
        if typed_with_accents or len(token) < 3 or token.isdigit():
            return None
        # OSA counts a swap of two letters ("khia", "tahc") as one edit, as people make it.
        match = process.extractOne(
            token, self.words_list, scorer=OSA.normalized_similarity, score_cutoff=FUZZY_TOKEN_CUTOFF / 100
        )
        if match is None:
            return None
        return self.vocabulary[match[0]], FUZZY_CONFIDENCE * match[1]

    def read_message(self, analysis: Analysis) -> MessageReading | None:
        """The message's words resolved to indexed words, with where they stand and how much they weigh;
        None when no word is known."""
        tokens = analysis.tokens
        accents = analysis.accents or ("",) * len(tokens)
        sentences = analysis.sentences or (0,) * len(tokens)
        asking = analysis.asking or (True,) * len(tokens)
        message = MessageReading()
        weight_of = sentence_weights(sentences, asking)
        unknown_weight = UNKNOWN_TOKEN_WEIGHT * self.mean_idf
        asked_unknown: set[str] = set()
        for token, accent, sentence, is_asking in zip(tokens, accents, sentences, asking, strict=True):
            found = self.resolve(token, bool(accent))
            token_id, confidence = found if found else (-1, 0.0)
            if found is None and is_asking and token not in asked_unknown:
                asked_unknown.add(token)
                message.asked_weight += unknown_weight
            elif found is not None and is_asking:
                message.asked[token_id] = max(confidence * self.idf[token_id], message.asked.get(token_id, 0.0))
            # An unknown word stays in place: it still separates its neighbours.
            message.token_ids.append(token_id)
            message.confidence.append(confidence)
            message.value.append(confidence * weight_of[sentence])
            message.sentence.append(sentence)
            message.accents.append(i_y_unified(accent))
        if all(token_id < 0 for token_id in message.token_ids):
            return None
        message.asked_weight += sum(message.asked.values())
        message.typed_accents = any(message.accents)
        ids, sentence_of = message.token_ids, message.sentence
        for position, token_id in enumerate(ids):
            if token_id < 0:
                continue
            message.positions[token_id].append(position)
            for gap, target in ((1, message.pairs), (2, message.near_pairs)):
                after = position + gap
                if after < len(ids) and ids[after] >= 0 and sentence_of[after] == sentence_of[position]:
                    target.add((token_id, ids[after]))
        return message

    def candidates(self, message: MessageReading, count: int) -> list[int]:
        """The phrases worth reading closely: the most promising by the share of them the message holds
        anywhere, times the strength of that evidence (cheap, vectorised)."""
        overlap = np.zeros(len(self.texts), dtype=np.float64)
        for token_id, positions in message.positions.items():
            strongest = max(message.value[position] for position in positions)
            overlap[self.postings[token_id]] += strongest * self._idf_array[token_id]
        present = np.flatnonzero(overlap)
        if len(present) <= count:
            return present.tolist()
        promise = overlap / self._weight_array * np.minimum(1.0, overlap / (FULL_EVIDENCE * self.mean_idf))
        return np.argpartition(-promise, count - 1)[:count].tolist()

    def fit(self, message: MessageReading, words: frozenset[int] | set[int]) -> float:
        """The share of the asking sentences' weight that these words explain."""
        if message.asked_weight <= 0:
            return 0.0
        return sum(value for token_id, value in message.asked.items() if token_id in words) / message.asked_weight

    def _shape_uncached(self, phrase_id: int) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...], dict[int, str]]:
        """A phrase's distinct words, its adjacent word pairs, and the accented spelling of its accented words
        (i/y unified, as MessageReading.accents)."""
        sequence = self.sequences[phrase_id]
        words = tuple(dict.fromkeys(sequence))
        pairs = tuple(dict.fromkeys(zip(sequence, sequence[1:], strict=False)))
        spelled: dict[int, str] = {}
        accented = self._accents[phrase_id]
        if accented:
            for token, expected in zip(self.texts[phrase_id].split(), accented.split(), strict=True):
                if expected != token:
                    spelled[self.vocabulary[token]] = i_y_unified(expected)
        return words, pairs, spelled

    def read_phrase(self, phrase_id: int, message: MessageReading) -> PhraseReading:
        """Score one phrase against the message (see the module docstring)."""
        words, pairs, spelled = self._shape(phrase_id)
        positions = message.positions
        value = message.value
        mismatch: dict[int, float] = {}
        if spelled and message.typed_accents:
            # Typed accents that disagree with the phrase's ("lai" typed "lại" vs "con lai") count less.
            for token_id, expected in spelled.items():
                for position in positions.get(token_id, ()):
                    typed = message.accents[position]
                    if typed and typed != expected:
                        mismatch[position] = 1.0 - ACCENT_MISMATCH_SHARE
        hits = sorted((position, token_id) for token_id in words for position in positions.get(token_id, ()))
        del hits[MAX_HITS_PER_PHRASE:]
        idf = self.idf
        anywhere: dict[int, float] = {}
        for position, token_id in hits:
            found = value[position] * mismatch.get(position, 1.0)
            if found > anywhere.get(token_id, 0.0):
                anywhere[token_id] = found
        span = 2 * len(self.sequences[phrase_id]) + WINDOW_SLACK
        sentence = message.sentence
        best_value, best_window = 0.0, {}
        for start_index, (start, _) in enumerate(hits):
            window: dict[int, float] = {}
            for position, token_id in hits[start_index:]:
                if position - start >= span or sentence[position] != sentence[start]:
                    break
                found = value[position] * mismatch.get(position, 1.0)
                if found > window.get(token_id, 0.0):
                    window[token_id] = found
            total = sum(idf[token_id] * found for token_id, found in window.items())
            if total > best_value:
                best_value, best_window = total, window
        phrase_weight = self.weight[phrase_id]
        local = best_value / phrase_weight
        spread = sum(idf[token_id] * found for token_id, found in anywhere.items()) / phrase_weight
        confidence = message.confidence
        weighed = [(token_id, idf[token_id] * confidence[positions[token_id][0]]) for token_id in best_window]
        evidence = sum(weight for _, weight in weighed)
        telling = sum(weight for token_id, weight in weighed if token_id not in self.generic)
        if pairs:
            adjacent, near = message.pairs, message.near_pairs
            order = sum(1.0 if pair in adjacent else 0.5 if pair in near else 0.0 for pair in pairs) / len(pairs)
        else:
            order = local
        strength = min(1.0, evidence / (FULL_EVIDENCE * self.mean_idf))
        specific = min(1.0, evidence / (SPECIFIC_EVIDENCE * self.mean_idf))
        score = (
            100.0
            * self.share[phrase_id]
            * strength
            * (LOCAL_WEIGHT * local + SPREAD_WEIGHT * spread + ORDER_WEIGHT * order + SPECIFIC_WEIGHT * specific)
        )
        # Said in full: every word together, none typed with other accents ("tiện" is not "tiền").
        whole = len(best_window) == len(words) and not any(
            position in mismatch for position, token_id in hits if token_id in best_window
        )
        return PhraseReading(score, telling, frozenset(anywhere), local, whole)


def sentence_weights(sentences: Sequence[int], asking: Sequence[bool]) -> dict[int, float]:
    """How much each sentence's words weigh: 1 where the question is asked, less the further from it.

    "giấy này xin ở đâu?" is about what the sentence just before it names, more than what the first did.
    """
    asking_sentences = sorted({sentence for sentence, flag in zip(sentences, asking, strict=True) if flag})
    weights: dict[int, float] = {}
    for sentence in set(sentences):
        if sentence in asking_sentences or not asking_sentences:
            weights[sentence] = 1.0
            continue
        distance = min(abs(sentence - other) for other in asking_sentences)
        weights[sentence] = CONTEXT_WEIGHT * CONTEXT_DECAY ** (distance - 1)
    return weights
