"""The HTTP side of articles' images and attachments: upload, list, remove, and the files.

An upload is the file's raw bytes as the request body (``?filename=``), read up to the limit
and no further (413 past it), so no multipart parser sits in front of the type check. The
files are served at ``/kb/media/<key>/<filename>`` with the type decided at upload, ``nosniff``
and a policy that runs nothing; attachments only as downloads. A file whose article the reader
may not read answers 404 (``kb/media.py``).
"""

from __future__ import annotations

import json
import urllib.parse

from aiohttp import web

from contactcenter.kb.media import MAX_FILE, MediaLibrary
from contactcenter.kb.model import Audience, KbError
from contactcenter.kb.routes import kb_error
from contactcenter.web.openapi import api_doc
from contactcenter.web.roles import PUBLIC, STAFF, requires
from contactcenter.web.security import json_error, query_text, read_capped

_KEY = "{key:[0-9a-f]{32}}"
_ARTICLE = "/api/kb/articles/{article_id:[0-9]{1,9}}/media"
_MEDIA_OUT = {"type": "object", "description": "a stored file: key, filename, kind (image, "
                                               "file), content_type, size, url, markdown"}
_FILE_HEADERS = {"X-Content-Type-Options": "nosniff",
                 "Content-Security-Policy": "default-src 'none'; sandbox",
                 "Cross-Origin-Resource-Policy": "same-origin"}


def _too_large(_size: int = 0) -> web.HTTPException:
    return web.HTTPRequestEntityTooLarge(
        max_size=MAX_FILE, actual_size=MAX_FILE + 1, content_type="application/json",
        text=json.dumps({"error": f"a file may be at most {MAX_FILE // 1024 // 1024} MiB"}))


class MediaRoutes:
    """The handlers over one ``MediaLibrary``."""

    def __init__(self, media: MediaLibrary) -> None:
        self.media = media

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(_ARTICLE, self.upload),
            web.get(_ARTICLE, self.listing, allow_head=False),
            web.delete(f"/api/kb/media/{_KEY}", self.remove),
            web.get(f"/kb/media/{_KEY}/{{name:[^/]{{1,200}}}}", self.file),
        ]

    @requires(*STAFF)
    @api_doc(tags=("kb",), query={"filename": {"type": "string", "minLength": 1,
                                              "maxLength": 200, "required": True}},
             request={"type": "string", "format": "binary", "minLength": 1,
                      "description": "the file's bytes (an empty file is refused)"},
             body_type="application/octet-stream",
             responses={201: _MEDIA_OUT, 409: {"description": "the article has its most files"},
                        413: {"type": "object"},
                        415: {"type": "object", "description": "bytes of no type stored"}})
    async def upload(self, request: web.Request) -> web.Response:
        """Store a file for an article: the raw bytes as the body. Images (PNG, JPEG, GIF,
        WebP by their bytes; 5 MiB) show in the article, other files (pdf, txt, csv, zip,
        docx, xlsx, pptx, odt, ods; 10 MiB) are downloads. ``markdown`` refers to it."""
        filename = query_text(request, "filename", 200)
        if not filename:
            raise json_error(web.HTTPBadRequest, "filename is required")
        data = await read_capped(request, MAX_FILE, _too_large)
        try:
            media = await self.media.upload(request["actor"].username,
                                            int(request.match_info["article_id"]), filename, data)
        except KbError as exc:
            if exc.kind == "too_large":
                raise _too_large() from None
            raise kb_error(exc) from None
        return web.json_response(media.as_json(), status=201)

    @requires(*STAFF)
    @api_doc(tags=("kb",), responses={200: {"type": "array", "items": _MEDIA_OUT}})
    async def listing(self, request: web.Request) -> web.Response:
        """The article's files, oldest first."""
        found = await self.media.of_article(int(request.match_info["article_id"]))
        return web.json_response([m.as_json() for m in found])

    @requires(*STAFF)
    @api_doc(tags=("kb",), responses={204: {"description": "removed"}})
    async def remove(self, request: web.Request) -> web.Response:
        """Delete a file: its URL answers 404 from then on (articles still naming it show a
        broken image or link)."""
        try:
            await self.media.remove(request["actor"].username, request.match_info["key"])
        except KbError as exc:
            raise kb_error(exc) from None
        return web.Response(status=204)

    @requires(PUBLIC)
    async def file(self, request: web.Request) -> web.Response:
        """A stored file: to everybody when its article is published, else to whoever may
        read the article; 404 otherwise."""
        actor = request.get("actor")
        audience = (Audience.PUBLIC if actor is None else
                    Audience.STAFF if actor.role in STAFF else Audience.AGENT)
        try:
            media, data, public = await self.media.read(request.match_info["key"], audience)
        except KbError:
            raise web.HTTPNotFound(text="no such file", headers=_FILE_HEADERS) from None
        quoted = urllib.parse.quote(media.filename)
        disposition = "inline" if media.kind == "image" else "attachment"
        headers = {**_FILE_HEADERS,
                   "Content-Type": media.content_type,
                   "Content-Disposition": f"{disposition}; filename*=UTF-8''{quoted}",
                   "Cache-Control": "public, max-age=300" if public else "private, no-cache",
                   "ETag": f'"{media.sha256}"'}
        if request.headers.get("If-None-Match") == headers["ETag"]:
            return web.Response(status=304, headers={
                k: v for k, v in headers.items() if k in ("ETag", "Cache-Control")})
        return web.Response(body=data, headers=headers)
