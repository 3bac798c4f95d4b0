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


@pytest.mark.parametrize(
    ("question", "facets"),
    [
        ("làm giấy khai sinh cần những điều kiện gì", ("documents",)),
        ("lam giay khai sinh can nhung dieu kien j", ("documents",)),
        ("đăng ký tạm trú thực hiện tại cơ quan nào", ("where",)),
        ("đăng ký tạm trú liên hệ ở đâu", ("where",)),
        ("dang ky tam tru lien he co quan nao", ("where",)),
        ("xin giấy phép xây dựng có phải lên huyện không", ("where",)),
        ("xin giay phep xay dung co phai len huyen ko", ("where",)),
        ("đổi căn cước mang theo những gì", ("documents",)),
        ("doi can cuoc mang theo nhung j", ("documents",)),
        ("khai tử cần những điều kiện gì và liên hệ cơ quan nào", ("documents", "where")),
        ("ra xã làm khai sinh hết bao nhiêu tiền", ("fees",)),  # going there is not asking where
    ],
)
def test_facet_cues_of_long_questions(question, facets):
    assert detect_facets(question) == facets


def test_facets_are_read_in_the_asking_sentences_only():
    story = "Tuần trước vợ em ra xã hỏi, cán bộ bảo chờ một thời gian. Cho em hỏi đăng ký kết hôn mất bao lâu?"
    assert detect_facets(story) == ("time",)


def test_a_long_message_keeps_which_sentence_each_word_is_in():
    analysis = default_lexicon().analyze("Vợ em mới sinh. Làm giấy khai sinh ở đâu?")
    assert len(analysis.sentences) == len(analysis.tokens) == len(analysis.asking)
    asked = [token for token, flag in zip(analysis.tokens, analysis.asking, strict=True) if flag]
    assert asked == ["giay", "khai", "sinh"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bố em mất tuần trước", ("cha", "mat", "tuan", "truoc")),  # died
        ("ông qua đời", ("ong", "mat")),
        ("mất giấy khai sinh", ("that", "lac", "giay", "khai", "sinh")),  # lost
        ("làm mất căn cước", ("that", "lac", "can", "cuoc")),
        ("sổ gốc cũng không còn", ("mat", "so", "goc")),  # the register is gone
        ("xã vẫn còn lưu sổ", ("xa", "con", "so", "goc")),  # the register is there
    ],
)
def test_what_situational_words_mean(text, expected):
    assert tokens(text) == expected


def test_filler_without_accents_does_not_swallow_accented_words():
    # "nha" (a particle) is filler; "nhà" (a house) is not. Typed without accents, either may be meant.
    assert tokens("sửa nhà") == ("sua", "nha")
    assert tokens("sua nha nha") == ("sua",)
    assert "anh" in tokens("phản ánh")


def test_a_very_long_message_keeps_its_end():
    from knowledge.normalize import MAX_QUERY_CHARS, clip_message

    text = "Chào ad. " + "Nhà em ở xa. " * 400 + "Đăng ký kết hôn cần gì?"
    clipped = clip_message(text)
    assert len(clipped) <= MAX_QUERY_CHARS + 2
    assert clipped.startswith("Chào ad.")
    assert clipped.endswith("Đăng ký kết hôn cần gì?")
