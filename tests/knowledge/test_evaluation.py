"""`tthc eval`: figures per length bucket, the share of in-scope questions left unanswered, the readable report,
and out-of-scope questions answered from a national record of a procedure not done at the commune."""

from dataclasses import replace

import pytest

from knowledge.evaluation import BUCKETS, evaluate, format_report, length_bucket, load_cases
from knowledge.search import SearchIndex

LABELLED = "\n".join(
    [
        "# query<TAB>expected<TAB>facet",
        "đăng ký kết hôn\t1.000894\t",
        "làm giấy khai sinh cho con cần giấy tờ gì\t1.001193\tdocs",
        "Chào ad, vợ em vừa sinh bé được hai tuần, cả nhà bận quá chưa ai đi làm giấy tờ cho cháu. Giờ em tự đi"
        " làm giấy khai sinh cho cháu thì cần mang theo những giấy tờ gì ạ?\t1.001193\tdocs",
        "giá xăng hôm nay\tNONE\t",
        "làm hộ chiếu cho con\tNONE\t",
        "qwerty asdf\t1.000656\t",
    ]
)


@pytest.fixture
def cases(tmp_path):
    path = tmp_path / "labelled.tsv"
    path.write_text(LABELLED, encoding="utf-8")
    return load_cases(path)


@pytest.mark.parametrize(("words", "bucket"), [(1, "<=8"), (8, "<=8"), (9, "9-25"), (25, "9-25"), (26, ">25")])
def test_length_buckets(words, bucket):
    assert length_bucket(" ".join(["chữ"] * words)) == bucket


def test_report_keeps_its_keys_and_adds_buckets(index, cases):
    report = evaluate(index, cases)
    for key in ("top1_answered", "top1", "mrr5", "out_of_scope_rejected", "all5", "facet_accuracy", "misses"):
        assert key in report
    assert report["in_scope"] == 4
    assert report["none_share_in_scope"] == 0.25  # the nonsense question expecting 1.000656
    assert set(report["buckets"]) == {name for name, _ in BUCKETS}
    assert report["buckets"][">25"]["in_scope"] == 1
    assert report["buckets"][">25"]["top1_answered"] == 1.0
    assert report["buckets"]["<=8"]["out_of_scope"] == 2
    assert sum(bucket["questions"] for bucket in report["buckets"].values()) == report["questions"]
    assert report["out_of_scope_rejected"] == 1.0
    assert report["out_of_scope_answered_national"] == 0
    assert [miss["line"] for miss in report["misses"]] == [7]


def test_readable_report_lists_misses_then_summary_by_length(index, cases):
    lines = format_report(evaluate(index, cases))
    assert lines[0].startswith("  miss line 7:")
    text = "\n".join(lines)
    assert "in-scope answered 'none': 25.0%" in text
    assert "by length" in text
    assert any(line.strip().startswith(">25") for line in lines)


def national_passport(bundled, level: str):
    """An imported national record of a passport procedure, handled at `level`."""
    return replace(
        next(info for info in bundled if info.code == "1.014061"),
        code="9.001456",
        name="Cấp hộ chiếu phổ thông",
        short_name="Cấp hộ chiếu phổ thông",
        level=level,
        aliases=(),
        origin="dvcqg",
    )


def test_out_of_scope_answered_from_a_national_record_counts_as_handled(bundled, cases):
    report = evaluate(SearchIndex([*bundled, national_passport(bundled, "Cấp tỉnh")]), cases)
    assert report["out_of_scope_answered_national"] == 1
    assert report["out_of_scope_rejected"] == 1.0
    assert "1 answered from a national record" in "\n".join(format_report(report))


def test_a_national_answer_done_at_the_commune_is_still_a_miss(bundled, cases):
    report = evaluate(SearchIndex([*bundled, national_passport(bundled, "Cấp xã")]), cases)
    assert report["out_of_scope_answered_national"] == 0
    assert report["out_of_scope_rejected"] == 0.5
