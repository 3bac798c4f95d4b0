"""Whatever a citizen types, the matcher answers with a well-formed result: no exception, a known decision,
hits best first with finite scores. Also the inputs that once crashed it."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.search import ANSWER, CLARIFY, NONE, SearchResult

SYLLABLES = [
    "đăng", "dang", "ký", "ky", "ki", "kí", "khai", "sinh", "kết", "ket", "hôn", "hon", "hno", "dnag", "tử", "tu",
    "giấy", "giay", "cccd", "căn", "cước", "hộ", "khẩu", "tạm", "trú", "ddawng", "kys", "ketes", "chuwng", "thuwcj",
    "cho", "em", "hỏi", "ạ", "ở", "đâu", "bao", "nhiêu", "tiền", "mất", "sổ", "đỏ", "sao", "y", "ko", "dc", "j",
]  # fmt: skip
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_well_formed(result: SearchResult) -> None:
    assert result.decision in (ANSWER, CLARIFY, NONE)
    scores = [hit.rank_score for hit in result.hits]
    assert all(math.isfinite(score) for score in scores)
    assert all(math.isfinite(hit.score) and 0.0 <= hit.score <= 100.0 for hit in result.hits)
    if result.decision == ANSWER:
        assert result.hits, "an answer names a procedure"
    assert len(result.suggestions) <= 3
    assert set(result.suggestions) <= set(result.hits)
    assert len(result.choices) <= 5


@pytest.mark.parametrize(
    "text",
    [
        "ky ky",
        "cho em hoi ky ky",
        "dnag ky ket hno dnag ky ket hno dnag ky ket hno dnag ky ket hno",
        "đăng đăng đăng ký ký ký",
        "Đăng ký kết hôn. Đăng ký kết hôn? Đăng ký kết hôn!",
    ],
)
def test_inputs_that_once_crashed_are_answered(index, text):
    assert_well_formed(index.search(text))


@SETTINGS
@given(st.text(max_size=400))
def test_any_unicode_text(index, text):
    assert_well_formed(index.search(text))


@SETTINGS
@given(st.lists(st.sampled_from(SYLLABLES), max_size=60), st.sampled_from([" ", ", ", ". ", "? ", "\n"]))
def test_any_run_of_syllables_accented_or_not(index, words, separator):
    assert_well_formed(index.search(separator.join(words)))


@SETTINGS
@given(st.sampled_from(SYLLABLES), st.integers(min_value=1, max_value=300))
def test_one_syllable_repeated(index, word, times):
    assert_well_formed(index.search(" ".join([word] * times)))


@SETTINGS
@given(st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyfjwzsr ", min_size=1, max_size=300))
def test_telex_like_garbage(index, text):
    assert_well_formed(index.search(text))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(SYLLABLES), min_size=400, max_size=1200))
def test_long_texts_of_thousands_of_characters(index, words):
    text = " ".join(words)
    assert len(text) > 1000
    assert_well_formed(index.search(text))
