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

Checked here (``__post_init__``), so the binder reports ``file:line:col``; queues are checked
against the routing configuration when the context starts.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

_ADDRESS = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}$")
_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,15}$")
PRIORITIES = ("low", "normal", "high", "urgent")


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

    def __post_init__(self) -> None:
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
