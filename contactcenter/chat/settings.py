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
          rating: true          # a 1-5 rating offered when a chat with an agent ends

Validation happens here (``__post_init__``) so the binder reports ``file:line:col`` for a bad
pattern, origin or field name; queues are checked against the routing configuration when the
channel starts (that configuration can change while the server runs).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from contactcenter.domain.week_hours import check_timezone, holiday_dates, weekly_ranges

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_LOCALE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
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
    # "Leave a message", outside the channel's hours or with nobody logged in (offline.py)
    "offline_title": "Leave us a message",
    "offline_intro": "We are not available right now. Leave a message and we will get back "
                     "to you.",
    "offline_message": "Your message",
    "offline_send": "Send message",
    "offline_thanks": "Thank you, we have your message and will get back to you.",
    # Offered to a visitor waiting ``leave_message_after_s`` (or past the queue's max wait)
    "wait_offer": "Sorry for the wait. You may keep waiting or leave us a message.",
    "wait_leave": "Leave a message instead",
    # Idle timeouts (``idle_warning_s``, ``idle_close_s``)
    "idle_warning": "Are you still there? This chat will close in {minutes} min without a "
                    "reply.",
    "idle_closed": "The chat was closed after a period of inactivity.",
    "transferred": "{name} transferred the chat; the next agent will be with you shortly.",
    "seen": "seen",  # the agent read the visitor's message (delivered/read marks)
    # Answers from the knowledge base before a person (``faq``) and the Help tab
    "faq_ask": "What is your question?",
    "faq_intro": "These articles may answer your question:",
    "faq_answered": "This answered my question",
    "faq_person": "Talk to a person",
    "faq_thanks": "Glad we could help. The chat is closed.",
    "faq_suggested": "Articles suggested before the chat: {titles}",
    "tab_chat": "Chat",
    "tab_help": "Help",
    "help_label": "Search our help articles",
    "help_search": "Search",
    "help_found": "{count} article(s) found.",
    "help_none": "No article found.",
    # The bot flow (``bot``): its name on its messages, the hand-over's system message
    "bot_name": "Help bot",
    "bot_handover": "Connecting you to a person; they will see this conversation.",
    # Limits per visitor (``visitor_limits.py``): the message waits and goes by itself
    "slow_down": "You are sending messages quickly; yours will be sent in {seconds} s.",
    "too_many_chats": "You have started many chats; please try again in {minutes} min.",
    # The transcript by email at the end of a chat (``transcript_mail.py``)
    "transcript_offer": "Email me the transcript",
    "transcript_email": "Email address",
    "transcript_send": "Send transcript",
    "transcript_sent": "The transcript is on its way to {email}.",
    # Files (``attachments``): the button, the refusals the widget gives before sending
    "attach": "Attach a file",
    "attach_too_large": "That file is too large (at most {size}).",
    "attach_type": "That kind of file cannot be sent here.",
    "attach_failed": "The file could not be sent.",
    # The rating asked when a chat with an agent ends (``rating``, ``rating.py``)
    "rating_question": "How would you rate this chat? (5 is best)",
    "rating_1": "Very unsatisfied",
    "rating_2": "Unsatisfied",
    "rating_3": "Neutral",
    "rating_4": "Satisfied",
    "rating_5": "Very satisfied",
    "rating_comment": "Comment (optional)",
    "rating_send": "Send rating",
    "rating_skip": "Skip",
    "rating_thanks": "Thank you for your rating.",
    "rating_already": "You have already rated this chat, thank you.",
}
FAQ_MATCHES = ("all", "any", "title")  # how loosely a search may have matched, strictest first
# The file types a chat may take, by the name ``attachments.py`` gives them from the bytes:
# images by their magic bytes, the others by extension and content (kb/media.py's table).
ATTACHMENT_TYPES = ("png", "jpg", "gif", "webp", "pdf", "txt", "csv", "zip", "docx", "xlsx",
                    "pptx", "odt", "ods")
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # the knowledge base's own ceiling for a file


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
class ChatHours:
    """When a chat channel takes live chats: the IVR's hours node, in the same words.

    ``weekly`` maps a day or a range of days (``mon``, ``mon-fri``) to ``"08:00-18:00"``,
    several ranges separated by commas (``"08:00-12:00, 14:00-18:00"``) or ``closed``; a day
    not named is closed. ``holidays`` are dates (``YYYY-MM-DD``) closed all day. Evaluated by
    ``ivr.hours.hours_state``, as an IVR ``hours`` node is.
    """

    timezone: str = "UTC"
    weekly: dict[str, str] = field(default_factory=dict)
    holidays: list[Any] = field(default_factory=list)  # dates; YAML gives datetime.date

    def __post_init__(self) -> None:
        check_timezone(self.timezone, "chat hours")
        self.week()  # raises on a bad day or range
        object.__setattr__(self, "holidays", holiday_dates(self.holidays, "chat hours"))

    def week(self) -> dict[int, tuple[tuple[int, int], ...]]:
        """Opening ranges per weekday (0 = Monday), minutes since midnight, end exclusive."""
        return weekly_ranges(self.weekly, "chat hours")


@dataclass(frozen=True)
class FaqSettings:
    """Answers from the knowledge base before a person (``chat/faq.py``; off by default).

    The visitor's question (the pre-chat field ``question_field``, else the first message they
    type) is searched in the published articles of ``locale``; up to ``max_articles`` are
    shown with "This answered my question" (the chat ends self-served, never reaching an
    agent) and "Talk to a person" (it goes into the queue as any chat). ``match`` is how
    loosely the search may have matched for its articles to be offered: ``all`` (every word),
    ``any`` (some words, or misspelt ones corrected), ``title`` (also a fuzzy title match);
    ``min_score`` drops hits scoring below it, in the database's own scale (0: keep all).
    ``help_tab`` adds the widget's Help tab (a search of the same articles, no chat).
    """

    enabled: bool = False
    max_articles: int = 3
    min_score: float = 0.0
    match: str = "any"
    locale: str = ""  # the knowledge base's locale ('': its default, kb.locales' first)
    question_field: str = ""  # a pre-chat field whose answer is the question
    help_tab: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.max_articles <= 10:
            raise ValueError("faq.max_articles must be 1..10")
        if self.match not in FAQ_MATCHES:
            raise ValueError(f"faq.match must be one of {', '.join(FAQ_MATCHES)}")
        if self.min_score < 0:
            raise ValueError("faq.min_score must be 0 or positive")
        if self.locale and not _LOCALE.match(self.locale):
            raise ValueError(f"faq.locale {self.locale!r} is not a locale such as en or pt-br")


@dataclass(frozen=True)
class AttachmentSettings:
    """Files in a chat's conversations, both ways (``chat/attachments.py``; off by default).

    ``types`` are the kinds taken (``ATTACHMENT_TYPES``), decided from the file's bytes, never
    from its name or the browser's Content-Type; ``max_bytes`` is the largest file (images
    stay under 5 MiB whatever it says); ``max_per_conversation`` caps what one conversation
    may store.
    """

    enabled: bool = False
    max_bytes: int = 5 * 1024 * 1024
    types: list[str] = field(default_factory=lambda: ["png", "jpg", "gif", "webp", "pdf", "txt"])
    max_per_conversation: int = 20

    def __post_init__(self) -> None:
        if not 1 <= self.max_bytes <= MAX_ATTACHMENT_BYTES:
            raise ValueError(f"attachments.max_bytes must be 1..{MAX_ATTACHMENT_BYTES}")
        unknown = sorted(set(self.types) - set(ATTACHMENT_TYPES))
        if unknown:
            raise ValueError(f"attachments.types: unknown {', '.join(unknown)} (known: "
                             f"{', '.join(ATTACHMENT_TYPES)})")
        if not self.types:
            raise ValueError("attachments.types needs at least one type")
        if not 1 <= self.max_per_conversation <= 1000:
            raise ValueError("attachments.max_per_conversation must be 1..1000")


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
    # Live chat only within these hours (none: always); outside them the widget offers
    # "leave a message" instead (offline.py).
    hours: ChatHours | None = None
    # Also "leave a message" while no agent with chat capacity is logged in to the queue.
    offline_when_nobody_logged_in: bool = False
    # Idle timeouts, in clock seconds (0: off). A connected visitor silent for
    # ``idle_warning_s`` after the agent's last message (or the start) gets a warning, and
    # the chat closes ``idle_close_s`` later without a reply. A visitor whose every socket is
    # gone and who does not come back within ``visitor_gone_s`` ends as abandoned.
    idle_warning_s: float = 0.0
    idle_close_s: float = 0.0
    visitor_gone_s: float = 0.0
    # "Leave a message" offered to a visitor still waiting after this many clock seconds, and
    # to one whose wait hit the queue's ``max_wait_s`` (0: off; offline.py).
    leave_message_after_s: float = 0.0
    # Articles from the knowledge base before a person, and the widget's Help tab (off).
    faq: FaqSettings = field(default_factory=FaqSettings)
    # A chat flow (``channel: chat`` in the flows directory) that talks first; it hands over
    # to a person on "agent"/"human", a "no" or a queue node (chat/bot.py). Empty: no bot.
    bot: str = ""
    # Files both ways, with their limits (off: the widget and the card offer none).
    attachments: AttachmentSettings = field(default_factory=AttachmentSettings)
    # A 1-5 rating with a comment offered in the widget when a chat with an agent ends and
    # the visitor is still there (rating.py); false: never asked on this channel.
    rating: bool = True

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"chat channel name {self.name!r} must be [a-z0-9][a-z0-9_-]{{0,63}}")
        if not self.queue:
            raise ValueError(f"chat channel {self.name}: queue is required")
        if self.bot and self.faq.enabled:
            raise ValueError(f"chat channel {self.name}: a bot flow and faq exclude each other "
                             "(the bot's kb_answer node offers the articles)")
        if self.bot and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,63}", self.bot):
            raise ValueError(f"chat channel {self.name}: bot {self.bot!r} is not a flow name")
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
        if min(self.idle_warning_s, self.idle_close_s, self.visitor_gone_s,
               self.leave_message_after_s) < 0:
            raise ValueError(f"chat channel {self.name}: timeouts must be 0 (off) or positive")
        if self.faq.question_field and self.faq.question_field not in names:
            raise ValueError(f"chat channel {self.name}: faq.question_field "
                             f"{self.faq.question_field!r} is not a pre-chat field")
        if self.idle_warning_s and not self.idle_close_s:
            raise ValueError(f"chat channel {self.name}: idle_warning_s needs idle_close_s")

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
    faq_searches_per_minute: int = 30  # per client address: the FAQ's and Help tab's searches
    # Where the conversations' files are kept (relative: under the server's base_dir), outside
    # any folder the web server serves; share it between cluster nodes as the recordings are.
    attachments_dir: str = "var/chat-attachments"
    # Per visitor id (``visitor_limits.py``): new chats per hour (the address's limit above
    # holds as well); transcripts mailed per conversation.
    conversations_per_visitor_per_hour: int = 20
    transcript_mails_per_conversation: int = 3
    # Closed chats (transcripts) and handled messages left are purged after this many days
    # (0: kept); the purge runs every ``retention_check_s`` clock seconds and by
    # ``contactcenter chat purge`` (``retention.py``).
    retention_days: int = 0
    retention_check_s: float = 3600.0

    def __post_init__(self) -> None:
        names = [c.name for c in self.channels]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"chat: duplicate channel name(s) {', '.join(dupes)}")
        if self.new_conversations_per_ip < 1 or self.new_conversations_window_s <= 0:
            raise ValueError("chat: new_conversations_per_ip and its window must be positive")
        if self.faq_searches_per_minute < 1:
            raise ValueError("chat: faq_searches_per_minute must be positive")
        if self.messages_per_minute < 1 or self.max_visitor_sockets < 1:
            raise ValueError("chat: messages_per_minute and max_visitor_sockets must be positive")
        if self.conversations_per_visitor_per_hour < 1 \
                or self.transcript_mails_per_conversation < 0:
            raise ValueError("chat: conversations_per_visitor_per_hour must be positive, "
                             "transcript_mails_per_conversation 0 (off) or more")
        if self.retention_days < 0 or self.retention_check_s <= 0:
            raise ValueError("chat: retention_days must be 0 (keep) or more, "
                             "retention_check_s positive")

    def channel(self, name: str) -> ChatChannelSettings | None:
        """The channel called ``name``, if any."""
        return next((c for c in self.channels if c.name == name), None)
