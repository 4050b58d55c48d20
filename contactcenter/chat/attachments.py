"""Files sent in a chat, both ways: typed from their bytes, kept outside the web root, read by
the conversation's participants only.

Design note: a file is a message of the conversation (numbered, stored and delivered like any
other, so a reconnect's backlog, a transfer's transcript and the history carry it) whose
``attachment`` names the file; its text is the file's name, which is what a plain transcript
(QA, a ticket, an export) shows. The type is decided from the bytes by the knowledge base's
checks (``kb/media.py``: images by their magic bytes, SVG refused; other files by extension
*and* content), then held against the channel's ``attachments.types``; the browser's name and
Content-Type decide nothing. The bytes go to ``attachments_dir/<key[:2]>/<key>`` (a random
128-bit key, no name or extension of the sender's on disk) and a ``chat_attachments`` row says
whose conversation it is. Reading follows the transcript's rule: the visitor by its
conversation token (an ``Authorization`` header, never in a URL), the agent who has the chat
or an invited colleague, supervisors and admins; anyone else gets "not found".
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from contactcenter.chat.core import hash_token
from contactcenter.chat.errors import ChatError, ConflictError, ForbiddenError, NotFoundError
from contactcenter.chat.model import ConversationState, Message, Sender
from contactcenter.chat.service import ChatService
from contactcenter.chat.settings import AttachmentSettings
from contactcenter.chat.tables import ChatAttachmentRow
from contactcenter.common.sliding_window import SlidingWindow
from contactcenter.kb.media import IMAGE_EXTENSIONS, clean_filename, sniff_image
from contactcenter.kb.media import classify as kb_classify
from contactcenter.kb.model import KbError
from contactcenter.storage.database import Database
from contactcenter.web.roles import STAFF, Actor


class AttachmentRefused(ChatError):
    """A file the chat does not take: ``kind`` is why (too_large 413, unsupported 415, else
    the chat's own statuses)."""

    def __init__(self, kind: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


def too_large(settings: AttachmentSettings) -> AttachmentRefused:
    """The refusal of a file above the channel's ``max_bytes``."""
    return AttachmentRefused("too_large", f"a file may be at most {size_text(settings.max_bytes)}",
                             413)


def size_text(size: int) -> str:
    """``size`` bytes for people: 5 MB, 300 KB."""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.3g} MB"
    return f"{max(1, size // 1024)} KB"


def classify(settings: AttachmentSettings, filename: str, data: bytes) -> tuple[str, str, str]:
    """(kind ``image``/``file``, content type, clean file name) of ``data``, decided from its
    bytes; ``AttachmentRefused`` when the channel does not take it."""
    if not data:
        raise AttachmentRefused("invalid", "the file is empty")
    if len(data) > settings.max_bytes:
        raise too_large(settings)
    image = sniff_image(data)
    if image is not None:
        kind_name = IMAGE_EXTENSIONS[image]
    else:
        stem, _, ext = clean_filename(filename).rpartition(".")
        kind_name = ext.lower() if stem else ""
    if kind_name not in settings.types:
        raise AttachmentRefused("unsupported", "this chat takes only these files: "
                                               f"{', '.join(settings.types)}", 415)
    try:
        return kb_classify(filename, data)
    except KbError as exc:  # the content does not match its extension, or an image too big
        raise AttachmentRefused(exc.kind, str(exc),
                                413 if exc.kind == "too_large" else 415) from None


def widget_config(settings: AttachmentSettings) -> dict[str, Any]:
    """What the widget and the agent's card need to offer files (and refuse a large one early)."""
    return {"enabled": settings.enabled, "max_bytes": settings.max_bytes,
            "types": list(settings.types)}


@dataclass(frozen=True, slots=True)
class Attachment:
    """One stored file (without its bytes)."""

    key: str
    conversation_id: str
    sender: str
    agent_id: str | None
    filename: str
    kind: str  # image, file
    content_type: str
    size: int
    sha256: str
    created_at: float

    def summary(self) -> dict[str, Any]:
        """What its message carries (``Message.attachment``)."""
        return {"key": self.key, "filename": self.filename, "kind": self.kind,
                "content_type": self.content_type, "size": self.size}


def _attachment(row: ChatAttachmentRow) -> Attachment:
    return Attachment(row.key, row.conversation_id, row.sender, row.agent_id, row.filename,
                      row.kind, row.content_type, row.size, row.sha256, row.created_at)


def relative_path(key: str) -> str:
    """Where ``key``'s bytes are under the attachments root (a backup lists them by it);
    ValueError for anything but a key."""
    if len(key) != 32 or not all(c in "0123456789abcdef" for c in key):
        raise ValueError("not an attachment key")
    return f"{key[:2]}/{key}"


class AttachmentFiles:
    """The bytes on disk: ``root/<key[:2]>/<key>``, written whole or not at all, mode 0600."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / relative_path(key)

    def _write(self, key: str, data: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def write(self, key: str, data: bytes) -> None:
        """Store ``data`` as ``key`` (in a worker thread: files are up to megabytes)."""
        await asyncio.to_thread(self._write, key, data)

    async def read(self, key: str) -> bytes:
        """The bytes of ``key``; FileNotFoundError when they are gone."""
        return await asyncio.to_thread(self.path(key).read_bytes)

    async def remove(self, key: str) -> None:
        """Delete ``key``'s bytes, if any."""
        await asyncio.to_thread(self.path(key).unlink, True)


async def forget_files(db: Database, files: AttachmentFiles,
                       conversation_ids: list[str]) -> None:
    """Delete the files of these conversations, bytes and rows (the server's retention pass
    and ``contactcenter chat purge`` call it before their transcripts go)."""
    async with db.session() as s, s.begin():
        where = ChatAttachmentRow.conversation_id.in_(conversation_ids)
        keys = list((await s.execute(sa.select(ChatAttachmentRow.key).where(where))).scalars())
        await s.execute(sa.delete(ChatAttachmentRow).where(where))
    for key in keys:
        await files.remove(key)


class ChatAttachments:
    """Send and read the files of conversations, over one ``ChatService``."""

    def __init__(self, service: ChatService, root: Path) -> None:
        self.service = service
        self.files = AttachmentFiles(root)
        self._uploads = SlidingWindow(service.settings.messages_per_minute, 60.0)

    def settings_of(self, channel: str) -> AttachmentSettings:
        """The attachment settings of chat channel ``channel`` (refused when it takes none)."""
        found = self.service.channel(channel)
        if found is None or not found.attachments.enabled:
            raise AttachmentRefused("disabled", "this chat takes no files", 404)
        return found.attachments

    # ----------------------------------------------------------------- sending
    async def from_visitor(self, channel: str, conversation_id: str, token: str, filename: str,
                           data: bytes, client_id: str | None) -> Message:
        """The visitor sends a file: checked, stored, then a message of the conversation (a
        resend with the same ``client_id`` returns the first one)."""
        settings = self.settings_of(channel)
        live = self.service.live_of(conversation_id)
        if live is None or live.record.channel != channel \
                or not hmac.compare_digest(live.token_hash, hash_token(token)):
            raise ForbiddenError("unknown conversation or wrong token")
        if client_id is not None:
            known = live.client_ids.get(client_id) or await self.service.store.by_client_id(
                conversation_id, client_id)
            if known is not None:
                return known
        if live.state in (ConversationState.CLOSED, ConversationState.BOT):
            raise ConflictError("files can be sent once a person is in the chat"
                                if live.state is ConversationState.BOT else "the chat has ended")
        if self._uploads.hit(conversation_id, self.service.clock.time()) > 0:
            raise AttachmentRefused("rate-limited", "too many files; slow down", 429)
        kind, content_type, name = classify(settings, filename, data)
        stored = await self._store(live.id, settings, "visitor", None, kind, content_type,
                                   name, data)
        message = await self._send(live, Sender.VISITOR, stored, live.record.visitor_name,
                                   None, client_id)
        self.service.timeouts.visitor_spoke(live)
        return message

    async def from_agent(self, agent_id: str, conversation_id: str, filename: str,
                         data: bytes) -> Message:
        """The agent who has the chat (or an invited colleague) sends a file to the visitor."""
        live = self.service.live_of(conversation_id)
        if live is None:
            raise NotFoundError("no open conversation with that id")
        if agent_id not in self.service.agents_in(live):
            raise ForbiddenError("not your conversation")
        settings = self.settings_of(live.record.channel)
        if live.state is not ConversationState.ACTIVE:
            raise ConflictError(f"the conversation is {live.state.value}, not active")
        kind, content_type, name = classify(settings, filename, data)
        stored = await self._store(live.id, settings, "agent", agent_id, kind, content_type,
                                   name, data)
        agent = self.service.routing.config.agents.get(agent_id)
        message = await self._send(live, Sender.AGENT, stored,
                                   (agent.name if agent is not None else "") or agent_id,
                                   agent_id, None)
        if not live.idle_warned:
            self.service.timeouts.visitor_turn(live)  # silence from now on counts
        return message

    async def _store(self, conversation_id: str, settings: AttachmentSettings, sender: str,
                     agent_id: str | None, kind: str, content_type: str, name: str,
                     data: bytes) -> Attachment:
        async with self.service.store.db.session() as s, s.begin():
            count = await s.scalar(sa.select(sa.func.count()).select_from(ChatAttachmentRow)
                                   .where(ChatAttachmentRow.conversation_id == conversation_id))
            if (count or 0) >= settings.max_per_conversation:
                raise AttachmentRefused("limit", f"a chat may have at most "
                                                 f"{settings.max_per_conversation} files", 409)
        key = secrets.token_hex(16)
        await self.files.write(key, data)
        row = ChatAttachmentRow(key=key, conversation_id=conversation_id, sender=sender,
                                agent_id=agent_id, filename=name, kind=kind,
                                content_type=content_type, size=len(data),
                                sha256=hashlib.sha256(data).hexdigest(),
                                created_at=self.service.clock.time())
        try:
            async with self.service.store.db.session() as s, s.begin():
                s.add(row)
        except BaseException:
            await self.files.remove(key)
            raise
        return _attachment(row)

    async def _send(self, live: Any, sender: Sender, stored: Attachment, name: str,
                    agent_id: str | None, client_id: str | None) -> Message:
        return await self.service.append(live, sender, stored.filename, name=name,
                                         agent_id=agent_id, client_id=client_id,
                                         attachment=stored.summary())

    async def forget(self, conversation_ids: list[str]) -> None:
        """Delete the files of these conversations, bytes and rows (retention's purge calls it
        before their transcripts go)."""
        await forget_files(self.service.store.db, self.files, conversation_ids)

    # ----------------------------------------------------------------- reading
    async def _find(self, key: str) -> Attachment | None:
        try:
            self.files.path(key)
        except ValueError:
            return None
        async with self.service.store.db.session() as s:
            row = await s.get(ChatAttachmentRow, key)
        return _attachment(row) if row is not None else None

    async def _bytes(self, found: Attachment) -> tuple[Attachment, bytes]:
        try:
            return found, await self.files.read(found.key)
        except FileNotFoundError:
            raise NotFoundError("no such file") from None

    async def for_visitor(self, channel: str, key: str, token: str) -> tuple[Attachment, bytes]:
        """A file of the visitor's own conversation (``token``), open or ended; else
        ``NotFoundError``."""
        found = await self._find(key)
        conv = await self.service.store.get(found.conversation_id) if found else None
        if found is None or conv is None or conv[0].channel != channel \
                or not hmac.compare_digest(conv[1], hash_token(token)):
            raise NotFoundError("no such file")
        return await self._bytes(found)

    async def for_user(self, actor: Actor, key: str) -> tuple[Attachment, bytes]:
        """A file for a panel user who may read its conversation's transcript: supervisors
        and admins, the agent who has (or last had) the chat, a colleague invited into it."""
        found = await self._find(key)
        record = await self.service.record(found.conversation_id) if found else None
        if found is None or record is None:
            raise NotFoundError("no such file")
        live = self.service.live_of(record.id)
        agent = actor.agent_id
        if actor.role not in STAFF and not (agent and (
                record.agent_id == agent or (live is not None and agent in live.guests))):
            raise NotFoundError("no such file")
        return await self._bytes(found)
