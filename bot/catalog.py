"""What the bot knows at one moment: the search index, the offices, the most asked procedures.

A Catalog is immutable; a reload builds a new one and swaps it in with one assignment, so a request
never sees half of an old knowledge base and half of a new one.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from rapidfuzz import fuzz, process

from bot.tickets import PublicAnswer
from knowledge.normalize import fold
from knowledge.records import OfficeInfo, ProcedureInfo
from knowledge.search import SearchIndex

SIMILAR_ANSWER_SCORE = 85.0  # token-set similarity of two folded questions to offer a past answer


@dataclass(frozen=True)
class Catalog:
    """The index, the offices and the popular procedures, as one consistent snapshot."""

    index: SearchIndex
    offices: Mapping[str, OfficeInfo] = field(default_factory=dict)
    popular: tuple[str, ...] = ()  # most asked first, only codes the index knows
    fields: tuple[str, ...] = ()  # lĩnh vực, for browsing
    answers: tuple[PublicAnswer, ...] = ()  # staff answers made public
    _answer_keys: tuple[str, ...] = ()  # their questions, folded

    @classmethod
    def build(
        cls,
        index: SearchIndex,
        popular: tuple[str, ...] = (),
        offices: Mapping[str, OfficeInfo] | None = None,
        answers: Sequence[PublicAnswer] = (),
    ) -> "Catalog":
        """A snapshot over an index; popular codes the index does not know are dropped."""
        return cls(
            index=index,
            offices=dict(offices or {}),
            popular=tuple(code for code in popular if code in index.by_code),
            fields=tuple(sorted({info.field for info in index.procedures if info.field})),
        ).with_answers(answers)

    def with_answers(self, answers: Sequence[PublicAnswer]) -> "Catalog":
        """The same snapshot with other public answers (the index is not rebuilt)."""
        return replace(self, answers=tuple(answers), _answer_keys=tuple(fold(answer.question) for answer in answers))

    def answer(self, code: str) -> PublicAnswer | None:
        """A public answer by its ticket code."""
        return next((answer for answer in self.answers if answer.code == code), None)

    def similar_answer(self, folded_question: str) -> PublicAnswer | None:
        """A public answer to a question much like this one (the bot offers it instead of "not found")."""
        if not self._answer_keys or len(folded_question.split()) < 3:
            return None
        found = process.extractOne(
            folded_question, self._answer_keys, scorer=fuzz.token_set_ratio, score_cutoff=SIMILAR_ANSWER_SCORE
        )
        return self.answers[found[2]] if found else None

    def procedure(self, code: str | None) -> ProcedureInfo | None:
        """The procedure with this code, if known."""
        return self.index.by_code.get(code or "")

    def office(self, slug: str | None) -> OfficeInfo | None:
        """The office with this slug, if known."""
        return self.offices.get(slug or "")


def popular_codes(popularity: Mapping[str, float], limit: int = 8) -> tuple[str, ...]:
    """The most asked procedures first."""
    return tuple(sorted(popularity, key=lambda code: -popularity[code])[:limit])
