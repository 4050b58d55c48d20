"""The HTTP side of ticket files (``attachments.py``).

  GET  /api/tickets/{id}/attachments      the files of the ticket's messages (who may see it)
  GET  /api/tickets/attachments/{file_id} one file, always as a download
  POST /api/tickets/{id}/replies/files    multipart/form-data: text, status?, seen? (JSON),
                                          file (repeated): a public reply carrying the files
  GET  /api/tickets/attachment-settings   what a reply may carry (the page checks early)

A reply's form is read part by part, each file up to ``tickets.attachments.max_bytes`` and no
further (413 past it), the count up to ``max_files`` (409), before anything is stored. Every
file goes out as ``Content-Disposition: attachment`` with a plain ASCII name and its UTF-8
form, the type decided from its bytes (never ``text/html`` or anything a browser runs),
``nosniff`` and a policy that runs nothing; a file the reader may not read is 404.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import warnings
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import BadContentDispositionHeader

from contactcenter.tickets.attachment_index import TicketFile
from contactcenter.tickets.attachments import (
    AttachmentRefused,
    TicketAttachments,
    check_file,
    too_large,
)
from contactcenter.tickets.mail.attached import OutgoingFile
from contactcenter.tickets.model import Status, TicketError, TicketUnprocessable
from contactcenter.tickets.routes import TEXT_PATTERN, who_of
from contactcenter.tickets.view_mark import StaleView, ViewMark, parse_mark
from contactcenter.web.openapi import api_doc
from contactcenter.web.roles import ANY_USER, requires
from contactcenter.web.security import json_error

_ID = "{ticket_id:[0-9]{1,9}}"
_FILE_ID = "{file_id:[0-9]{1,9}}"
TEXT_MAX = 200_000  # characters, as a JSON reply's text
_FIELD_MAX = 4 * TEXT_MAX  # bytes of a form field (UTF-8)
_SERVED = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf",
           "application/zip"}
_FILE_HEADERS = {"X-Content-Type-Options": "nosniff",
                 "Content-Security-Policy": "default-src 'none'; sandbox",
                 "Cache-Control": "private, no-store",
                 "Cross-Origin-Resource-Policy": "same-origin"}
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
_STATUS: dict[int, type[web.HTTPException]] = {
    403: web.HTTPForbidden, 404: web.HTTPNotFound, 409: web.HTTPConflict,
    413: web.HTTPRequestEntityTooLarge, 415: web.HTTPUnsupportedMediaType,
    422: web.HTTPUnprocessableEntity}
_REPLY_FORM = {
    "type": "object", "required": ["text"], "additionalProperties": False,
    "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": TEXT_MAX,
                 "pattern": TEXT_PATTERN},
        "status": {"type": "string", "enum": [s.value for s in Status]},
        "seen": {"type": "string", "description": "the view's mark as JSON "
                                                  "({\"article\": n, \"history\": m})"},
        "file": {"type": "array", "items": {"type": "string", "format": "binary"},
                 "description": "each file (tickets.attachments: count, size, types)"}}}


def _error(exc: TicketError) -> web.HTTPException:
    return json_error(_STATUS.get(exc.status, web.HTTPBadRequest), str(exc))


def disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` and the exact UTF-8 ``filename*``."""
    plain = _ASCII_UNSAFE.sub("_", filename).strip() or "file"
    return (f'attachment; filename="{plain}"; '
            f"filename*=UTF-8''{urllib.parse.quote(filename, safe='')}")


def served_type(found: TicketFile) -> str:
    """What a file is served as: its sniffed type when it is one we let through, else bytes."""
    return found.content_type if found.content_type in _SERVED else "application/octet-stream"


async def _read_part(part: BodyPartReader, limit: int, refusal: TicketError) -> bytes:
    chunks, size = [], 0
    while chunk := await part.read_chunk(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise refusal
        chunks.append(chunk)
    return b"".join(chunks)


class AttachmentRoutes:
    """The handlers over one ``TicketAttachments``."""

    def __init__(self, attachments: TicketAttachments) -> None:
        self.attachments = attachments

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/tickets/attachment-settings", self.limits, allow_head=False),
            web.get(f"/api/tickets/attachments/{_FILE_ID}", self.file, allow_head=False),
            web.get(f"/api/tickets/{_ID}/attachments", self.listing, allow_head=False),
            web.post(f"/api/tickets/{_ID}/replies/files", self.reply),
        ]

    @requires(*ANY_USER)
    @api_doc(responses={200: {"type": "object",
                              "description": "{max_files, max_bytes, types}"}},
             tags=("tickets",))
    async def limits(self, request: web.Request) -> web.Response:
        """GET /api/tickets/attachment-settings: what a reply may carry."""
        s = self.attachments.settings
        return web.json_response({"max_files": s.max_files, "max_bytes": s.max_bytes,
                                  "types": list(s.types)})

    @requires(*ANY_USER)
    @api_doc(responses={200: {"type": "object", "description": "{attachments: [...]}: id, "
                                                               "article_id, filename, "
                                                               "content_type, size, url"}},
             tags=("tickets",))
    async def listing(self, request: web.Request) -> web.Response:
        """GET /api/tickets/{ticket_id}/attachments: the files of the ticket's messages."""
        try:
            found = await self.attachments.listing(int(request.match_info["ticket_id"]),
                                                   who_of(request))
        except TicketError as exc:
            raise _error(exc) from None
        return web.json_response({"attachments": [f.as_json() for f in found]})

    @requires(*ANY_USER)
    @api_doc(responses={200: {"description": "the file, as a download"}}, tags=("tickets",))
    async def file(self, request: web.Request) -> web.Response:
        """GET /api/tickets/attachments/{file_id}: one file of a ticket I may see."""
        try:
            found, data = await self.attachments.read(int(request.match_info["file_id"]),
                                                      who_of(request))
        except TicketError:
            raise web.HTTPNotFound(
                text=json.dumps({"error": "no such file"}), content_type="application/json",
                headers=_FILE_HEADERS) from None
        return web.Response(body=data, headers={
            **_FILE_HEADERS, "Content-Type": served_type(found),
            "Content-Disposition": disposition(found.filename)})

    @requires(*ANY_USER)
    @api_doc(request=_REPLY_FORM, body_type="multipart/form-data", tags=("tickets",),
             responses={201: {"type": "object", "description": "the reply (article) and "
                                                              "its attachments"},
                        409: {"description": "closed, stale, too many files, or no address "
                                             "to mail to"},
                        413: {"type": "object"}, 415: {"type": "object"},
                        422: {"type": "object", "description": "seen is not a view's mark"}})
    async def reply(self, request: web.Request) -> web.Response:
        """POST /api/tickets/{ticket_id}/replies/files: a public reply with files."""
        form: dict[str, str] = {}
        files: list[OutgoingFile] = []
        try:
            try:
                await self._read_form(request, form, files)
            except (AssertionError, ValueError, LookupError, HttpProcessingError):  # aiohttp's
                raise TicketError("the body must be well-formed multipart/form-data") from None
            article = await self.attachments.reply(
                int(request.match_info["ticket_id"]), who_of(request), _text(form), files,
                _status(form), seen=_seen(form))
            listed = await self.attachments.listing(article.ticket_id, who_of(request))
        except StaleView as exc:
            return web.json_response({"error": str(exc), "changes": exc.changes}, status=409)
        except TicketError as exc:
            raise _error(exc) from None
        out: dict[str, Any] = article.as_json()
        out["attachments"] = [f.as_json() for f in listed if f.article_id == article.id]
        return web.json_response(out, status=201)


    async def _read_form(self, request: web.Request, form: dict[str, str],
                         files: list[OutgoingFile]) -> None:
        """The form's fields into ``form``, its files (checked) into ``files``."""
        settings = self.attachments.settings
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise TicketError("a nested multipart is not taken")
            name, filename = _disposition(part)
            if name == "file":
                if len(files) >= settings.max_files:
                    raise AttachmentRefused(
                        f"a reply may carry at most {settings.max_files} files", 409)
                data = await _read_part(part, settings.max_bytes, too_large(settings))
                files.append(check_file(settings, filename or "", data))
            elif name in ("text", "status", "seen") and name not in form:
                raw = await _read_part(part, _FIELD_MAX, TicketError(f"{name} is too long"))
                form[name] = raw.decode("utf-8", errors="replace")
            else:
                raise TicketError(f"unknown or repeated field {str(name)[:40]!r}")


def _disposition(part: BodyPartReader) -> tuple[str | None, str | None]:
    """The part's field name and file name. aiohttp gives up on a quoted file name holding
    ';' (``filename="orders 1;2;3.pdf"``, as Chromium sends it) and names neither; the
    standard library's MIME parameter parser reads the same header right."""
    with warnings.catch_warnings():  # aiohttp warns of the header it cannot read: we can
        warnings.simplefilter("ignore", BadContentDispositionHeader)
        name, filename = part.name, part.filename
    if name is not None:
        return name, filename
    header = Message()
    header["Content-Disposition"] = part.headers.get("Content-Disposition", "")
    param = header.get_param("name", header="content-disposition")
    return (collapse_rfc2231_value(param) if param is not None else None), header.get_filename()


def _text(form: dict[str, str]) -> str:
    text = form.get("text", "")
    if not text or len(text) > TEXT_MAX or "\x00" in text:
        raise TicketError(f"text: 1-{TEXT_MAX} characters, no NUL")
    return text


def _status(form: dict[str, str]) -> Status | None:
    if not form.get("status"):
        return None
    try:
        return Status(form["status"])
    except ValueError:
        raise TicketError("unknown status") from None


def _seen(form: dict[str, str]) -> ViewMark | None:
    if not form.get("seen"):
        return None
    try:
        return parse_mark(json.loads(form["seen"]))
    except (ValueError, TypeError):
        # The form is well-formed and the field a string, as documented: its content is what
        # cannot be used (422), as a wrong mark in the JSON reply's body is.
        raise TicketUnprocessable("seen must be the view's mark as JSON") from None


def add_attachment_routes(app: web.Application, attachments: TicketAttachments) -> None:
    """Install the ticket file routes on ``app``."""
    app.add_routes(AttachmentRoutes(attachments).routes())
