"""Files on tickets: the list of a ticket's files, one file for a reader, and the files an
agent's reply carries.

Design note: the mail is the store. A received mail is kept byte for byte in ``ticket_mails``
whatever became of it, and so is every reply we send, as the outbox's copy; a file is a part
of one of those mails, listed in ``ticket_attachments`` (``attachment_index.py``) and cut out
of the mail when it is read. We chose this over copying files into a store of our own (as the
chat's ``attachments_dir``) because the mail is kept anyway: a second copy would double the
bytes, could drift from the mail, and would live outside the database, so a backup (which
carries the database) would carry the mails but not their files; and no path on disk is ever
named after anything a sender chose. The cost is a parse of the mail per download, bounded by
the listener's ``max_message_bytes`` (received) and ``attachments`` limits (sent). A mail the
parser can make nothing of lists no files, but it is kept: staff download it whole
(``GET /api/tickets/{id}/mails/{mail_id}/raw``, which existed before the files did).

Who reads a file follows its ticket's own rule (``TicketService.ticket``: staff every ticket,
an agent the tickets assigned to them); anyone else gets "not found", as for the ticket. A
file's type is decided from its bytes (``mail/attached.py``); the route serves every file as a
download. What an agent attaches is checked like a knowledge-base attachment (``kb/media.py``:
images by their magic, other files by extension *and* content), then held against
``tickets.attachments`` (how many, how large, which types); the browser's name and type decide
nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from contactcenter.kb.media import IMAGE_EXTENSIONS, clean_filename, sniff_image
from contactcenter.kb.media import classify as kb_classify
from contactcenter.kb.model import KbError
from contactcenter.tickets.attachment_index import TicketFile, file_of, files_of_ticket
from contactcenter.tickets.mail.attached import OutgoingFile, file_at
from contactcenter.tickets.model import Article, Status, TicketError, TicketNotFound, Visibility
from contactcenter.tickets.service import TicketService, Who
from contactcenter.tickets.settings import AttachmentSettings
from contactcenter.tickets.tables import TicketArticleRow, TicketAttachmentRow, TicketMailRow
from contactcenter.tickets.view_mark import ViewMark


class AttachmentRefused(TicketError):
    """A file a reply may not carry: ``status`` 413 (too large), 415 (a type not taken), 409
    (too many files), 422 (empty), else 400."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def size_text(size: int) -> str:
    """``size`` bytes for people: 5 MB, 300 KB."""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.3g} MB"
    return f"{max(1, size // 1024)} KB"


def too_large(settings: AttachmentSettings) -> AttachmentRefused:
    """The refusal of a file above ``max_bytes``."""
    return AttachmentRefused(f"a file may be at most {size_text(settings.max_bytes)}", 413)


def check_file(settings: AttachmentSettings, filename: str, data: bytes) -> OutgoingFile:
    """An agent's file as it will be mailed: named and typed from its bytes; refused when the
    tickets do not take it."""
    if not data:
        raise AttachmentRefused("the file is empty", 422)  # a well-formed form, an unusable file
    if len(data) > settings.max_bytes:
        raise too_large(settings)
    image = sniff_image(data)
    if image is not None:
        ext = IMAGE_EXTENSIONS[image]
    else:
        stem, _, ext = clean_filename(filename).rpartition(".")
        ext = ext.lower() if stem else ""
    if ext not in settings.types:
        raise AttachmentRefused("a reply may carry only these files: "
                                f"{', '.join(settings.types)}", 415)
    try:
        _kind, content_type, name = kb_classify(filename, data)
    except KbError as exc:  # the content is not what its extension says, or an image too big
        raise AttachmentRefused(str(exc), 413 if exc.kind == "too_large" else 415) from None
    return OutgoingFile(name, content_type.partition(";")[0].strip(), data)


class TicketAttachments:
    """The files of tickets, over one ``TicketService``."""

    def __init__(self, service: TicketService) -> None:
        self.service = service

    @property
    def settings(self) -> AttachmentSettings:
        return self.service.settings.attachments

    async def listing(self, ticket_id: int, who: Who) -> list[TicketFile]:
        """The files of every message of a ticket ``who`` may see."""
        await self.service.ticket(ticket_id, who)
        async with self.service.store.session() as s:
            return await files_of_ticket(s, ticket_id)

    async def read(self, file_id: int, who: Who) -> tuple[TicketFile, bytes]:
        """One file and its bytes, for a reader of its ticket; ``TicketNotFound`` otherwise
        (and when its mail no longer holds those exact bytes)."""
        async with self.service.store.session() as s:
            row = await s.get(TicketAttachmentRow, file_id)
            article = await s.get(TicketArticleRow, row.article_id) if row else None
            mail = await s.get(TicketMailRow, row.mail_id) if row else None
            found = file_of(row) if row is not None else None
            raw = mail.raw if mail is not None else None
        if found is None or article is None or raw is None:
            raise TicketNotFound("no such file")
        await self.service.ticket(article.ticket_id, who)  # its read rule, 404 alike
        part = file_at(raw, found.part)
        if part is None or hashlib.sha256(part.data).hexdigest() != found.sha256:
            raise TicketNotFound("no such file")
        return found, part.data

    async def reply(self, ticket_id: int, who: Who, text: str, files: Sequence[OutgoingFile],
                    status: Status | None = None, seen: ViewMark | None = None) -> Article:
        """A public reply carrying ``files`` (each checked by ``check_file``)."""
        if len(files) > self.settings.max_files:
            raise AttachmentRefused(f"a reply may carry at most {self.settings.max_files} "
                                    "files", 409)
        return await self.service.write(ticket_id, text, who, Visibility.PUBLIC, status,
                                        seen=seen, files=files)
