"""The visitor websocket's wire protocol, without I/O: text frames in, typed frames out.

Client -> server (JSON objects, one per text frame; ``hello`` first, within ``HELLO_TIMEOUT_S``):

    {"type": "hello", "conversation_id": ID, "token": TOKEN, "after": N}
    {"type": "message", "text": "...", "client_id": "c1"}   # client_id: optional, idempotent
    {"type": "typing", "typing": true}
    {"type": "seen", "delivered": N, "read": N}              # marks for the agent (each optional)
    {"type": "close"}                                        # the visitor ends the chat
    {"type": "ping"}

Server -> client:

    {"type": "welcome", "conversation_id", "state", "agent", "last_seq"}
    {"type": "message", "seq", "from": "visitor"|"agent"|"system", "name", "text", "at",
     "client_id"?}                                           # every message, in seq order
    {"type": "ack", "client_id", "seq"}                      # the visitor's message is stored
    {"type": "position", "position", "ewt_s"}                # while waiting, when it changes
    {"type": "state", "state", "agent"}                      # waiting/offered/active/closed
    {"type": "typing", "typing", "name"}                     # the agent's typing indicator
    {"type": "read", "seq"}                                  # the agent has read up to seq
    {"type": "error", "code", "error"}                       # a frame refused; the socket stays
    {"type": "rating"}                                       # just before the end: offer the
                                                             # 1-5 rating form (rating.py)
    {"type": "pong"}

After ``welcome`` the server sends every message with a ``seq`` above ``after``, then live ones;
a message is sent only after it is stored, so whatever a client saw survives a server restart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_FRAME_BYTES = 16 * 1024
HELLO_TIMEOUT_S = 10.0
CLOSE_REFUSED = 4003  # unknown conversation or wrong token: do not retry
CLOSE_PROTOCOL = 4000  # no hello, or a frame that is not ours
CLOSE_TOO_SLOW = 4008  # the client did not read its frames: reconnect and resume


class ProtocolError(ValueError):
    """A frame that breaks the protocol (the socket is closed)."""


class FrameRefused(ValueError):
    """A well-formed frame whose content is refused (an ``error`` frame answers it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Hello:
    conversation_id: str
    token: str
    after: int


@dataclass(frozen=True, slots=True)
class Say:
    text: Any  # checked by the service against the channel's limit
    client_id: Any


@dataclass(frozen=True, slots=True)
class Typing:
    typing: bool


@dataclass(frozen=True, slots=True)
class Seen:
    delivered: int | None  # the highest seq the widget received
    read: int | None  # the highest seq shown to the visitor (panel open, page visible)


@dataclass(frozen=True, slots=True)
class Leave:
    pass


@dataclass(frozen=True, slots=True)
class Ping:
    pass


ClientFrame = Hello | Say | Typing | Seen | Leave | Ping


def _mark(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise ProtocolError("delivered and read must be message numbers")
    return value


def parse(text: str) -> ClientFrame:
    """One client frame; ``ProtocolError`` when it is not one."""
    if len(text) > MAX_FRAME_BYTES:
        raise ProtocolError("frame too large")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ProtocolError("not JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("a frame is a JSON object")
    kind = data.get("type")
    if kind == "hello":
        cid, token, after = data.get("conversation_id"), data.get("token"), data.get("after", 0)
        if not isinstance(cid, str) or not isinstance(token, str) or len(cid) > 64 \
                or len(token) > 128:
            raise ProtocolError("hello needs conversation_id and token")
        if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after < 2**31:
            raise ProtocolError("after must be a message number")
        return Hello(cid, token, after)
    if kind == "message":
        return Say(data.get("text"), data.get("client_id"))
    if kind == "typing":
        return Typing(bool(data.get("typing")))
    if kind == "seen":
        return Seen(_mark(data.get("delivered")), _mark(data.get("read")))
    if kind == "close":
        return Leave()
    if kind == "ping":
        return Ping()
    raise ProtocolError("unknown frame type")


def encode(frame: dict[str, Any]) -> str:
    """A server frame as text."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def welcome(conversation_id: str, state: str, agent: str | None, last_seq: int) -> dict[str, Any]:
    return {"type": "welcome", "conversation_id": conversation_id, "state": state,
            "agent": agent, "last_seq": last_seq}


def message(body: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", **body}


def ack(client_id: str | None, seq: int) -> dict[str, Any]:
    return {"type": "ack", "client_id": client_id, "seq": seq}


def position(pos: int, ewt_s: float | None) -> dict[str, Any]:
    return {"type": "position", "position": pos,
            "ewt_s": None if ewt_s is None else round(ewt_s)}


def state(value: str, agent: str | None) -> dict[str, Any]:
    return {"type": "state", "state": value, "agent": agent}


def typing(on: bool, name: str) -> dict[str, Any]:
    return {"type": "typing", "typing": on, "name": name}


def read(seq: int) -> dict[str, Any]:
    return {"type": "read", "seq": seq}


def error(code: str, text: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "error": text}


def pong() -> dict[str, Any]:
    return {"type": "pong"}
