"""A received mail's bytes -> ``ParsedMail``: addresses, threading ids, subject, the text and
the sanitised HTML of its body, attachments' names, delivery reports. Pure: no I/O.

Design note: real-world mail breaks every rule, so nothing here raises. The standard library's
``email`` package (``policy.default``) does the MIME work (multipart/alternative, base64,
quoted-printable, encoded-word headers); every step that can still fail on a broken message
(a header the parser chokes on, an unknown charset, a body that will not decode) is caught on
its own and leaves a ``defects`` entry, so one broken part costs that part only. Text is
decoded with the declared charset when it decodes cleanly, else UTF-8, else Windows-1252 (what
most mislabelled mail really is), which cannot fail. A message the parser could make nothing of
is ``unparseable``: its text is the raw bytes decoded that way, and the caller keeps the raw
bytes and flags it.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses

from contactcenter.tickets.mail.html import html_to_text, sanitize_html

_MSGID = re.compile(r"<([^<>\s]{1,250})>")
MAX_REFERENCES = 50


@dataclass(frozen=True, slots=True)
class Address:
    email: str  # lowercase
    name: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    content_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A delivery status notification (RFC 3464): which recipients failed and why, and the
    Message-ID of the mail it is about (from the returned headers), when it says."""

    failed: tuple[tuple[str, str], ...]  # (address, status and diagnostic)
    original_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """What the tickets need of one mail."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    sender: Address | None
    reply_to: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    text: str
    html: str | None  # sanitised
    content_type: str
    headers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lowercase names
    attachments: tuple[Attachment, ...] = ()
    report: DeliveryReport | None = None
    defects: tuple[str, ...] = ()
    unparseable: bool = False

    def header(self, name: str) -> str:
        """The first value of header ``name`` ("" when absent)."""
        values = self.headers.get(name.lower())
        return values[0] if values else ""

    @property
    def reply_address(self) -> Address | None:
        """Where an answer goes: Reply-To, else From."""
        return self.reply_to or self.sender


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, bool]:
    """``data`` as text, and whether the declared charset was used as is."""
    if charset:
        try:
            codecs.lookup(charset)
            return data.decode(charset), True
        except (LookupError, UnicodeDecodeError, ValueError):
            pass
    try:
        return data.decode("utf-8"), charset is None or charset.lower() in ("us-ascii", "ascii")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), False


def message_ids(value: str) -> tuple[str, ...]:
    """The ``<id>`` tokens of a Message-ID / In-Reply-To / References value, without <>."""
    return tuple(_MSGID.findall(value or ""))[-MAX_REFERENCES:]


def _header_values(msg: Message, defects: list[str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        try:
            text = str(msg.policy.header_fetch_parse(name, value))
        except Exception as exc:  # noqa: BLE001 - unreadable header: kept raw
            defects.append(f"header {name}: {type(exc).__name__}")
            text = str(value)
        out.setdefault(name.lower(), []).append(" ".join(text.replace("\x00", "").split()))
    return {k: tuple(v) for k, v in out.items()}


def _addresses(values: tuple[str, ...]) -> tuple[Address, ...]:
    found = []
    for name, addr in getaddresses(list(values)):
        addr = addr.strip().lower()
        if "@" in addr and " " not in addr and len(addr) <= 254:
            found.append(Address(addr, " ".join(name.split())[:200]))
    return tuple(found)


def _part_text(part: Message, defects: list[str]) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception as exc:  # noqa: BLE001 - broken mail: noted as a defect
        defects.append(f"body: {type(exc).__name__}")
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        payload = raw.encode("utf-8", "replace") if isinstance(raw, str) else b""
    text, exact = decode_bytes(payload, part.get_content_charset())
    if not exact and part.get_content_charset():
        defects.append(f"charset {part.get_content_charset()!r} did not decode the body")
    return text


def _body_parts(msg: EmailMessage, defects: list[str]) -> tuple[Message | None, Message | None]:
    """The text/plain and text/html parts that make the body (RFC 2046 choice of alternative)."""
    plain = html = None
    try:
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
    except Exception as exc:  # noqa: BLE001 - broken mail: noted as a defect
        defects.append(f"structure: {type(exc).__name__}")
    if plain is None and html is None:
        # A structure get_body does not follow (broken multipart, odd types): the first text
        # parts found, in order.
        try:
            for part in msg.walk():
                if part.is_multipart() or part.get_content_disposition() == "attachment":
                    continue
                kind = part.get_content_type()
                if kind == "text/plain" and plain is None:
                    plain = part
                elif kind == "text/html" and html is None:
                    html = part
        except Exception as exc:  # noqa: BLE001 - broken mail: noted as a defect
            defects.append(f"walk: {type(exc).__name__}")
    return plain, html


def _attachments(msg: EmailMessage, body: set[int]) -> tuple[Attachment, ...]:
    found = []
    try:
        for part in msg.walk():
            if part.is_multipart() or id(part) in body:
                continue
            kind = part.get_content_type()
            if kind.startswith("message/") or kind in ("text/rfc822-headers",):
                continue
            disposition = part.get_content_disposition()
            filename = part.get_filename() or ""
            if disposition is None and not filename and kind.startswith("text/"):
                continue
            payload = part.get_payload(decode=True)
            cid = part.get("Content-ID")
            found.append(Attachment(" ".join(str(filename).split())[:200], kind,
                                    len(payload) if isinstance(payload, bytes) else 0,
                                    message_ids(str(cid))[0] if cid and message_ids(str(cid))
                                    else None))
    except Exception:  # noqa: BLE001, S110 - a courtesy list: raw mail has all
        pass
    return tuple(found[:100])


def _delivery_report(msg: EmailMessage) -> DeliveryReport | None:
    """The failed recipients of a multipart/report; report-type=delivery-status."""
    if msg.get_content_type() != "multipart/report" or \
            str(msg.get_param("report-type") or "").lower() != "delivery-status":
        return None
    failed: list[tuple[str, str]] = []
    original: str | None = None
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            blocks = part.get_payload()
            for block in blocks if isinstance(blocks, list) else []:
                if not isinstance(block, Message):
                    continue
                action = str(block.get("Action", "")).strip().lower()
                recipient = str(block.get("Final-Recipient", "") or
                                block.get("Original-Recipient", ""))
                address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
                status = str(block.get("Status", "")).strip()
                why = " ".join(str(block.get("Diagnostic-Code", "")).split())
                if action == "failed" and "@" in address:
                    failed.append((address, f"{status} {why}".strip()[:200]))
        elif kind in ("message/rfc822", "text/rfc822-headers") and original is None:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                ids = message_ids(str(inner[0].get("Message-ID", "")))
            else:
                text = inner if isinstance(inner, str) else ""
                match = re.search(r"(?im)^message-id:\s*(<[^>]+>)", text)
                ids = message_ids(match.group(1)) if match else ()
            original = ids[0] if ids else None
    return DeliveryReport(tuple(failed), original)


def parse_mail(raw: bytes) -> ParsedMail:
    """Everything the tickets need of ``raw``; never raises (see the module's note)."""
    defects: list[str] = []
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(msg, EmailMessage)
    except Exception as exc:  # noqa: BLE001 - broken mail: noted as a defect
        return _unparseable(raw, [f"parse: {type(exc).__name__}"])
    defects += [type(d).__name__ for d in msg.defects]
    headers = _header_values(msg, defects)
    if not headers:
        return _unparseable(raw, defects + ["no headers"])
    plain, html_part = _body_parts(msg, defects)
    text = _part_text(plain, defects) if plain is not None else ""
    html: str | None = None
    if html_part is not None:
        raw_html = _part_text(html_part, defects)
        html = sanitize_html(raw_html)
        if not text.strip():
            text = html_to_text(html)
    # A single text part, or a multipart whose boundary never came: its text as is.
    if plain is None and html_part is None and isinstance(msg.get_payload(), str) and (
            msg.get_content_maintype() in ("text", "multipart") or msg.defects):
        text = _part_text(msg, defects)
    body_ids = {id(p) for p in (plain, html_part) if p is not None}
    get = headers.get
    try:
        report = _delivery_report(msg)
    except Exception as exc:  # noqa: BLE001 - broken mail: noted as a defect
        defects.append(f"report: {type(exc).__name__}")
        report = None
    senders = _addresses(get("from", ()))
    reply_to = _addresses(get("reply-to", ()))
    ids = message_ids(" ".join(get("message-id", ())))
    return ParsedMail(
        message_id=ids[0] if ids else None,
        in_reply_to=message_ids(" ".join(get("in-reply-to", ()))),
        references=message_ids(" ".join(get("references", ()))),
        subject=(get("subject") or ("",))[0][:1000],
        sender=senders[0] if senders else None,
        reply_to=reply_to[0] if reply_to else None,
        to=_addresses(get("to", ())), cc=_addresses(get("cc", ())),
        text=text.replace("\r\n", "\n").replace("\x00", ""),
        html=html, content_type=msg.get_content_type(), headers=headers,
        attachments=_attachments(msg, body_ids), report=report,
        defects=tuple(dict.fromkeys(defects)),
    )


def _unparseable(raw: bytes, defects: list[str]) -> ParsedMail:
    text, _ = decode_bytes(raw, None)
    return ParsedMail(None, (), (), "", None, None, (), (), text.replace("\x00", ""), None,
                      "application/octet-stream", {}, (), None, tuple(defects), True)
