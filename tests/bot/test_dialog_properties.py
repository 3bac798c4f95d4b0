"""Whatever a citizen or a client sends, the dialog answers: property-based tests (hypothesis) over text,
button data and start payloads, on one conversation that carries over from one input to the next."""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.catalog import Catalog
from bot.conversation import Conversation, Incoming, Reply
from bot.dialog import Dialog

SYLLABLES = ["khai", "sinh", "kết", "hôn", "ket", "hon", "đăng", "ký", "dang", "ky", "hộ", "khẩu", "ở", "đâu", "mã"]
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(SYLLABLES), max_size=60).map(" ".join),
    st.text(alphabet=string.ascii_letters + string.digits + " .:-_/", max_size=80),
    st.integers(min_value=-5, max_value=200).map(str),  # numbered choices, stale or not
    st.builds(lambda word, times: (word + " ") * times, st.sampled_from(SYLLABLES), st.integers(1, 400)),
)
buttons = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda parts: ":".join(parts),
        st.lists(st.sampled_from(["1", "0", "f", "p", "s", "u", "d", "n", "b", "g", "h", "a", "q", "x", "1.001193",
                                  "documents", "fees", "99999", "HCB-ZZZZZ", ""]), max_size=5),
    ),
)
payloads = st.one_of(st.none(), st.text(max_size=80), st.from_regex(r"[po]1_[a-z0-9_-]{0,40}", fullmatch=True))
incomings = st.one_of(
    st.builds(lambda text: Incoming("test", "u", text=text), texts),
    st.builds(lambda data: Incoming("test", "u", button=data), buttons),
    st.builds(lambda payload: Incoming("test", "u", command="start", payload=payload), payloads),
    st.sampled_from([Incoming("test", "u", command=name) for name in ("help", "linhvuc", "hoicanbo")]),
)


def _well_formed(reply: Reply) -> None:
    assert isinstance(reply, Reply)
    assert reply.messages or reply.open_ticket is not None or reply.ticket_lookup is not None
    for message in reply.messages:
        assert isinstance(message.html, str) and message.html
        for row in message.buttons:
            for button in row:
                assert button.label and len(button.data.encode()) <= 64


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(incomings, min_size=1, max_size=6))
def test_any_sequence_of_inputs_gets_a_reply(index, sequence):
    dialog = Dialog(Catalog.build(index, popular=("1.001193", "1.000894")))
    conversation = Conversation()
    for incoming in sequence:
        _well_formed(dialog.handle(incoming, conversation))
    assert isinstance(Conversation.from_json(conversation.to_json()), Conversation)  # it can be stored
