"""What the media, assist and ticket-draft tests share: a real PNG, and the knowledge base's
app with the tickets' routes and pages beside it (``kb_app.kb_app``)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from kb_app import KbEnv, kb_app

from contactcenter.kb.settings import KbSettings
from contactcenter.storage.database import Database


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid PNG of one colour, that a browser decodes (its natural size proves it)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@asynccontextmanager
async def desk(database: Database, password_hash: str,
               settings: KbSettings) -> AsyncIterator[KbEnv]:
    """Auth, the knowledge base's and the tickets' routes and pages on 127.0.0.1."""
    async with kb_app(database, password_hash, settings, with_tickets=True) as env:
        yield env
