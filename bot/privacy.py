"""What personal data looks like in citizens' messages, in one place: the journal, tickets, the public Q&A
page, the retention purge and the log filter all recognise it the same way."""

import re

from bot import texts

# A Vietnamese mobile or landline number, written with or without +84 and with spaces, dots or dashes.
PHONE = re.compile(r"(?<![\w+])(?:\+84|84|0)(?:[ .-]?\d){8,10}(?![\w])")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
ID_NUMBER = re.compile(r"(?<!\d)\d{9}(?:\d{3})?(?!\d)")  # CMND (9 digits) and căn cước (12 digits)

def without_phones(text: str) -> str:
    """The text with phone numbers replaced (kept questions: what was asked, not how to reach who asked)."""
    return PHONE.sub(texts.REMOVED["phone"], text)


def without_contacts(text: str) -> str:
    """The text fit for a public page: phone numbers, e-mail addresses and ID numbers removed."""
    return ID_NUMBER.sub(texts.REMOVED["id_number"], EMAIL.sub(texts.REMOVED["email"], without_phones(text)))


def phone_in(text: str) -> str:
    """The first phone number in a text, digits only, as dialled in Vietnam ("" when there is none)."""
    found = PHONE.search(text)
    if not found:
        return ""
    digits = "".join(ch for ch in found.group(0) if ch.isdigit())
    return ("0" + digits[2:] if digits.startswith("84") else digits)[:15]
