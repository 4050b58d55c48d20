"""The ``tickets:`` section of the server settings: mailboxes, the SMTP listener, outbound SMTP.

Example::

    tickets:
      queue: support                 # tickets with no mailbox of their own (web, API) wait here
      assignment: push               # push: the queue engine assigns; offer: agents accept
      subject_tag: Ticket            # [Ticket#42] in subjects
      acknowledge: true              # a new ticket by mail gets an automatic acknowledgement
      auto_answers_per_sender: 3     # at most this many automatic mails to one address...
      auto_answer_window_s: 3600     # ...per this many seconds
      mailboxes:
        - {address: support@example.com, name: Example Support, queue: support,
           skills: {english: 1}, priority: normal}
      listener:                      # where the mail server forwards (docs/tickets.md)
        enabled: true
        host: 127.0.0.1
        port: 2525
        protocol: smtp               # or lmtp
        allowed_networks: [127.0.0.0/8, '::1/128']
        max_message_bytes: 26214400
      smtp:                          # how our mail goes out; empty host: nothing is sent
        host: smtp.example.com
        port: 587
        starttls: true               # required when true (port 587); tls: true for port 465
        tls: false
        username: cc
        password: ''                 # CC_TICKETS__SMTP__PASSWORD=...
        timeout_s: 30
        max_attempts: 5
        retry_s: 60                  # doubled after every failed try
      sla:                           # service levels in business hours (sla.py)
        calendar:                    # absent weekly: around the clock
          timezone: Europe/Paris
          weekly: {mon-fri: "09:00-17:00"}
          holidays: [2026-12-25]
        policies:                    # first match wins; a condition left out matches all
          - {name: vip, tags: [vip], origin: email,     # also queue, priority, type, fields
             targets: {urgent: {first_response_s: 900, resolution_s: 7200},
                       normal: {first_response_s: 3600, next_response_s: 7200}}}
          - {name: urgent, priority: urgent, first_response_s: 3600, resolution_s: 14400}
          - {name: standard, first_response_s: 14400, next_response_s: 28800,
             resolution_s: 172800}
        warn_at: 0.8                 # warning once 80 % of a target is used
        check_s: 60                  # the escalation sweep looks at least this often
        escalation:
          raise_priority: true       # at a breach: one step up (low -> normal -> ...)
          queue: ''                  # at a breach: moved to this queue (empty: stays)
          notify: ''                 # at a warning and a breach: a mail to this address
          reassign: false            # at a breach: taken from its agent, offered again
          reassign_on_warning: false # ...already at the warning (needs reassign)
      imap:                          # mailboxes polled over IMAP (imap.py); none by default
        - {host: imap.example.com, port: 993, tls: tls, username: support,
           password: '',             # CC_TICKETS__IMAP__0__PASSWORD=... (or a config file)
           folder: INBOX, mailbox: support@example.com, poll_s: 60, idle: true,
           after: seen, move_to: ''} # after import: seen | move (to move_to) | delete
      csat:                          # a 1-5 satisfaction survey mailed when a ticket is solved
        enabled: false
        secret: ''                   # signs the links: CC_TICKETS__CSAT__SECRET=... (>= 16)
        public_url: https://support.example.com   # where customers reach /rate/...
        answer_days: 7               # a survey's link may be answered this long
      attachments:                   # what an agent's reply may carry (attachments.py)
        max_files: 5
        max_bytes: 10485760          # each file
        types: [pdf, png, jpg, gif, webp, txt, csv, zip, docx, xlsx, pptx, odt, ods]

Checked here (``__post_init__``), so the binder reports ``file:line:col``; queues are checked
against the routing configuration when the context starts.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from contactcenter.domain.week_hours import check_timezone, holiday_dates, weekly_ranges
from contactcenter.tickets.triggers_settings import TriggerSettings

_ADDRESS = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}$")
_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,15}$")
PRIORITIES = ("low", "normal", "high", "urgent")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class MailboxSettings:
    """One address of ours that mail arrives at, and where its tickets wait."""

    address: str = ""
    name: str = ""
    queue: str = ""
    skills: dict[str, int] = field(default_factory=dict)
    priority: str = "normal"

    def __post_init__(self) -> None:
        if not _ADDRESS.match(self.address):
            raise ValueError(f"tickets.mailboxes: {self.address!r} is not a mail address")
        object.__setattr__(self, "address", self.address.lower())
        if self.priority not in PRIORITIES:
            raise ValueError(f"tickets.mailboxes: priority must be one of {', '.join(PRIORITIES)}")


@dataclass(frozen=True)
class ListenerSettings:
    """The built-in SMTP/LMTP listener a mail server forwards to."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 2525
    protocol: str = "smtp"
    allowed_networks: list[str] = field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    max_message_bytes: int = 25 * 1024 * 1024

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"tickets.listener: port {self.port} is outside 0..65535")
        if self.protocol not in ("smtp", "lmtp"):
            raise ValueError("tickets.listener.protocol must be smtp or lmtp")
        for net in self.allowed_networks:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"tickets.listener.allowed_networks: {net!r} is not a network"
                                 ) from None
        if not 1024 <= self.max_message_bytes <= 200 * 1024 * 1024:
            raise ValueError("tickets.listener.max_message_bytes must be 1 KiB..200 MiB")


@dataclass(frozen=True)
class SmtpSettings:
    """The SMTP server our mail goes out through (empty host: no mail is sent)."""

    host: str = ""
    port: int = 587
    starttls: bool = True
    tls: bool = False
    username: str = ""
    password: str = ""
    timeout_s: float = 30.0
    max_attempts: int = 5
    retry_s: float = 60.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"tickets.smtp: port {self.port} is outside 0..65535")
        if self.tls and self.starttls:
            raise ValueError("tickets.smtp: choose tls (port 465) or starttls (port 587), "
                             "not both")
        if not 1 <= self.max_attempts <= 50:
            raise ValueError("tickets.smtp.max_attempts must be 1..50")
        if not 0.01 <= self.retry_s <= 86400 or not 0.1 <= self.timeout_s <= 600:
            raise ValueError("tickets.smtp: retry_s must be 0.01..86400, timeout_s 0.1..600")


IMAP_TLS = ("none", "starttls", "tls")
IMAP_AFTER = ("seen", "move", "delete")


@dataclass(frozen=True)
class ImapSettings:
    """One IMAP folder polled for support mail; what was imported is marked, moved or deleted.

    ``mailbox`` is which of our ``mailboxes`` the mail in it was sent to (its queue, skills,
    our address for replies); empty: the first mailbox. ``port`` 0: 993 with ``tls``, else 143.
    """

    host: str = ""
    port: int = 0
    tls: str = "tls"
    username: str = ""
    password: str = field(default="", repr=False)
    folder: str = "INBOX"
    mailbox: str = ""
    poll_s: float = 60.0
    idle: bool = True
    after: str = "seen"
    move_to: str = ""
    timeout_s: float = 30.0
    retry_s: float = 5.0  # the first reconnect after a failure; doubled up to max_retry_s
    max_retry_s: float = 300.0

    def __post_init__(self) -> None:
        if not self.host or any(c in self.host for c in " \r\n\0/"):
            raise ValueError("tickets.imap: every entry needs a host")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"tickets.imap: port {self.port} is outside 0..65535")
        if self.tls not in IMAP_TLS:
            raise ValueError(f"tickets.imap.tls must be one of {', '.join(IMAP_TLS)}")
        if self.after not in IMAP_AFTER:
            raise ValueError(f"tickets.imap.after must be one of {', '.join(IMAP_AFTER)}")
        if self.after == "move" and not self.move_to:
            raise ValueError("tickets.imap: after: move needs move_to (a folder)")
        for what in ("username", "password", "folder", "move_to"):
            if any(c in getattr(self, what) for c in "\r\n\0"):
                raise ValueError(f"tickets.imap.{what}: no line breaks or NUL")
        if not self.username or not self.folder:
            raise ValueError("tickets.imap: every entry needs a username and a folder")
        if self.mailbox and not _ADDRESS.match(self.mailbox):
            raise ValueError(f"tickets.imap.mailbox: {self.mailbox!r} is not a mail address")
        if not 0.01 <= self.poll_s <= 86400 or not 0.1 <= self.timeout_s <= 600:
            raise ValueError("tickets.imap: poll_s must be 0.01..86400, timeout_s 0.1..600")
        if not 0.01 <= self.retry_s <= self.max_retry_s <= 86400:
            raise ValueError("tickets.imap: retry_s must be 0.01..max_retry_s (<= 86400)")
        if len(self.key) > 300:  # the import cursor's key (ticket_imap_cursors.mailbox)
            raise ValueError("tickets.imap: username, host and folder are too long together")

    @property
    def server_port(self) -> int:
        """The port connected to (993 for implicit TLS, else 143, unless set)."""
        return self.port or (993 if self.tls == "tls" else 143)

    @property
    def key(self) -> str:
        """What the import cursor is stored under: the account and the folder."""
        return f"{self.username}@{self.host}:{self.server_port}/{self.folder}"


@dataclass(frozen=True)
class SlaCalendar:
    """Business hours the SLA counts in, in the words of an IVR ``hours`` node (and of the
    chat's hours): ``weekly`` maps a day or days (``mon``, ``mon-fri``) to ``"09:00-17:00"``,
    several ranges separated by commas, or ``closed``; ``holidays`` are closed dates. No
    ``weekly`` at all: around the clock."""

    timezone: str = "UTC"
    weekly: dict[str, str] = field(default_factory=dict)
    holidays: list[Any] = field(default_factory=list)  # dates; YAML gives datetime.date

    def __post_init__(self) -> None:
        check_timezone(self.timezone, "tickets.sla.calendar")
        self.week()  # raises on a bad day or range
        object.__setattr__(self, "holidays",
                           holiday_dates(self.holidays, "tickets.sla.calendar"))

    def week(self) -> dict[int, tuple[tuple[int, int], ...]]:
        """Opening ranges per weekday (0 = Monday), minutes since midnight, end exclusive;
        every day open all day when ``weekly`` is empty."""
        if not self.weekly:
            return {day: ((0, 24 * 60),) for day in range(7)}
        return weekly_ranges(self.weekly, "tickets.sla.calendar")


ORIGINS = ("email", "web", "chat", "voicemail", "call", "api")  # model.Origin's values
_TARGET_MAX = 365 * 86400


@dataclass(frozen=True)
class SlaTargets:
    """A policy's targets for one priority, in business seconds; 0 = no target."""

    first_response_s: float = 0.0
    next_response_s: float = 0.0  # an agent's reply after the customer's, once answered
    resolution_s: float = 0.0

    def check(self, where: str) -> None:
        """Refuse a target outside 0..a year (the policy checks, so the error names it)."""
        for what in ("first_response_s", "next_response_s", "resolution_s"):
            if not 0 <= getattr(self, what) <= _TARGET_MAX:
                raise ValueError(f"{where}: {what} must be 0..{_TARGET_MAX}")


@dataclass(frozen=True, slots=True)
class SlaSubject:
    """What a policy's conditions look at in a ticket (``fields``: custom field values as
    their canonical text, ``fields.py``)."""

    queue: str
    priority: str
    origin: str = ""
    type: str | None = None
    tags: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SlaPolicy:
    """Targets in business seconds for the tickets it matches; every condition set must hold
    (an empty one matches every ticket): ``queue``, ``priority``, ``type`` (``fields.py``'s
    ticket type), ``tags`` (any of them), ``origin`` (the channel: email, web, chat,
    voicemail, call, api), ``fields`` (custom field values, compared as text).

    Targets either flat (``first_response_s``...: every priority) or per priority in
    ``targets`` (``{urgent: {first_response_s: 900}, normal: {...}}``); a priority missing
    from ``targets`` falls back to the flat ones."""

    name: str = ""
    queue: str = ""
    priority: str = ""
    type: str = ""
    tags: list[str] = field(default_factory=list)
    origin: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    first_response_s: float = 0.0
    next_response_s: float = 0.0
    resolution_s: float = 0.0
    targets: dict[str, SlaTargets] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError("tickets.sla.policies: every policy needs a name (letters, "
                             "digits, '_', '.', '-')")
        where = f"tickets.sla.policies[{self.name}]"
        if self.priority and self.priority not in PRIORITIES:
            raise ValueError(f"{where}: priority must be one of {', '.join(PRIORITIES)}")
        if self.origin and self.origin not in ORIGINS:
            raise ValueError(f"{where}: origin must be one of {', '.join(ORIGINS)}")
        for key, targets in self.targets.items():
            if key not in PRIORITIES:
                raise ValueError(f"{where}: targets: {key!r} is not a priority (one of "
                                 f"{', '.join(PRIORITIES)})")
            targets.check(f"{where}: targets.{key}")
        SlaTargets(self.first_response_s, self.next_response_s, self.resolution_s).check(where)
        for key, value in self.fields.items():
            if isinstance(value, (dict, list)) or value is None:
                raise ValueError(f"{where}: fields: {key!r} needs one value (text, number, "
                                 "date or true/false)")
        object.__setattr__(self, "fields", {k: _field_text(v) for k, v in self.fields.items()})
        object.__setattr__(self, "tags", [t.lower() for t in self.tags])

    def matches(self, ticket: SlaSubject) -> bool:
        """Whether every condition of the policy holds for ``ticket``."""
        return ((not self.queue or self.queue == ticket.queue)
                and (not self.priority or self.priority == ticket.priority)
                and (not self.type or self.type == ticket.type)
                and (not self.origin or self.origin == ticket.origin)
                and (not self.tags or any(t.lower() in self.tags for t in ticket.tags))
                and all(ticket.fields.get(k) == v for k, v in self.fields.items()))

    def targets_for(self, priority: str) -> SlaTargets:
        """The targets for a ticket of ``priority``."""
        return self.targets.get(priority) or SlaTargets(
            self.first_response_s, self.next_response_s, self.resolution_s)


def _field_text(value: Any) -> str:
    """A condition's value as ``fields.py`` keeps a value's text (``true``, ``42``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class EscalationSettings:
    """What a breach does (a warning only records and notifies, unless it reassigns).

    ``reassign``: a breach takes an active (new or open) ticket from its assignee and puts it
    back in line for the queue engine to offer again; ``reassign_on_warning`` already at the
    warning (it needs ``reassign``: a ticket taken away at the warning but left with its
    agent at the breach would make no sense)."""

    raise_priority: bool = True
    queue: str = ""
    notify: str = ""  # a supervisor's address: one mail per warning and breach
    reassign: bool = False
    reassign_on_warning: bool = False

    def __post_init__(self) -> None:
        if self.notify and not _ADDRESS.match(self.notify):
            raise ValueError(f"tickets.sla.escalation.notify: {self.notify!r} is not a mail "
                             "address")
        if self.reassign_on_warning and not self.reassign:
            raise ValueError("tickets.sla.escalation: reassign_on_warning needs "
                             "reassign: true")

    def reassigns(self, stages: list[str]) -> bool:
        """Whether the stages that fired together take the ticket from its assignee."""
        return self.reassign and any(
            s.endswith(":breach") or (self.reassign_on_warning and s.endswith(":warning"))
            for s in stages)


@dataclass(frozen=True)
class SlaSettings:
    """Service levels of tickets (docs/tickets.md); no policy: no SLA."""

    calendar: SlaCalendar = field(default_factory=SlaCalendar)
    policies: list[SlaPolicy] = field(default_factory=list)
    warn_at: float = 0.8
    check_s: float = 60.0
    escalation: EscalationSettings = field(default_factory=EscalationSettings)

    def __post_init__(self) -> None:
        if not 0 < self.warn_at < 1:
            raise ValueError("tickets.sla.warn_at must be between 0 and 1 (a share of the "
                             "target)")
        if not 0.01 <= self.check_s <= 3600:
            raise ValueError("tickets.sla.check_s must be 0.01..3600")
        names = [p.name for p in self.policies]
        if len(names) != len(set(names)):
            raise ValueError("tickets.sla.policies: a name is used twice")

    def policy_for(self, ticket: SlaSubject) -> SlaPolicy | None:
        """The first policy that matches (None: the ticket has no SLA)."""
        return next((p for p in self.policies if p.matches(ticket)), None)

    def policy(self, name: str | None) -> SlaPolicy | None:
        """The policy called ``name`` (None: no longer configured)."""
        return next((p for p in self.policies if p.name == name), None)


@dataclass(frozen=True)
class CsatSettings:
    """The satisfaction survey: signed links (one per score, 1-5) mailed when a ticket is
    solved; the first answer sent from the page stands."""

    enabled: bool = False
    secret: str = ""
    public_url: str = ""
    answer_days: float = 7.0

    def __post_init__(self) -> None:
        if not 0 < self.answer_days <= 365:
            raise ValueError("tickets.csat.answer_days must be more than 0, at most 365")
        if not self.enabled:
            return
        if len(self.secret) < 16:
            raise ValueError("tickets.csat.secret must be at least 16 characters (set it with "
                             "CC_TICKETS__CSAT__SECRET)")
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", self.public_url):
            raise ValueError("tickets.csat.public_url must be the http(s) URL customers reach "
                             "this server at")
        object.__setattr__(self, "public_url", self.public_url.rstrip("/"))


ATTACHMENT_TYPES = ("pdf", "png", "jpg", "gif", "webp", "txt", "csv", "zip", "docx", "xlsx",
                    "pptx", "odt", "ods")


@dataclass(frozen=True)
class AttachmentSettings:
    """What an agent's reply may carry (``attachments.py``); received files are bounded by
    the listener's ``max_message_bytes`` only."""

    max_files: int = 5
    max_bytes: int = 10 * 1024 * 1024  # each file
    types: list[str] = field(default_factory=lambda: list(ATTACHMENT_TYPES))

    def __post_init__(self) -> None:
        if not 0 <= self.max_files <= 20:
            raise ValueError("tickets.attachments.max_files must be 0..20")
        if not 1024 <= self.max_bytes <= 10 * 1024 * 1024:
            raise ValueError("tickets.attachments.max_bytes must be 1 KiB..10 MiB")
        unknown = sorted(set(self.types) - set(ATTACHMENT_TYPES))
        if unknown:
            raise ValueError(f"tickets.attachments.types: {', '.join(unknown)} not among "
                             f"{', '.join(ATTACHMENT_TYPES)}")


@dataclass(frozen=True)
class TicketSettings:
    """Tickets and their email channel (docs/tickets.md)."""

    queue: str = "support"
    assignment: str = "push"
    subject_tag: str = "Ticket"
    acknowledge: bool = True
    auto_answers_per_sender: int = 3
    auto_answer_window_s: float = 3600.0
    message_id_domain: str = ""  # default: the first mailbox's domain
    mailboxes: list[MailboxSettings] = field(default_factory=list)
    listener: ListenerSettings = field(default_factory=ListenerSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    sla: SlaSettings = field(default_factory=SlaSettings)
    csat: CsatSettings = field(default_factory=CsatSettings)
    triggers: TriggerSettings = field(default_factory=TriggerSettings)
    imap: list[ImapSettings] = field(default_factory=list)
    attachments: AttachmentSettings = field(default_factory=AttachmentSettings)

    def __post_init__(self) -> None:
        keys = [i.key for i in self.imap]
        if len(keys) != len(set(keys)):
            raise ValueError("tickets.imap: the same account and folder is listed twice")
        if self.assignment not in ("push", "offer"):
            raise ValueError("tickets.assignment must be push or offer")
        if not _TAG.match(self.subject_tag):
            raise ValueError("tickets.subject_tag must be a word of letters, digits or '-'")
        if not 0 <= self.auto_answers_per_sender <= 1000:
            raise ValueError("tickets.auto_answers_per_sender must be 0..1000")
        if not 1 <= self.auto_answer_window_s <= 30 * 86400:
            raise ValueError("tickets.auto_answer_window_s must be 1..2592000")
        seen = [m.address for m in self.mailboxes]
        if len(seen) != len(set(seen)):
            raise ValueError("tickets.mailboxes: an address is listed twice")

    def mailbox(self, address: str) -> MailboxSettings | None:
        """Our mailbox at ``address``."""
        address = address.lower()
        return next((m for m in self.mailboxes if m.address == address), None)

    def mailbox_for(self, address: str | None, queue: str) -> MailboxSettings | None:
        """The mailbox a ticket's mail goes out from: the one it came to, else its queue's,
        else the first; None when there is no mailbox at all."""
        return (self.mailbox(address or "")
                or next((m for m in self.mailboxes if m.queue == queue), None)
                or (self.mailboxes[0] if self.mailboxes else None))

    @property
    def domain(self) -> str:
        """The domain of the Message-IDs we make."""
        if self.message_id_domain:
            return self.message_id_domain
        return self.mailboxes[0].address.split("@", 1)[1] if self.mailboxes else "localhost"
