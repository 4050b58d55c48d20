"""Images and attachments of articles, stored in the database and served at stable URLs.

Design note: a file's type is decided here from its bytes, never from what the browser said.
An image is PNG, JPEG, GIF or WebP by its magic bytes (SVG is refused: it is a document that
can carry script); anything else must be one of the attachment types (``ATTACHMENTS``), whose
bytes must look like that type too, and is always served as a download (``Content-Disposition:
attachment``) with ``nosniff``, so no upload is ever rendered by the browser as a page. Who may
fetch a file follows its article: everybody once the article is published and shown, the
agents while it is internal, the staff always (``KnowledgeBase.readable``); any other reader
gets 404 as if it did not exist. The bytes live in ``kb_media`` so a backup carries them and
every server process behind one database serves the same URL.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from contactcenter.kb.model import Audience, KbError
from contactcenter.kb.service import KnowledgeBase
from contactcenter.kb.tables import KbArticleRow, KbMediaRow

MAX_IMAGE = 5 * 1024 * 1024
MAX_FILE = 10 * 1024 * 1024
MAX_FILES_PER_ARTICLE = 100
_ZIP = b"PK\x03\x04"
# extension -> (content type served, magic prefix the bytes must start with, or None for text)
ATTACHMENTS: dict[str, tuple[str, bytes | None]] = {
    "pdf": ("application/pdf", b"%PDF-"),
    "txt": ("text/plain; charset=utf-8", None),
    "csv": ("text/csv; charset=utf-8", None),
    "zip": ("application/zip", _ZIP),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", _ZIP),
    "odt": ("application/vnd.oasis.opendocument.text", _ZIP),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", _ZIP),
}
IMAGE_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif",
                    "image/webp": "webp"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sniff_image(data: bytes) -> str | None:
    """The image type of ``data`` by its magic bytes (png, jpeg, gif, webp), else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


MAX_NAME = 100


def clean_filename(name: str) -> str:
    """A file name safe in a URL and a header: its last path part, [A-Za-z0-9._-] only, at
    most ``MAX_NAME`` characters. A long name is cut in its stem: the extension decides
    whether the file is taken at all, so it must survive the cut."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("-", base).strip(".-")
    if len(cleaned) > MAX_NAME:
        stem, dot, ext = cleaned.rpartition(".")
        if dot and stem and len(ext) < 16:
            cleaned = stem[:MAX_NAME - len(ext) - 1].rstrip(".-") + "." + ext
        else:
            cleaned = cleaned[:MAX_NAME]
    return cleaned.strip(".-") or "file"


def classify(filename: str, data: bytes) -> tuple[str, str, str]:
    """(kind, content type, file name) of an upload, from its bytes; KbError when refused."""
    name = clean_filename(filename)
    stem, _, ext = name.rpartition(".")
    ext = ext.lower() if stem else ""
    if not data:
        raise KbError("invalid", "the file is empty")
    image = sniff_image(data)
    if image is not None:
        if len(data) > MAX_IMAGE:
            raise KbError("too_large", f"an image may be at most {MAX_IMAGE // 1024 // 1024} MiB")
        wanted = IMAGE_EXTENSIONS[image]
        if ext not in (wanted, "jpeg" if wanted == "jpg" else wanted):
            name = f"{stem or name}.{wanted}"[-100:]
        return "image", image, name
    if ext not in ATTACHMENTS:
        raise KbError("unsupported", "images must be PNG, JPEG, GIF or WebP (no SVG); "
                                     f"attachments one of {', '.join(sorted(ATTACHMENTS))}")
    content_type, magic = ATTACHMENTS[ext]
    if len(data) > MAX_FILE:
        raise KbError("too_large", f"an attachment may be at most {MAX_FILE // 1024 // 1024} MiB")
    if magic is not None and not data.startswith(magic):
        raise KbError("unsupported", f"the file's content is not a .{ext} file")
    if magic is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise KbError("unsupported", f"a .{ext} file must be UTF-8 text") from None
        if "\x00" in text:
            raise KbError("unsupported", f"a .{ext} file must be text")
    return "file", content_type, name


@dataclass(frozen=True, slots=True)
class Media:
    """One stored file (without its bytes)."""

    key: str
    article_id: int
    filename: str
    kind: str  # image, file
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    created_by: str

    @property
    def url(self) -> str:
        """Its stable address."""
        return f"/kb/media/{self.key}/{urllib.parse.quote(self.filename)}"

    @property
    def markdown(self) -> str:
        """How an article refers to it: an image, or a link to download."""
        label = self.filename.replace("[", "").replace("]", "")
        return f"![{label}]({self.url})" if self.kind == "image" else f"[{label}]({self.url})"

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "article_id": self.article_id, "filename": self.filename,
                "kind": self.kind, "content_type": self.content_type, "size": self.size,
                "sha256": self.sha256, "created_at": self.created_at.isoformat(),
                "created_by": self.created_by, "url": self.url, "markdown": self.markdown}


def _media(row: KbMediaRow) -> Media:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return Media(row.key, row.article_id, row.filename, row.kind, row.content_type, row.size,
                 row.sha256, created, row.created_by)


class MediaLibrary:
    """Upload, list, remove and read the files of articles."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    async def upload(self, actor: str, article_id: int, filename: str, data: bytes) -> Media:
        """Store ``data`` for the article (staff): its type from its bytes; audited."""
        kind, content_type, name = classify(filename, data)
        async with self.kb.db.session() as s:
            if await s.get(KbArticleRow, article_id) is None:
                raise KbError("not_found", f"no article {article_id}")
            count = await s.scalar(sa.select(sa.func.count()).select_from(KbMediaRow).where(
                KbMediaRow.article_id == article_id))
            if (count or 0) >= MAX_FILES_PER_ARTICLE:
                raise KbError("conflict", f"an article may have at most "
                                          f"{MAX_FILES_PER_ARTICLE} files")
            row = KbMediaRow(key=secrets.token_hex(16), article_id=article_id, filename=name,
                             kind=kind, content_type=content_type, size=len(data),
                             sha256=hashlib.sha256(data).hexdigest(), data=data,
                             created_at=datetime.fromtimestamp(self.kb.clock.time(), UTC),
                             created_by=actor)
            s.add(row)
            await s.commit()
            media = _media(row)
        await self.kb.audit.record(actor, "kb.media.upload", str(article_id), "ok", {
            "key": media.key, "filename": name, "kind": kind, "size": media.size})
        return media

    async def of_article(self, article_id: int) -> list[Media]:
        """The article's files, oldest first."""
        async with self.kb.db.session() as s:
            rows = (await s.execute(sa.select(KbMediaRow).where(
                KbMediaRow.article_id == article_id).order_by(KbMediaRow.id))).scalars()
            return [_media(r) for r in rows]

    async def remove(self, actor: str, key: str) -> None:
        """Delete a file (its URL then answers 404); audited."""
        async with self.kb.db.session() as s:
            row = await s.scalar(sa.select(KbMediaRow).where(KbMediaRow.key == key))
            if row is None:
                raise KbError("not_found", "no such file")
            article_id, name = row.article_id, row.filename
            await s.delete(row)
            await s.commit()
        await self.kb.audit.record(actor, "kb.media.delete", str(article_id), "ok",
                                   {"key": key, "filename": name})

    async def read(self, key: str, audience: Audience) -> tuple[Media, bytes, bool]:
        """The file and its bytes if ``audience`` may read its article (else not found), and
        whether everybody may (its article is published and shown)."""
        async with self.kb.db.session() as s:
            row = await s.scalar(sa.select(KbMediaRow).where(KbMediaRow.key == key))
            article = await s.get(KbArticleRow, row.article_id) if row is not None else None
            if row is None or not self.kb.readable(article, audience):
                raise KbError("not_found", "no such file")
            public = self.kb.readable(article, Audience.PUBLIC)
            return _media(row), bytes(row.data), public
