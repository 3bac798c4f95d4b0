"""`tthc bench`: matcher speed and index cost at scale, against naive baselines measured in the same run."""

import contextlib
import io
import logging
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from rapidfuzz import process

from knowledge.normalize import fold
from knowledge.records import ProcedureInfo
from knowledge.search import SearchIndex

# Qualifiers that turn a real procedure into a plausible sibling ("... có yếu tố nước ngoài"), so a large
# synthetic set has the vocabulary and the near-duplicates of the national database.
QUALIFIERS = (
    "có yếu tố nước ngoài",
    "tại cơ quan đại diện",
    "trường hợp đặc biệt",
    "cho tổ chức",
    "cấp tỉnh",
    "trong khu kinh tế",
    "đối với doanh nghiệp",
    "bổ sung hồ sơ",
    "điều chỉnh nội dung",
    "gia hạn",
    "cấp lại do mất",
    "thu hồi",
    "hủy bỏ",
    "cho người nước ngoài",
    "tại biên giới",
    "theo danh sách",
    "của hộ gia đình",
    "đối với hợp tác xã",
    "trên môi trường điện tử",
    "liên thông",
    "lần đầu",
    "cho người khuyết tật",
    "đối với tàu cá",
    "cho cơ sở giáo dục",
    "về an toàn thực phẩm",
)
NOISE_CUES = ("cần giấy tờ gì", "ở đâu", "mất bao lâu", "bao nhiêu tiền", "", "", "nộp online được không")
# Every fourth question is long, as real messages are: some context, then the question.
CONTEXT_OPENINGS = ("Chào ad, nhà em mới chuyển về xã được mấy tháng.", "Em hỏi chút ạ, em đi làm xa quê.")
LONG_QUESTION_EVERY = 4
BENCH_EXTRA = "pip install 'tthc-bot[bench]'"


class BenchDependencyError(ImportError):
    """The baselines of the bench are not installed (they are a "bench" extra, not runtime dependencies)."""


@dataclass(frozen=True)
class Timing:
    """Per-query latency of one method, in milliseconds."""

    method: str
    queries: int
    p50_ms: float
    p99_ms: float

    def to_json(self) -> dict:
        """As reported by --json."""
        return {
            "method": self.method,
            "queries": self.queries,
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
        }


def synthetic_procedures(base: Sequence[ProcedureInfo], count: int, seed: int = 7) -> list[ProcedureInfo]:
    """The real procedures, padded to `count` with qualified siblings of them."""
    rng = random.Random(seed)
    procedures = list(base)[:count]
    number = 0
    while len(procedures) < count:
        original = base[number % len(base)]
        qualifier = " ".join(rng.sample(QUALIFIERS, 2))
        procedures.append(
            replace(
                original,
                code=f"9.{number:06d}",
                name=f"{original.name} {qualifier}",
                short_name=f"{original.short_name} {qualifier.split(' ', 2)[0]}",
                aliases=tuple(f"{alias} {qualifier}" for alias in original.aliases[:6]),
                origin="dvcqg",
            )
        )
        number += 1
    return procedures


def sample_questions(base: Sequence[ProcedureInfo], count: int, seed: int = 11) -> list[str]:
    """Citizen-like questions built from aliases: half without accents, with facet cues, one in four long."""
    rng = random.Random(seed)
    phrases = [alias for info in base for alias in info.aliases] or [info.name for info in base]
    questions = []
    for number in range(count):
        question = f"{rng.choice(phrases)} {rng.choice(NOISE_CUES)}".strip()
        if number % LONG_QUESTION_EVERY == LONG_QUESTION_EVERY - 1:
            question = f"{rng.choice(CONTEXT_OPENINGS)} Trước đây {rng.choice(phrases)} rồi. Giờ cho em hỏi {question}?"
        questions.append(fold(question) if rng.random() < 0.5 else question)
    return questions


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def _time_queries(method: str, run: Callable[[str], object], questions: Sequence[str]) -> Timing:
    durations = []
    for question in questions:
        start = time.perf_counter()
        run(question)
        durations.append((time.perf_counter() - start) * 1000.0)
    return Timing(method, len(questions), statistics.median(durations), _percentile(durations, 0.99))


def _baselines() -> tuple[type, object]:
    """rank-bm25's BM25Okapi and the bm25s module, imported only when the bench runs."""
    try:
        import bm25s
        from rank_bm25 import BM25Okapi
    except ImportError as error:
        raise BenchDependencyError(
            f"the bench compares against rank-bm25 and bm25s, which are not installed ({error.name}): {BENCH_EXTRA}"
        ) from None
    return BM25Okapi, bm25s


def _agreement(ours: Sequence[str | None], theirs: Sequence[str | None]) -> float:
    """Share of questions whose best procedure is the same for both methods."""
    same = sum(1 for mine, other in zip(ours, theirs, strict=True) if mine is not None and mine == other)
    return round(same / len(ours), 3) if ours else 0.0


def run_bench(
    base: Sequence[ProcedureInfo], sizes: Sequence[int], queries: int = 300, baseline_queries: int = 40
) -> list[dict]:
    """Measure build time, memory and latency at each size; baselines over the same alias strings.

    A size up to len(base) uses that many real procedures (the whole imported set when equal); a larger
    size pads the real ones with qualified siblings (synthetic_procedures).
    """
    bm25_okapi, bm25s = _baselines()
    reports = []
    questions = sample_questions(base, queries)
    few = questions[:baseline_queries]
    for size in sizes:
        procedures = synthetic_procedures(base, size)
        start = time.perf_counter()
        index = SearchIndex(procedures)
        build_seconds = time.perf_counter() - start
        tracemalloc.start()
        retained = SearchIndex(procedures)
        memory_bytes = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        del retained

        for question in questions[:20]:
            index.search(question)  # warm the word-resolution cache as a running bot has it
        ours = _time_queries("tthc index", index.search, questions)
        ours_top = [_first(index.search(question, limit=1).hits) for question in few]

        strings: list[str] = []
        owners: list[str] = []
        for info in procedures:
            for text in (info.name, info.short_name, *info.aliases):
                strings.append(fold(text))
                owners.append(info.code)
        tokenized = [text.split() for text in strings]

        def rapidfuzz_top(question: str, strings: list[str] = strings) -> list[tuple[str, float, int]]:
            return process.extract(fold(question), strings, limit=5)

        fuzzy = _time_queries("rapidfuzz process.extract (WRatio, all alias strings)", rapidfuzz_top, few)
        fuzzy_top = [owners[found[0][2]] if found else None for found in map(rapidfuzz_top, few)]

        start = time.perf_counter()
        okapi = bm25_okapi(tokenized)
        bm25_build = time.perf_counter() - start

        def okapi_top(question: str, okapi: object = okapi) -> int:
            return int(okapi.get_scores(fold(question).split()).argmax())  # type: ignore[attr-defined]

        okapi_timing = _time_queries(
            "BM25 (rank-bm25, same strings)",
            lambda question, okapi=okapi, strings=strings: okapi.get_top_n(fold(question).split(), strings, n=5),
            few,
        )
        okapi_best = [owners[okapi_top(question)] for question in few]

        start = time.perf_counter()
        chatty = logging.getLogger("bm25s")
        level = chatty.level
        chatty.setLevel(logging.WARNING)
        try:  # bm25s announces its work on stdout and in its debug log
            with contextlib.redirect_stdout(io.StringIO()):
                retriever = bm25s.BM25()
                retriever.index(tokenized, show_progress=False)
        finally:
            chatty.setLevel(level)
        bm25s_build = time.perf_counter() - start
        vocabulary = retriever.vocab_dict

        def bm25s_top(question: str, retriever: object = retriever, vocabulary: dict = vocabulary) -> object:
            tokens = [token for token in fold(question).split() if token in vocabulary]
            return retriever.retrieve([tokens], k=5, show_progress=False)  # type: ignore[attr-defined]

        bm25s_timing = _time_queries("BM25 (bm25s, same strings)", bm25s_top, questions)
        bm25s_best = [owners[int(bm25s_top(question)[0][0][0])] for question in few]

        reports.append(
            {
                "procedures": size,
                "real_procedures": min(size, len(base)),
                "phrases": index.phrase_count,
                "build_seconds": round(build_seconds, 3),
                "index_memory_mb": round(memory_bytes / 1024 / 1024, 1),
                "bm25_build_seconds": round(bm25_build, 3),
                "bm25s_build_seconds": round(bm25s_build, 3),
                "timings": [timing.to_json() for timing in (ours, fuzzy, okapi_timing, bm25s_timing)],
                "speedup_p50_vs_rapidfuzz": round(fuzzy.p50_ms / ours.p50_ms, 1),
                "speedup_p50_vs_bm25": round(okapi_timing.p50_ms / ours.p50_ms, 1),
                "speedup_p50_vs_bm25s": round(bm25s_timing.p50_ms / ours.p50_ms, 2),
                # How often a baseline's best alias string belongs to our best procedure (first questions).
                "top1_agreement": {
                    "rapidfuzz": _agreement(ours_top, fuzzy_top),
                    "rank-bm25": _agreement(ours_top, okapi_best),
                    "bm25s": _agreement(ours_top, bm25s_best),
                },
            }
        )
    return reports


def _first(hits: Sequence) -> str | None:
    return hits[0].code if hits else None


def format_bench(reports: Sequence[dict]) -> list[str]:
    """The human-readable `tthc bench` report, one block per size."""
    lines: list[str] = []
    for report in reports:
        real = report.get("real_procedures", report["procedures"])
        kind = "real" if real == report["procedures"] else f"{real} real + {report['procedures'] - real} synthetic"
        lines.append(
            f"{report['procedures']} procedures ({kind}), {report['phrases']} names and aliases: index built in "
            f"{report['build_seconds']:.2f} s, {report['index_memory_mb']} MB"
        )
        for timing in report["timings"]:
            lines.append(
                f"  {timing['method']:<55} p50 {timing['p50_ms']:8.3f} ms   p99 {timing['p99_ms']:8.3f} ms"
                f"   ({timing['queries']} questions)"
            )
        lines.append(
            f"  p50 speed-up: {report['speedup_p50_vs_rapidfuzz']}x vs rapidfuzz scan, "
            f"{report['speedup_p50_vs_bm25']}x vs rank-bm25, {report['speedup_p50_vs_bm25s']}x vs bm25s "
            f"(below 1: bm25s is faster); BM25 index builds: rank-bm25 {report['bm25_build_seconds']:.2f} s, "
            f"bm25s {report['bm25s_build_seconds']:.2f} s"
        )
        agreement = report["top1_agreement"]
        lines.append(
            "  same best procedure as ours: "
            + ", ".join(f"{method} {share:.0%}" for method, share in agreement.items())
        )
    return lines
