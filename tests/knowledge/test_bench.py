"""`tthc bench`: every method measured in one run over the same strings, readable lines; no timing asserted."""

import builtins

import pytest

from knowledge.bench import BenchDependencyError, format_bench, run_bench, sample_questions

METHODS = ("tthc index", "rapidfuzz", "rank-bm25", "bm25s")


@pytest.fixture(scope="module")
def reports(bundled):
    return run_bench(bundled, [len(bundled), 120], queries=24, baseline_queries=12)


def test_every_size_reports_our_index_and_the_three_baselines(reports, bundled):
    assert [report["procedures"] for report in reports] == [len(bundled), 120]
    assert reports[0]["real_procedures"] == len(bundled)  # the real set, unpadded
    assert reports[1]["real_procedures"] == len(bundled)  # padded with synthetic siblings
    for report in reports:
        methods = [timing["method"] for timing in report["timings"]]
        assert len(methods) == 4
        assert all(any(name in method for method in methods) for name in METHODS)
        for key in ("speedup_p50_vs_rapidfuzz", "speedup_p50_vs_bm25", "speedup_p50_vs_bm25s"):
            assert report[key] > 0
        assert report["phrases"] >= report["procedures"]


def test_baselines_find_the_same_procedures_on_alias_questions(reports):
    # Questions made of aliases are easy for every method: they mostly agree on the best procedure.
    for report in reports:
        assert report["top1_agreement"]["bm25s"] >= 0.5
        assert report["top1_agreement"]["rank-bm25"] >= 0.5


def test_readable_lines(reports):
    lines = format_bench(reports)
    text = "\n".join(lines)
    assert "(real)" in lines[0]
    assert "synthetic" in text
    assert "bm25s" in text and "rank-bm25" in text and "rapidfuzz" in text
    assert "same best procedure as ours" in text


def test_some_sample_questions_are_long(bundled):
    questions = sample_questions(bundled, 40)
    assert any(len(question.split()) > 15 for question in questions)
    assert any(len(question.split()) <= 8 for question in questions)


def test_missing_baselines_name_the_extra_to_install(bundled, monkeypatch):
    real_import = builtins.__import__

    def without_bm25s(name, *args, **kwargs):
        if name == "bm25s":
            raise ImportError("No module named 'bm25s'", name="bm25s")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_bm25s)
    with pytest.raises(BenchDependencyError, match=r"pip install 'tthc-bot\[bench\]'"):
        run_bench(bundled, [10], queries=2, baseline_queries=1)
