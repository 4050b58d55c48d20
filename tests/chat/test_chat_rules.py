"""The chat's rules that need no server: settings (as the config file binds them), pre-chat
answers, routing by answers, message text, the wire protocol's parser, the rate limit; and the
store on every database backend."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactcenter.chat import protocol
from contactcenter.chat.model import (
    Answer,
    ConversationRecord,
    ConversationState,
    Message,
    Refused,
    Sender,
    _clean_line,
    check_answers,
    check_message_text,
    check_start,
    route_for,
)
from contactcenter.chat.settings import ChatChannelSettings, PrechatField, PrechatRule
from contactcenter.chat.store import ChatStore
from contactcenter.common.sliding_window import SlidingWindow
from contactcenter.common.yamlfile import SourceErrors
from contactcenter.config.loader import load_settings


def _channel(**kw: object) -> ChatChannelSettings:
    base: dict[str, object] = {
        "name": "site", "queue": "web", "allowed_origins": ["https://Shop.Example/"],
        "prechat": [PrechatField(name="name", required=True),
                 PrechatField(name="email", pattern=r"[^@\s]+@[^@\s]+", message="bad email"),
                 PrechatField(name="lang", type="select", options=["en", "es"])],
        "rules": [PrechatRule(field="lang", equals="es", skills={"spanish": 2}, priority=5),
               PrechatRule(field="lang", equals="es", queue="spanish")]}
    base.update(kw)
    return ChatChannelSettings(**base)  # type: ignore[arg-type]


def test_the_config_file_binds_chat_channels_and_points_at_mistakes(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(
        "chat:\n"
        "  new_conversations_per_ip: 3\n"
        "  channels:\n"
        "    - name: website\n"
        "      queue: support\n"
        "      allowed_origins: [https://www.example.com]\n"
        "      prechat:\n"
        "        - {name: email, required: true, pattern: '[^@]+@[^@]+'}\n"
        "      rules:\n"
        "        - {field: email, equals: vip@example.com, priority: 9}\n"
        "      strings: {title: Hablemos}\n")
    settings = load_settings(good, environ={})
    (channel,) = settings.chat.channels
    assert channel.allowed_origins == ["https://www.example.com"]
    assert channel.prechat[0].required and channel.rules[0].priority == 9
    assert channel.texts()["title"] == "Hablemos" and channel.texts()["send"] == "Send"
    assert settings.chat.new_conversations_per_ip == 3

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "chat:\n"
        "  channels:\n"
        "    - name: website\n"
        "      queue: support\n"
        "      allowed_origins: ['https://*.example.com']\n"
        "    - name: other\n"
        "      queue: support\n"
        "      prechat:\n"
        "        - {name: email, pattern: '([a-z'}\n")
    with pytest.raises(SourceErrors) as err:
        load_settings(bad, environ={})
    text = str(err.value)
    assert f"{bad}:3:7" in text and "no wildcard" in text
    assert f"{bad}:9:11" in text and "bad pattern" in text


def test_channel_settings_refuse_what_would_break_later():
    with pytest.raises(ValueError, match="rule on unknown field"):
        _channel(rules=[PrechatRule(field="age", equals="1")])
    with pytest.raises(ValueError, match="reserved"):
        PrechatField(name="visitor_id")
    with pytest.raises(ValueError, match="needs options"):
        PrechatField(name="lang", type="select")
    with pytest.raises(ValueError, match="unknown string"):
        _channel(strings={"titel": "x"})
    with pytest.raises(ValueError, match="colour"):
        _channel(colour="red")
    assert _channel().allowed_origins == ["https://shop.example"]


def test_answers_are_checked_against_the_form():
    channel = _channel()
    answers = check_answers(channel, {"name": "  Ana ", "email": "ana@example.com", "lang": "es"})
    assert answers == (Answer("name", "name", "Ana"), Answer("email", "email", "ana@example.com"),
                       Answer("lang", "lang", "es"))
    with pytest.raises(Refused) as err:
        check_answers(channel, {"email": "nope", "lang": "fr", "extra": "x", "name": 5})
    assert err.value.errors == {"extra": "not a question of this form", "name": "must be text",
                                "email": "bad email", "lang": "not one of the choices"}
    with pytest.raises(Refused) as err:
        check_answers(channel, {"name": "a" * 201})
    assert "at most 200" in err.value.errors["name"]
    with pytest.raises(Refused):
        check_answers(channel, ["not", "a", "mapping"])


def test_answers_pick_queue_skills_and_priority_in_rule_order():
    channel = _channel(skills={"spanish": 1, "web": 1}, priority=1)
    es = check_answers(channel, {"name": "A", "lang": "es"})
    route = route_for(channel, es)
    assert (route.queue, route.skills, route.priority) == ("spanish", {"spanish": 2, "web": 1}, 5)
    en = route_for(channel, check_answers(channel, {"name": "A", "lang": "en"}))
    assert (en.queue, en.skills, en.priority) == ("web", {"spanish": 1, "web": 1}, 1)


_ANY_CHARACTER = st.one_of(st.characters(exclude_categories=()),
                           st.characters(categories=["Cs"]),  # lone surrogates, left out above
                           st.sampled_from("\n\t\r\x00\x1f\x7f\x85\x9f\xa0\u2028"))


@given(st.text(_ANY_CHARACTER, max_size=30))
def test_control_characters_are_unicodes_cc_and_cs(text):
    """The checks' character ranges are exactly Unicode's categories Cc and Cs (line breaks
    and tabs allowed in a message, not in a one-line field)."""
    def refused(check, value: str) -> bool:
        try:
            check(value)
        except ValueError as exc:
            return "control" in str(exc)
        return False

    categories = [unicodedata.category(c) for c in text]
    in_message = any(cat in ("Cc", "Cs") and c not in "\n\t" for c, cat in zip(text, categories))
    assert refused(lambda v: check_message_text(v, 10**6), text) == in_message
    assert refused(_clean_line, text) == any(cat in ("Cc", "Cs") for cat in categories)


def test_message_text_and_start_fields():
    assert check_message_text("  two\nlines\t", 20) == "two\nlines"
    for bad in ("", "   ", "x" * 21, "nul\x00", "esc\x1b[31m", 5):
        with pytest.raises(ValueError):
            check_message_text(bad, 20)
    start = check_start({"visitor_id": "crm:42", "name": "Ana", "attributes": {"plan": 3},
                         "page": "https://x/\r\npath"})
    assert (start.visitor_id, start.attributes, start.page) == ("crm:42", {"plan": "3"},
                                                                 "https://x/path")
    with pytest.raises(Refused) as err:
        check_start({"visitor_id": "a b", "attributes": {f"k{i}": i for i in range(21)}})
    assert set(err.value.errors) == {"visitor_id", "attributes"}


def test_the_protocol_parser_takes_our_frames_only():
    assert protocol.parse('{"type":"hello","conversation_id":"c","token":"t","after":3}') == \
        protocol.Hello("c", "t", 3)
    assert protocol.parse('{"type":"typing","typing":1}') == protocol.Typing(True)
    assert isinstance(protocol.parse('{"type":"close"}'), protocol.Leave)
    for bad in ("nope", "[]", '{"type":"shout"}', '{"type":"hello","conversation_id":"c"}',
                '{"type":"hello","conversation_id":"c","token":"t","after":-1}',
                '{"type":"hello","conversation_id":"c","token":"t","after":true}',
                "[" * 100_000, '"' + "x" * 20_000 + '"'):
        with pytest.raises(protocol.ProtocolError):
            protocol.parse(bad)
    assert protocol.position(2, 119.6) == {"type": "position", "position": 2, "ewt_s": 120}


def test_the_sliding_window_counts_per_key_and_forgets_old_hits():
    window = SlidingWindow(limit=2, window_s=60, max_keys=2)
    assert window.hit("a", 0) == 0 and window.hit("a", 1) == 0
    assert window.hit("a", 2) == pytest.approx(58)
    assert window.hit("b", 2) == 0
    assert window.hit("a", 61) == 0  # the first hit left the window
    window.hit("c", 62)  # a third key pushes out the least recent one ("b")
    assert window.hit("b", 63) == 0 and window.hit("b", 63) == 0 and window.hit("b", 63) > 0


async def test_the_store_numbers_messages_and_takes_a_resend_once(database):
    store = ChatStore(database)
    record = ConversationRecord(
        id="c" * 32, channel="site", visitor_id="v1", visitor_name="Ana",
        answers=(Answer("email", "Email", "ana@example.com"),), attributes={"plan": "gold"},
        page="https://x", queue="web", state=ConversationState.WAITING, created_at=100.0)
    await store.create(record, "h" * 64)
    first = Message(record.id, 1, Sender.VISITOR, "hi <script>", 101.0, "Ana", None, "k1")
    assert await store.append(first) == first
    again = Message(record.id, 2, Sender.VISITOR, "hi <script>", 102.0, "Ana", None, "k1")
    assert await store.append(again) == first  # same client id: the stored one
    second = Message(record.id, 2, Sender.AGENT, "hello", 103.0, "Bob", "a2")
    await store.append(second)
    assert [m.seq for m in await store.messages_after(record.id)] == [1, 2]
    assert await store.messages_after(record.id, 1) == [second]
    got, token_hash = await store.get(record.id)  # type: ignore[misc]
    assert got.last_seq == 2 and token_hash == "h" * 64 and got.answers == record.answers
    import dataclasses

    closed = dataclasses.replace(got, state=ConversationState.CLOSED, closed_at=110.0,
                                 closed_by="agent", agent_id="a2")
    await store.save_state(closed)
    assert await store.open_conversations() == []
    assert (await store.get(record.id))[0] == closed  # type: ignore[index]
