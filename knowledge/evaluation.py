"""`tthc eval`: accuracy of the matcher on labelled questions (query, expected code | NONE | ALL5:..., facet)."""

from dataclasses import dataclass
from pathlib import Path

from knowledge.search import ANSWER, NONE, SearchIndex

FACET_NAMES = {
    "docs": "documents",
    "documents": "documents",
    "fee": "fees",
    "fees": "fees",
    "time": "time",
    "where": "where",
    "online": "online",
    "steps": "steps",
    "": "",
}


class EvalFileError(ValueError):
    """A labelled-questions file that cannot be read; names the file and line."""


@dataclass(frozen=True)
class Case:
    """One labelled question."""

    line: int
    query: str
    expected: tuple[str, ...]  # one code; several for ALL5; empty for NONE
    kind: str  # code | none | all5
    facet: str


def load_cases(path: Path) -> list[Case]:
    """Read a TSV of labelled questions; lines starting with # are comments."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise EvalFileError(f"{path}: cannot read ({error})") from None
    cases = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) < 2:
            raise EvalFileError(f"{path}, line {number}: expected query<TAB>expected[<TAB>facet]")
        query, expected = columns[0], columns[1].strip()
        facet = columns[2].strip() if len(columns) > 2 else ""
        if facet not in FACET_NAMES:
            raise EvalFileError(f"{path}, line {number}, field 'facet': unknown facet '{facet}'")
        if expected == "NONE":
            cases.append(Case(number, query, (), "none", ""))
        elif expected.startswith("ALL5:"):
            codes = tuple(code.strip() for code in expected[5:].split(",") if code.strip())
            cases.append(Case(number, query, codes, "all5", FACET_NAMES[facet]))
        else:
            cases.append(Case(number, query, (expected,), "code", FACET_NAMES[facet]))
    if not cases:
        raise EvalFileError(f"{path}: no labelled questions")
    return cases


def _share(good: int, total: int) -> float | None:
    return round(good / total, 4) if total else None


def evaluate(index: SearchIndex, cases: list[Case]) -> dict:
    """Top-1, MRR@5, out-of-scope rejection, facet accuracy and the misses."""
    known = index.by_code
    answered = top1 = 0
    reciprocal = 0.0
    in_scope = rejected = out_of_scope = all5_good = all5_total = facet_good = facet_total = 0
    missing_kb: list[dict] = []
    misses: list[dict] = []
    for case in cases:
        result = index.search(case.query)
        codes = [hit.code for hit in result.hits]
        got = {
            "line": case.line,
            "query": case.query,
            "expected": ",".join(case.expected) or "NONE",
            "decision": result.decision,
            "got": codes[:3],
            "facets": list(result.facets),
        }
        if case.kind == "none":
            out_of_scope += 1
            if result.decision == NONE:
                rejected += 1
            else:
                misses.append(got)
            continue
        if any(code not in known for code in case.expected):
            missing_kb.append(got)
            continue
        facet_total += 1
        facet_ok = tuple(result.facets) == ((case.facet,) if case.facet else ())
        facet_good += facet_ok
        if case.kind == "all5":
            all5_total += 1
            ok = all(code in codes[:5] for code in case.expected)
            all5_good += ok
            if not ok or not facet_ok:
                misses.append(got)
            continue
        in_scope += 1
        expected = case.expected[0]
        if codes and codes[0] == expected:
            top1 += 1
            answered += result.decision == ANSWER
        if expected in codes[:5]:
            reciprocal += 1.0 / (codes.index(expected) + 1)
        if not (codes and codes[0] == expected and result.decision == ANSWER) or not facet_ok:
            misses.append(got)
    return {
        "questions": len(cases),
        "in_scope": in_scope,
        "top1_answered": _share(answered, in_scope),
        "top1": _share(top1, in_scope),
        "mrr5": round(reciprocal / in_scope, 4) if in_scope else None,
        "out_of_scope": out_of_scope,
        "out_of_scope_rejected": _share(rejected, out_of_scope),
        "all5": _share(all5_good, all5_total),
        "all5_questions": all5_total,
        "facet_accuracy": _share(facet_good, facet_total),
        "not_in_knowledge_base": missing_kb,
        "misses": misses,
    }
