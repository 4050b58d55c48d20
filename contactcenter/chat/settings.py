"""The ``chat:`` section of the server settings: chat channels (one per embedding web site).

Example::

    chat:
      new_conversations_per_ip: 10      # per new_conversations_window_s, per client address
      channels:
        - name: website
          queue: support
          skills: {english: 1}
          allowed_origins: [https://www.example.com]
          auto_accept: false
          identity_secret: ''   # set it from CC_CHAT__CHANNELS__0__IDENTITY_SECRET
          prechat:
            - {name: name, label: Your name, required: true, max_length: 80}
            - {name: email, label: Email, required: true,
               pattern: '[^@\\s]+@[^@\\s]+\\.[a-z]{2,}', message: Please enter a valid email}
            - {name: topic, label: Topic, options: [sales, support]}
          rules:
            - {field: topic, equals: sales, queue: sales}
          strings: {title: Chat with us}
          colour: '#1f6feb'
          position: right

Validation happens here (``__post_init__``) so the binder reports ``file:line:col`` for a bad
pattern, origin or field name; queues are checked against the routing configuration when the
channel starts (that configuration can change while the server runs).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
FIELD_TYPES = frozenset({"text", "email", "tel", "textarea", "select"})
# Interaction data keys the channel sets itself; a pre-chat field may not shadow them.
RESERVED_FIELDS = frozenset({"chat_channel", "visitor_id", "visitor_name", "page"})
# The widget's texts; ``strings`` of a channel overrides any of them (translation).
DEFAULT_STRINGS: dict[str, str] = {
    "title": "Chat with us",
    "open": "Open chat",
    "close": "Close chat",
    "start": "Start chat",
    "send": "Send",
    "placeholder": "Type a message",
    "end": "End chat",
    "again": "New chat",
    "position": "You are number {position} in line.",
    "expected_wait": "Expected wait: about {minutes} min.",
    "connecting": "Connecting you to an agent…",
    "joined": "{name} joined the chat.",
    "ended": "The chat has ended.",
    "typing": "{name} is typing…",
    "agent": "Agent",
    "you": "You",
    "reconnecting": "Reconnecting…",
    "required": "This field is required.",
    "unavailable": "Nobody can take your chat right now. Please try again later.",
}


def _check_origin(origin: str) -> str:
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") \
            or parts.query or parts.fragment or "*" in origin:
        raise ValueError(f"allowed origin {origin!r} must be scheme://host[:port], no wildcard")
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass(frozen=True)
class PrechatField:
    """One question of the pre-chat form; the answer goes to the agent and may pick the queue."""

    name: str = ""
    label: str = ""
    type: str = "text"
    required: bool = False
    pattern: str = ""  # the whole answer must match (Python ``re.fullmatch``)
    message: str = ""  # shown when the pattern or the options refuse an answer
    options: list[str] = field(default_factory=list)  # a select's choices
    max_length: int = 200

    def __post_init__(self) -> None:
        if not _FIELD.match(self.name):
            raise ValueError(f"pre-chat field name {self.name!r} must be [a-z][a-z0-9_]{{0,31}}")
        if self.name in RESERVED_FIELDS:
            raise ValueError(f"pre-chat field name {self.name!r} is reserved")
        if self.type not in FIELD_TYPES:
            raise ValueError(f"pre-chat field type {self.type!r} is not one of "
                             f"{', '.join(sorted(FIELD_TYPES))}")
        if self.type == "select" and not self.options:
            raise ValueError(f"pre-chat field {self.name!r}: a select needs options")
        if not 1 <= self.max_length <= 1000:
            raise ValueError(f"pre-chat field {self.name!r}: max_length must be 1..1000")
        if self.pattern:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pre-chat field {self.name!r}: bad pattern: {exc}") from None

    @property
    def regex(self) -> re.Pattern[str] | None:
        """The compiled pattern (None when the field has none)."""
        return re.compile(self.pattern) if self.pattern else None


@dataclass(frozen=True)
class PrechatRule:
    """When the answer to ``field`` is ``equals``: route to ``queue`` and/or add ``skills``."""

    field: str = ""
    equals: str = ""
    queue: str = ""
    # (``field`` is the rule's key above: the dataclasses helper needs its module's name here)
    skills: dict[str, int] = dataclasses.field(default_factory=dict)
    priority: int | None = None

    def __post_init__(self) -> None:
        if not _FIELD.match(self.field):
            raise ValueError(f"rule field {self.field!r} is not a pre-chat field name")


@dataclass(frozen=True)
class ChatChannelSettings:
    """One chat channel: the widget of one web site (or a group of sites sharing it)."""

    name: str = ""
    queue: str = ""
    skills: dict[str, int] = field(default_factory=dict)
    priority: int = 0
    allowed_origins: list[str] = field(default_factory=list)
    auto_accept: bool = False  # connect the agent at once instead of waiting for Accept
    # The site signs visitor ids with it (hex HMAC-SHA256 of the id): a signed id is a known
    # customer, whose earlier chats the agent sees; a wrong signature is refused. Empty: ids
    # from identify() are labels only. Keep it out of the file: CC_CHAT__CHANNELS__0__...
    identity_secret: str = ""
    prechat: list[PrechatField] = field(default_factory=list)
    rules: list[PrechatRule] = field(default_factory=list)
    strings: dict[str, str] = field(default_factory=dict)
    colour: str = "#1f6feb"
    position: str = "right"
    max_message_chars: int = 2000

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"chat channel name {self.name!r} must be [a-z0-9][a-z0-9_-]{{0,63}}")
        if not self.queue:
            raise ValueError(f"chat channel {self.name}: queue is required")
        object.__setattr__(self, "allowed_origins",
                           [_check_origin(o) for o in self.allowed_origins])
        names = [f.name for f in self.prechat]
        if len(set(names)) != len(names):
            raise ValueError(f"chat channel {self.name}: pre-chat field names repeat")
        for rule in self.rules:
            if rule.field not in names:
                raise ValueError(f"chat channel {self.name}: rule on unknown field {rule.field!r}")
        unknown = set(self.strings) - set(DEFAULT_STRINGS)
        if unknown:
            raise ValueError(f"chat channel {self.name}: unknown string(s) "
                             f"{', '.join(sorted(unknown))}")
        if not _COLOUR.match(self.colour):
            raise ValueError(f"chat channel {self.name}: colour must be #rrggbb")
        if self.position not in ("left", "right"):
            raise ValueError(f"chat channel {self.name}: position must be left or right")
        if self.identity_secret and len(self.identity_secret) < 16:
            raise ValueError(f"chat channel {self.name}: identity_secret needs 16+ characters")
        if not 1 <= self.max_message_chars <= 10_000:
            raise ValueError(f"chat channel {self.name}: max_message_chars must be 1..10000")

    def texts(self) -> dict[str, str]:
        """Every widget string, the channel's translations over the defaults."""
        return {**DEFAULT_STRINGS, **self.strings}


@dataclass(frozen=True)
class ChatSettings:
    """Chat channels and the limits every channel shares."""

    channels: list[ChatChannelSettings] = field(default_factory=list)
    new_conversations_per_ip: int = 10
    new_conversations_window_s: float = 600.0
    messages_per_minute: int = 60  # per conversation, visitor side
    max_visitor_sockets: int = 5  # per conversation (tabs of one visitor)

    def __post_init__(self) -> None:
        names = [c.name for c in self.channels]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"chat: duplicate channel name(s) {', '.join(dupes)}")
        if self.new_conversations_per_ip < 1 or self.new_conversations_window_s <= 0:
            raise ValueError("chat: new_conversations_per_ip and its window must be positive")
        if self.messages_per_minute < 1 or self.max_visitor_sockets < 1:
            raise ValueError("chat: messages_per_minute and max_visitor_sockets must be positive")

    def channel(self, name: str) -> ChatChannelSettings | None:
        """The channel called ``name``, if any."""
        return next((c for c in self.channels if c.name == name), None)
