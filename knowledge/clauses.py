"""Message segmentation: a citizen's message as sentences, and which of them ask the question.

Real messages are often long: a few sentences of context ("Mẹ tôi mất cách nay 2 năm, ...") and then the
question ("Tôi có thể làm lại không, liên hệ cơ quan nào?"). The matcher reads every sentence, but the
asking ones weigh more, and only they say which facet (documents, fees, ...) is asked about.
"""

import re
from dataclasses import dataclass

from knowledge.folding import fold

# A sentence ends at . ! ? ; … or a line break; a dot inside a number or an abbreviation ("7.2025",
# "TP.HCM") does not end one. The end is captured: its question mark says the sentence asks.
_SENTENCE_END = re.compile(r"((?:[!?;…\n]+|\.+(?=\s|$))\s*)")
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
    """One sentence of a message, folded (folding.fold), and whether it asks the question."""

    text: str
    folded: str
    asking: bool


def _ended_sentences(text: str) -> list[tuple[str, str]]:
    """The sentences of a message, in order, each with the punctuation that ends it ("" for an unended last
    one); empty ones dropped, their punctuation going to the sentence before ("Làm sao . ?")."""
    parts = _SENTENCE_END.split(text)  # sentence, end, sentence, end, ..., sentence
    sentences: list[tuple[str, str]] = []
    for part, end in zip(parts[::2], [*parts[1::2], ""], strict=True):
        sentence = part.strip()
        if sentence:
            sentences.append((sentence, end))
        elif sentences:
            sentences[-1] = (sentences[-1][0], sentences[-1][1] + end)
    return sentences


def split_sentences(text: str) -> list[str]:
    """The sentences of a message, in order, without their end punctuation; empty ones dropped."""
    return [sentence for sentence, _ in _ended_sentences(text)]


def segment(text: str) -> list[Sentence]:
    """The message's sentences, folded, the asking ones marked.

    With question marks, the sentences they end are the asking ones (people who type them put them where
    they ask). Without, the sentences holding a question or request word ask; and if none does, the last
    sentence is the question (context comes first, the question last).
    """
    sentences = _ended_sentences(text)
    folded = [fold(sentence) for sentence, _ in sentences]
    asking = ["?" in end for _, end in sentences]
    if not any(asking):
        asking = [_asks(sentence) for sentence in folded]
        if asking and not any(asking):
            asking[-1] = True
    return [Sentence(sentence, key, flag) for (sentence, _), key, flag in zip(sentences, folded, asking, strict=True)]


def _asks(folded: str) -> bool:
    """A folded sentence without a question mark that still asks or requests something."""
    if _OPENING.match(folded) and len(folded.split()) <= 6:
        return False  # "Chào ad", "Kính gửi quý báo": an opening, not a question
    return bool(_ASKING_WORDS.search(folded))
