"""`tthc bench`: matcher speed and index cost at scale, against naive baselines measured in the same run."""

import random
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from rank_bm25 import BM25Okapi
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
    """Citizen-like questions built from aliases: half without accents, with facet cues."""
    rng = random.Random(seed)
    phrases = [alias for info in base for alias in info.aliases] or [info.name for info in base]
    questions = []
    for _ in range(count):
        question = f"{rng.choice(phrases)} {rng.choice(NOISE_CUES)}".strip()
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


def run_bench(
    base: Sequence[ProcedureInfo], sizes: Sequence[int], queries: int = 300, baseline_queries: int = 40
) -> list[dict]:
    """Measure build time, memory and latency at each size; baselines over the same alias strings."""
    reports = []
    questions = sample_questions(base, queries)
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

        strings = [fold(text) for info in procedures for text in (info.name, info.short_name, *info.aliases)]
        few = questions[:baseline_queries]
        fuzzy = _time_queries(
            "rapidfuzz process.extract (WRatio, all alias strings)",
            lambda question, strings=strings: process.extract(fold(question), strings, limit=5),
            few,
        )
        start = time.perf_counter()
        bm25 = BM25Okapi([text.split() for text in strings])
        bm25_build = time.perf_counter() - start
        bm25_timing = _time_queries(
            "BM25 (rank-bm25, same strings)",
            lambda question, bm25=bm25, strings=strings: bm25.get_top_n(fold(question).split(), strings, n=5),
            few,
        )
        reports.append(
            {
                "procedures": size,
                "phrases": index.phrase_count,
                "build_seconds": round(build_seconds, 3),
                "index_memory_mb": round(memory_bytes / 1024 / 1024, 1),
                "bm25_build_seconds": round(bm25_build, 3),
                "timings": [timing.to_json() for timing in (ours, fuzzy, bm25_timing)],
                "speedup_p50_vs_rapidfuzz": round(fuzzy.p50_ms / ours.p50_ms, 1),
                "speedup_p50_vs_bm25": round(bm25_timing.p50_ms / ours.p50_ms, 1),
            }
        )
    return reports
