"""What to import from an IMAP folder, and reading the server's answers: no sockets here.

Design note. A folder's messages are numbered by UIDs that only grow while its UIDVALIDITY
stays the same; we keep both (``ticket_imap_cursors``) and import the UIDs above the last one
filed. When UIDVALIDITY changes (the folder was recreated or rebuilt), the stored UID means
nothing: the import starts over from the first message (only the unseen ones when imported
mail is marked seen), and mails filed before are recognised by their Message-ID as
redeliveries. aioimaplib hands us the response lines of each command (``bytes`` lines and
``bytearray`` literals); the parsers below read only what they need and never raise on an
answer they do not understand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]", re.IGNORECASE)
_RETURN_PATH = re.compile(rb"^Return-Path:[ \t]*<?([^>\r\n]*)>?", re.IGNORECASE | re.MULTILINE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True, slots=True)
class Cursor:
    """How far a folder was imported."""

    uidvalidity: int
    last_uid: int


@dataclass(frozen=True, slots=True)
class Plan:
    """What one poll asks the server: UIDs above ``after``, or unseen ones from the start."""

    after: int
    unseen_only: bool
    reset: bool  # the stored cursor was for another UIDVALIDITY (or there was none)

    def criteria(self) -> tuple[str, ...]:
        """The arguments of ``UID SEARCH``."""
        span = ("UID", f"{self.after + 1}:*")
        return ("UNSEEN", *span) if self.unseen_only else span


def plan(stored: Cursor | None, uidvalidity: int, *, marks_seen: bool) -> Plan:
    """The search for this poll given the stored cursor and the folder's UIDVALIDITY now."""
    if stored is not None and stored.uidvalidity == uidvalidity:
        return Plan(stored.last_uid, False, False)
    # A new folder (or first run): what was already read there is not ours to file again.
    return Plan(0, marks_seen, True)


def uidvalidity_of(lines: Sequence[bytes | bytearray]) -> int | None:
    """UIDVALIDITY from a SELECT answer (None: the server did not say)."""
    for line in lines:
        found = _UIDVALIDITY.search(bytes(line))
        if found:
            return int(found.group(1))
    return None


def search_uids(lines: Sequence[bytes | bytearray], above: int) -> list[int]:
    """UIDs from a UID SEARCH answer, above ``above`` and in order.

    ``N:*`` always matches the highest UID even when it is below N, hence the filter.
    """
    uids: set[int] = set()
    for line in lines:
        if isinstance(line, bytearray):
            continue
        words = line.split()
        if words and words[0].upper() == b"SEARCH":
            words = words[1:]
        if words and all(w.isdigit() for w in words):
            uids.update(int(w) for w in words)
    return sorted(u for u in uids if u > above)


def fetched_message(lines: Sequence[bytes | bytearray]) -> bytes | None:
    """The message of a one-UID ``FETCH (BODY.PEEK[])`` answer (None: it is gone)."""
    for line in lines:
        if isinstance(line, bytearray):
            return bytes(line)
    return None


def envelope_sender(raw: bytes) -> str:
    """The envelope sender of a mail taken from a folder, where no SMTP envelope exists: the
    ``Return-Path`` a delivering server wrote ("" when null, as a bounce's is), else the
    ``From`` address (a mail put there by hand is not a bounce)."""
    head = _HEADER_END.split(raw, 1)[0]
    found = _RETURN_PATH.search(head)
    if found:
        return found.group(1).strip().decode("ascii", "replace")
    headers = BytesHeaderParser(policy=compat32).parsebytes(head + b"\r\n\r\n")
    return parseaddr(str(headers.get("From", "")))[1].strip()


def mailbox_arg(name: str) -> str:
    """A folder name as a command argument: quoted unless it is a plain atom (ASCII names
    only; settings refuse line breaks)."""
    if re.fullmatch(r"[A-Za-z0-9_./-]+", name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uid_set(last_uid: int) -> str:
    """Every UID imported so far, as an IMAP sequence set."""
    return f"1:{last_uid}"


def backoff(failures: int, first_s: float, max_s: float) -> float:
    """Seconds before the next connection attempt after ``failures`` in a row (>= 1)."""
    return min(max_s, first_s * 2 ** max(0, min(failures - 1, 30)))
