"""Message segmentation: which sentences of a long message ask the question."""

from knowledge.clauses import segment, split_sentences


def asking(text: str) -> list[str]:
    return [sentence.text for sentence in segment(text) if sentence.asking]


def test_sentences_end_at_punctuation_but_not_inside_numbers_and_abbreviations():
    assert split_sentences("Tôi ở TP.HCM từ 7.2025. Con tôi 3 tuổi! Làm sao?") == [
        "Tôi ở TP.HCM từ 7.2025",
        "Con tôi 3 tuổi",
        "Làm sao",
    ]


def test_with_question_marks_the_marked_sentences_ask():
    text = "Chào ad, vợ em mới sinh. Em không biết gì cả. Làm giấy khai sinh cần gì? Cảm ơn ad."
    assert asking(text) == ["Làm giấy khai sinh cần gì"]


def test_two_questions_both_ask():
    text = "Mẹ tôi mất năm ngoái. Tôi có thể làm lại không? Liên hệ cơ quan nào?"
    assert asking(text) == ["Tôi có thể làm lại không", "Liên hệ cơ quan nào"]


def test_without_question_marks_question_words_mark_the_asking_sentence():
    text = "chao ad. em o tro o binh duong da 3 nam. dang ky tam tru can giay to gi a"
    assert asking(text) == ["dang ky tam tru can giay to gi a"]


def test_without_any_question_word_the_last_sentence_asks():
    assert asking("Vợ em mới sinh. Em muốn làm giấy khai sinh") == ["Em muốn làm giấy khai sinh"]


def test_a_copy_is_not_a_question_word():
    # "bản sao" (a copy) folds like "sao" (why): it does not make a sentence ask.
    text = "cong ty bat em nop ban sao giay khai sinh. vay em nen xin o dau a"
    assert asking(text) == ["vay em nen xin o dau a"]


def test_empty_and_punctuation_only_messages_have_no_sentences():
    assert segment("") == []
    assert segment("?!...") == []
