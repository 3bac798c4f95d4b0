"""Normalisation: what citizens type becomes what the knowledge base says."""

import unicodedata

import pytest

from knowledge.normalize import accented_key, default_lexicon, detect_facets, fold, telex_variants


def tokens(text: str) -> tuple[str, ...]:
    return default_lexicon().analyze(text).tokens


def test_decomposed_input_folds_like_composed():
    composed = "Đăng ký khai sinh"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert fold(decomposed) == fold(composed) == "dang ki khai sinh"
    assert accented_key(decomposed) == accented_key(composed) == "đăng ký khai sinh"


@pytest.mark.parametrize("text", ["Đăng ký khai sinh", "dang ky khai sinh", "ĐĂNG KÝ KHAI SINH", "đăng kí khai sinh"])
def test_accents_case_and_i_y_spelling_do_not_matter(text):
    assert fold(text) == "dang ki khai sinh"


def test_d_with_stroke_folds_to_d():
    assert fold("Đất đai đỏ") == "dat dai do"


@pytest.mark.parametrize(
    ("old", "new"), [("hoà giải", "hòa giải"), ("thuỷ lợi", "thủy lợi"), ("khoẻ", "khỏe"), ("uỷ ban", "ủy ban")]
)
def test_old_tone_placement_becomes_current(old, new):
    assert accented_key(old) == new


def test_qu_syllables_keep_their_tone_mark():
    assert accented_key("quý") == "quý"


def test_punctuation_and_emoji_are_dropped():
    assert fold("ĐĂNG KÝ KẾT HÔN ở đâu vậy ạ??? 😭🙏") == "dang ki ket hon o dau vay a"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("đk khai sinh", ("dang", "ki", "khai", "sinh")),
        ("lm cccd", ("can", "cuoc")),
        ("gks", ("giay", "khai", "sinh")),
        ("thẻ bhyt", ("the", "bao", "hiem", "y", "te")),
        ("cmnd", ("chung", "minh", "nhan", "dan")),
    ],
)
def test_teencode_and_abbreviations_expand(text, expected):
    assert tokens(text) == expected


@pytest.mark.parametrize(
    ("legacy", "today"),
    [
        ("nhập hộ khẩu", "dang ki thuong tru"),
        ("xin giấy độc thân", "xac nhan tinh trang hon nhan"),
        ("sao y", "chung thuc ban sao"),
        ("công chứng chữ ký", "chung thuc chu ki"),
        ("KT3", "tam tru"),
        ("sổ đỏ", "giay chung nhan quyen su dung dat"),
    ],
)
def test_legacy_terms_map_to_todays_terms(legacy, today):
    assert " ".join(tokens(legacy)) == today


def test_polite_filler_is_removed():
    assert tokens("cho em hỏi làm giấy khai sinh với ạ") == ("giay", "khai", "sinh")
    assert tokens("ad ơi cho mình hỏi đăng ký kết hôn nhé") == ("dang", "ki", "ket", "hon")


def test_folding_collisions_keep_meaningful_words():
    # "bản" (copy) folds like "bạn" (you) and "căn" (căn cước) like "cần" (need): neither may vanish.
    assert tokens("bản sao giấy khai sinh") == ("ban", "sao", "giay", "khai", "sinh")
    assert "can" in tokens("căn cước")


def test_telex_leftovers_have_plain_variants():
    assert "dang" in telex_variants("ddawng")
    assert "ki" in telex_variants("kys")
    assert "ket" in telex_variants("ketes")


@pytest.mark.parametrize(
    ("question", "facets"),
    [
        ("làm giấy khai sinh cần giấy tờ gì", ("documents",)),
        ("lam giay khai sinh can gi", ("documents",)),
        ("đăng ký kết hôn hết bao nhiêu tiền", ("fees",)),
        ("le phi tam tru", ("fees",)),
        ("giấy độc thân làm mất bao lâu", ("time",)),
        ("lam giay khai sinh mat may ngay", ("time",)),
        ("đổi căn cước nộp ở đâu", ("where",)),
        ("dang ky tam tru online duoc khong", ("online",)),
        ("đăng ký khai sinh trực tuyến", ("online",)),
        ("các bước đăng ký hộ kinh doanh", ("steps",)),
        ("lam the nao de tach ho", ("steps",)),
        ("đăng ký khai sinh", ()),
        ("mất cccd", ()),
        ("tiền trợ cấp người già", ()),
    ],
)
def test_facet_cues_with_or_without_accents(question, facets):
    assert detect_facets(question) == facets


def test_greetings_and_thanks_are_small_talk():
    lexicon = default_lexicon()
    assert lexicon.analyze("xin chào").smalltalk == "greeting"
    assert lexicon.analyze("Cảm ơn bạn nhiều nha!").smalltalk == "thanks"
    assert lexicon.analyze("chào ad, cho em hỏi làm giấy khai sinh").smalltalk is None


def test_accents_typed_must_agree_with_a_cue():
    # "mặt tiền" (the front of a house) folds like "mất tiền" (costs money) but asks nothing about fees.
    assert detect_facets("sửa mặt tiền nhà có cần xin phép") == ()
    assert detect_facets("sua mat tien nha") == ("fees",)  # unaccented: we cannot tell, the cue wins


def test_weak_steps_cue_yields_to_a_specific_question():
    assert detect_facets("lệ phí chứng thực tính thế nào") == ("fees",)
    assert detect_facets("tách hộ làm thế nào") == ("steps",)
