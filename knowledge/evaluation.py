"""`tthc eval`: accuracy of the matcher on labelled questions (query, expected code | NONE | ALL5:..., facet)."""

from dataclasses import dataclass
from pathlib import Path

from knowledge.records import ORIGIN_CURATED
from knowledge.search import ANSWER, NONE, SearchIndex, SearchResult

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


# Length buckets (words in the message): short chat questions, a sentence or two, narrative messages.
BUCKETS = (("<=8", 8), ("9-25", 25), (">25", None))


def length_bucket(query: str) -> str:
    """The length bucket of a question, by its number of words."""
    words = len(query.split())
    for name, upper in BUCKETS:
        if upper is None or words <= upper:
            return name
    raise AssertionError("unreachable: the last bucket has no upper bound")  # pragma: no cover


@dataclass
class _Tally:
    """Counts of one set of questions (all of them, or one length bucket)."""

    questions: int = 0
    in_scope: int = 0
    top1: int = 0
    answered: int = 0
    none_in_scope: int = 0
    reciprocal: float = 0.0
    out_of_scope: int = 0
    rejected: int = 0
    answered_national: int = 0
    all5_total: int = 0
    all5_good: int = 0
    facet_total: int = 0
    facet_good: int = 0

    def add(self, counts: dict[str, float]) -> None:
        """Add one question's counts (field name -> amount)."""
        for name, amount in counts.items():
            setattr(self, name, getattr(self, name) + amount)

    def figures(self) -> dict:
        handled = self.rejected + self.answered_national
        return {
            "questions": self.questions,
            "in_scope": self.in_scope,
            "top1_answered": _share(self.answered, self.in_scope),
            "top1": _share(self.top1, self.in_scope),
            "mrr5": round(self.reciprocal / self.in_scope, 4) if self.in_scope else None,
            "none_share_in_scope": _share(self.none_in_scope, self.in_scope),
            "out_of_scope": self.out_of_scope,
            "out_of_scope_rejected": _share(handled, self.out_of_scope),
            "out_of_scope_answered_national": self.answered_national,
            "all5": _share(self.all5_good, self.all5_total),
            "all5_questions": self.all5_total,
            "facet_accuracy": _share(self.facet_good, self.facet_total),
        }


def _national_answer(index: SearchIndex, result: SearchResult) -> bool:
    """An out-of-scope question (not done at the commune) answered from its national record."""
    if result.decision != ANSWER or not result.hits:
        return False
    info = index.by_code[result.hits[0].code]
    return info.origin != ORIGIN_CURATED and "xã" not in info.level.lower()


def evaluate(index: SearchIndex, cases: list[Case]) -> dict:
    """Top-1, MRR@5, out-of-scope rejection, facet accuracy, the same per length bucket, and the misses.

    An out-of-scope question counts as handled when nothing is answered (`none`), or when it is answered
    from an imported national record of a procedure not done at the commune (a passport, a driving
    licence): that is the right answer once the national records are loaded.
    """
    known = index.by_code
    total = _Tally()
    buckets = {name: _Tally() for name, _ in BUCKETS}
    missing_kb: list[dict] = []
    misses: list[dict] = []
    for case in cases:
        result = index.search(case.query)
        codes = [hit.code for hit in result.hits]
        bucket = length_bucket(case.query)
        got = {
            "line": case.line,
            "query": case.query,
            "expected": ",".join(case.expected) or "NONE",
            "decision": result.decision,
            "got": codes[:3],
            "facets": list(result.facets),
            "bucket": bucket,
        }
        if case.kind != "none" and any(code not in known for code in case.expected):
            missing_kb.append(got)
            continue
        counts: dict[str, float] = {"questions": 1}
        if case.kind == "none":
            rejected = result.decision == NONE
            national = not rejected and _national_answer(index, result)
            counts.update(out_of_scope=1, rejected=rejected, answered_national=national)
            handled = rejected or national
        else:
            facet_ok = tuple(result.facets) == ((case.facet,) if case.facet else ())
            counts.update(facet_total=1, facet_good=facet_ok)
            if case.kind == "all5":
                ok = all(code in codes[:5] for code in case.expected)
                counts.update(all5_total=1, all5_good=ok)
            else:
                expected = case.expected[0]
                first = bool(codes) and codes[0] == expected
                ok = first and result.decision == ANSWER
                counts.update(in_scope=1, top1=first, answered=ok, none_in_scope=result.decision == NONE)
                if expected in codes[:5]:
                    counts["reciprocal"] = 1.0 / (codes.index(expected) + 1)
            handled = ok and facet_ok
        for tally in (total, buckets[bucket]):
            tally.add(counts)
        if not handled:
            misses.append(got)
    report = total.figures()  # its "questions": those scored (the buckets add up to it), not the missing ones
    report["buckets"] = {name: tally.figures() for name, tally in buckets.items()}
    report["not_in_knowledge_base"] = missing_kb
    report["misses"] = misses
    return report


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def format_report(report: dict) -> list[str]:
    """The human-readable `tthc eval` report: the misses, then the summary and its length buckets."""
    lines = [
        f"  miss line {miss['line']}: {miss['query']!r} expected {miss['expected']} -> "
        f"{miss['decision']} {miss['got']} facets {miss['facets']}"
        for miss in report["misses"]
    ]
    lines += [
        f"  not in knowledge base, line {item['line']}: {item['query']!r} expects {item['expected']}"
        for item in report["not_in_knowledge_base"]
    ]
    lines += [
        f"questions: {report['questions']} ({len(report['not_in_knowledge_base'])} more expect a procedure "
        f"not in the knowledge base, reported apart)",
        f"in-scope top-1 (answered): {_percent(report['top1_answered'])} of {report['in_scope']}",
        f"in-scope top-1 (ranked first): {_percent(report['top1'])}   MRR@5: {report['mrr5']}",
        f"in-scope answered 'none': {_percent(report['none_share_in_scope'])}",
        f"ambiguous questions with all expected codes in top 5: {_percent(report['all5'])} "
        f"of {report['all5_questions']}",
        f"out-of-scope rejected (none): {_percent(report['out_of_scope_rejected'])} of {report['out_of_scope']}"
        + (
            f" ({report['out_of_scope_answered_national']} answered from a national record not done at the commune)"
            if report["out_of_scope_answered_national"]
            else ""
        ),
        f"facet accuracy: {_percent(report['facet_accuracy'])}",
        "by length (words):   questions  answered  ranked 1st  none(in-scope)  out-of-scope ok  all5    facets",
    ]
    for name, figures in report["buckets"].items():
        lines.append(
            f"  {name:<18} {figures['questions']:>9}  {_percent(figures['top1_answered']):>8}  "
            f"{_percent(figures['top1']):>10}  {_percent(figures['none_share_in_scope']):>14}  "
            f"{_percent(figures['out_of_scope_rejected']):>15}  {_percent(figures['all5']):>6}  "
            f"{_percent(figures['facet_accuracy']):>6}"
        )
    return lines
