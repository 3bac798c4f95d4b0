"""Deep-link payloads: Telegram's alphabet and length, lossless round trips, garbage never raises."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram.helpers import create_deep_linked_url

from qr.links import DeepLink, PayloadError, code_from_short, decode_payload, encode_payload, short_path, telegram_link

CODES = st.from_regex(r"[0-9A-Za-z][0-9A-Za-z._-]{0,18}", fullmatch=True)
SLUGS = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)


@given(code=CODES)
def test_procedure_payload_round_trips(code):
    payload = encode_payload(code)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", payload)
    assert decode_payload(payload) == DeepLink(code=code)


@given(code=CODES, slug=SLUGS)
def test_office_and_procedure_payload_round_trips(code, slug):
    payload = encode_payload(code, slug)
    assert len(payload) <= 64
    assert decode_payload(payload) == DeepLink(code=code, office=slug)
    assert decode_payload(encode_payload(office=slug)) == DeepLink(office=slug)


@given(st.text(max_size=100))
def test_garbage_payloads_decode_to_none_or_a_valid_link(text):
    link = decode_payload(text)
    assert link is None or isinstance(link, DeepLink)


def test_national_codes_stay_readable():
    assert encode_payload("1.001193") == "p1_1-001193"
    assert short_path("1.001193") == "/q/1001193"


@given(code=CODES | st.from_regex(r"\d\.?\d{6}", fullmatch=True))
def test_the_short_path_on_a_poster_opens_the_same_procedure(code):
    assert code_from_short(short_path(code).removeprefix("/q/")) == code


def test_too_long_or_bad_slug_is_refused():
    with pytest.raises(PayloadError):
        encode_payload("1.001193", "Xã Dray Sáp")
    with pytest.raises(PayloadError):
        encode_payload("1" * 70)


def test_link_matches_python_telegram_bot_helper():
    assert telegram_link("@tthc_bot", "p1_1-001193") == create_deep_linked_url("tthc_bot", "p1_1-001193")
