"""Message segmentation: a citizen's message as sentences, and which of them ask the question.

Real messages are often long: a few sentences of context ("Mẹ tôi mất cách nay 2 năm, ...") and then the
question ("Tôi có thể làm lại không, liên hệ cơ quan nào?"). The matcher reads every sentence, but the
asking ones weigh more, and only they say which facet (documents, fees, ...) is asked about.
"""

import re
import unicodedata
from dataclasses import dataclass

# A sentence ends at . ! ? ; … or a line break; a dot inside a number or an abbreviation ("7.2025",
# "TP.HCM") does not end one.
_SENTENCE_END = re.compile(r"(?:[!?;…\n]+|\.+(?=\s|$))\s*")
# Words that make a sentence a question or a request when it has no question mark (folded, whole words):
# question words anywhere, question particles at the end ("... được không", "... chưa ạ").
_ASKING_WORDS = re.compile(
    r"\b(?:hoi|bao nhieu|bao lau|bao gio|khi nao|o dau|di dau|cho nao|noi nao|the nao|ntn|nhu nao|lam sao|"
    r"tai sao|vi sao|co phai|co duoc|duoc khong|dc khong|duoc ko|dc ko|hay khong|hay phai|giup|huong dan|"
    r"tu van|giai dap|chi dan|gi|j|nao)\b"
    r"|\b(?:khong|ko|k|kg|hok|hong|chua|a|ha|nhi|vay|z)$"
)
# Greetings and polite openings that ask nothing by themselves ("Chào ad,", "Kính gửi ban biên tập,").
_OPENING = re.compile(r"^(?:(?:xin )?chao|kinh gui|gui|thua|dear|hello|hi|alo)\b")


@dataclass(frozen=True)
class Sentence:
    """One sentence of a message and whether it asks the question."""

    text: str
    asking: bool


def split_sentences(text: str) -> list[str]:
    """The sentences of a message, in order, without their end punctuation; empty ones dropped."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def _question_marked(text: str, start: int, sentence: str) -> bool:
    """The sentence found at `start` in `text` is followed by a question mark."""
    end = start + len(sentence)
    rest = text[end : end + 4]
    return "?" in rest


def segment(text: str) -> list[Sentence]:
    """The message's sentences, the asking ones marked.

    With question marks, the sentences they end are the asking ones (people who type them put them where
    they ask). Without, the sentences holding a question or request word ask; and if none does, the last
    sentence is the question (context comes first, the question last).
    """
    sentences = split_sentences(text)
    if not sentences:
        return []
    marked: list[bool] = []
    position = 0
    for sentence in sentences:
        start = text.find(sentence, position)
        start = position if start < 0 else start
        marked.append(_question_marked(text, start, sentence))
        position = start + len(sentence)
    if any(marked):
        return [Sentence(sentence, asking) for sentence, asking in zip(sentences, marked, strict=True)]
    asking = [_asks(sentence) for sentence in sentences]
    if not any(asking):
        asking[-1] = True
    return [Sentence(sentence, flag) for sentence, flag in zip(sentences, asking, strict=True)]


def _plain(text: str) -> str:
    """Lowercase, without accents (đ -> d), words separated by one space: enough to spot question words.

    (normalize.fold does more; this module stays below normalize, which segments messages with it.)
    """
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    letters = "".join(char for char in decomposed if unicodedata.category(char) != "Mn")
    return " ".join(re.sub(r"[\W_]+", " ", letters).split())


def _asks(sentence: str) -> bool:
    """A sentence without a question mark that still asks or requests something."""
    folded = _plain(sentence)
    if _OPENING.match(folded) and len(folded.split()) <= 6:
        return False  # "Chào ad", "Kính gửi quý báo": an opening, not a question
    return bool(_ASKING_WORDS.search(folded))
