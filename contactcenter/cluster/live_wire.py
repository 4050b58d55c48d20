"""What the nodes of a cluster say to each other over NOTIFY for the live panel (no I/O here).

Three messages, each a JSON object in one notification's payload: the leader's ``Beacon`` (who
leads, its term, where its web server is), an ``Event`` (one topic's data, the JSON text the
leader's hub sent its own websockets) and a standby's ``Interest`` (topics its websockets want).
A payload must stay under PostgreSQL's 8000 bytes: an event too big for one is cut into
``part`` messages that ``Joiner`` puts back together (notifications of one session arrive in
order, so the parts of a message are never mixed with a later one of the same sender). Topics
are cut into as many ``Interest`` messages as they need.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

EVENTS_CHANNEL = "cc_live"  # leader -> every node: beacons and events
INTEREST_CHANNEL = "cc_live_topics"  # every standby -> the leader
PAYLOAD_LIMIT = 7900  # bytes; PostgreSQL refuses 8000 and more
_PART = 3600  # characters of the envelope per part: escaping may double them, still < limit
_PARTIALS = 64  # messages being joined at once; an older unfinished one is dropped


@dataclass(frozen=True, slots=True)
class Beacon:
    node: str
    term: int
    url: str  # the leader's web server as the other nodes reach it


@dataclass(frozen=True, slots=True)
class Event:
    term: int
    topic: str
    body: str  # JSON text


@dataclass(frozen=True, slots=True)
class Interest:
    node: str
    topics: tuple[str, ...]


def _dump(obj: dict[str, Any]) -> str:
    # ASCII only, so a character is a byte and the limit can be checked on the string.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True)


def encode_beacon(beacon: Beacon) -> str:
    """One payload."""
    return _dump({"k": "beacon", "node": beacon.node, "term": beacon.term, "url": beacon.url})


def encode_event(event: Event, message_id: int) -> list[str]:
    """One payload, or the parts of one (``message_id`` unique per sender) when it is large."""
    whole = _dump({"k": "event", "term": event.term, "t": event.topic, "b": event.body})
    if len(whole) <= PAYLOAD_LIMIT:
        return [whole]
    pieces = [whole[i:i + _PART] for i in range(0, len(whole), _PART)]
    return [_dump({"k": "part", "id": message_id, "i": i, "n": len(pieces), "d": piece})
            for i, piece in enumerate(pieces)]


def encode_interest(node: str, topics: list[str]) -> list[str]:
    """As many payloads as the topics need (at least one, so an empty set is said too)."""
    payloads: list[str] = []
    batch: list[str] = []
    for topic in sorted(topics):
        if batch and len(_dump({"k": "interest", "node": node, "topics": [*batch, topic]})) \
                > PAYLOAD_LIMIT:
            payloads.append(_dump({"k": "interest", "node": node, "topics": batch}))
            batch = []
        batch.append(topic)
    payloads.append(_dump({"k": "interest", "node": node, "topics": batch}))
    return payloads


def _decode_whole(obj: Any) -> Beacon | Event | Interest | None:
    if not isinstance(obj, dict):
        return None
    kind = obj.get("k")
    try:
        if kind == "beacon":
            return Beacon(str(obj["node"]), int(obj["term"]), str(obj["url"]))
        if kind == "event" and isinstance(obj.get("b"), str):
            return Event(int(obj["term"]), str(obj["t"]), obj["b"])
        if kind == "interest" and isinstance(obj.get("topics"), list):
            return Interest(str(obj["node"]), tuple(str(t) for t in obj["topics"]))
    except (KeyError, TypeError, ValueError):
        return None
    return None


class Joiner:
    """Decodes payloads of one channel, joining parts; anything malformed is dropped."""

    def __init__(self) -> None:
        self._partial: OrderedDict[int, list[str | None]] = OrderedDict()

    def feed(self, payload: str) -> Beacon | Event | Interest | None:
        """The message ``payload`` completes, if any."""
        try:
            obj = json.loads(payload)
        except ValueError:
            return None
        if not (isinstance(obj, dict) and obj.get("k") == "part"):
            return _decode_whole(obj)
        try:
            key, index, count, piece = int(obj["id"]), int(obj["i"]), int(obj["n"]), obj["d"]
        except (KeyError, TypeError, ValueError):
            return None
        if not (0 <= index < count <= 10_000 and isinstance(piece, str)):
            return None
        parts = self._partial.get(key)
        if parts is None or len(parts) != count:
            parts = self._partial[key] = [None] * count
            while len(self._partial) > _PARTIALS:
                self._partial.popitem(last=False)
        parts[index] = piece
        if any(p is None for p in parts):
            return None
        del self._partial[key]
        try:
            return _decode_whole(json.loads("".join(p for p in parts if p is not None)))
        except ValueError:
            return None
