"""The files of a mail: found in its raw bytes, typed from their own bytes, added to a mail we
send. Pure: no I/O.

Design note: a received mail's files are not copied anywhere; the mail is kept byte for byte
(``ticket_mails.raw``) and a file is named by its place in it: the number of its MIME part in
``walk()`` order, which the same bytes always give again. What is a file follows the parser's
list (``parse.py``): every leaf part but the body's text and HTML, forwarded messages and
delivery-report parts, so an inline image (``Content-ID``) is a file too. The type a file is
served as comes from its bytes, never from the sender's label: PNG, JPEG, GIF and WebP by their
magic, PDF and ZIP likewise, anything else ``application/octet-stream`` (so an HTML or SVG file
is a download, never a page of ours).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

MAX_PARTS = 100  # the files listed of one mail (what parse.py lists too)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


@dataclass(frozen=True, slots=True)
class FoundFile:
    """One file of a mail, with its bytes."""

    part: int  # its number in walk() order
    filename: str  # as the sender named it, made safe (never empty)
    declared_type: str  # what the mail said
    content_type: str  # what its bytes are (``sniff``)
    inline: bool  # Content-Disposition inline, or a Content-ID (an image in the HTML)
    content_id: str | None
    data: bytes


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """A file an agent attaches to a reply: checked already (``attachments.py``)."""

    filename: str
    content_type: str
    data: bytes


def sniff(data: bytes) -> str:
    """The type ``data`` is served as, from its bytes (see the module's note)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"PK\x03\x04"):
        return "application/zip"
    return "application/octet-stream"


def safe_filename(name: str, part: int) -> str:
    """``name`` as a download's file name: one line, no path, no control or shell-special
    characters, at most 150 characters; ``part-N`` when nothing is left."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = " ".join(_UNSAFE.sub("_", base).split()).strip(". ")[:150].strip(". ")
    return cleaned or f"part-{part}"


def _message(raw: bytes) -> EmailMessage | None:
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception:  # noqa: BLE001 - a mail the parser cannot read has no files to list
        return None
    return msg if isinstance(msg, EmailMessage) else None


def _body_ids(msg: EmailMessage) -> set[int]:
    ids: set[int] = set()
    for kind in ("plain", "html"):
        try:
            body = msg.get_body(preferencelist=(kind,))
        except Exception:  # noqa: BLE001, S112 - a broken structure: no body part to skip
            continue
        if body is not None:
            ids.add(id(body))
    return ids


def _is_file(part: Message, body: set[int]) -> bool:
    if part.is_multipart() or id(part) in body:
        return False
    kind = part.get_content_type()
    if kind.startswith("message/") or kind == "text/rfc822-headers":
        return False
    return not (part.get_content_disposition() is None and not part.get_filename()
                and kind.startswith("text/"))


def _files(msg: EmailMessage) -> Iterator[FoundFile]:
    body = _body_ids(msg)
    found = 0
    for number, part in enumerate(msg.walk()):
        if found >= MAX_PARTS:
            return
        try:
            if not _is_file(part, body):
                continue
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            cid = str(part.get("Content-ID") or "").strip().strip("<>")[:200] or None
            name = safe_filename(str(part.get_filename() or ""), number)
            declared = part.get_content_type()
        except Exception:  # noqa: BLE001, S112 - one broken part costs that part only
            continue
        found += 1
        yield FoundFile(number, name, declared, sniff(data),
                        part.get_content_disposition() == "inline" or cid is not None, cid,
                        data)


def files_of(raw: bytes) -> list[FoundFile]:
    """Every file of the mail ``raw`` (none when it cannot be parsed at all)."""
    msg = _message(raw)
    return [] if msg is None else list(_files(msg))


def file_at(raw: bytes, part: int) -> FoundFile | None:
    """The file that is part number ``part`` of ``raw``, if that part is one."""
    msg = _message(raw)
    if msg is None:
        return None
    return next((f for f in _files(msg) if f.part == part), None)


def attach(msg: EmailMessage, files: Sequence[OutgoingFile]) -> None:
    """Add ``files`` to ``msg``, which becomes multipart/mixed (its text first)."""
    for f in files:
        maintype, _, subtype = f.content_type.partition(";")[0].strip().partition("/")
        msg.add_attachment(f.data, maintype=maintype or "application",
                           subtype=subtype or "octet-stream", filename=f.filename)
