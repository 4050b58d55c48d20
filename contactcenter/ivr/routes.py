"""The flows' admin API: list, read, validate and save IVR flow files (``/api/panel/flows``).

Design note: a flow edit is validated with the loader (schema, graph, subflows) before anything
touches the disk (in a worker thread, with a time limit: ``web.uploads``); an invalid flow is
refused with ``file:line:col`` errors and the file is left as it was; a valid one is written atomically and picked up by the registry at once. Saves,
refused or not, are audited.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from contactcenter.common.yamlfile import SourceError, SourceErrors
from contactcenter.ivr.checker import ID_RE
from contactcenter.ivr.loader import check_subflows, flow_name, is_flow_file, load_flow_text
from contactcenter.ivr.registry import FlowRegistry
from contactcenter.web.openapi import api_doc, read_declared_json
from contactcenter.web.roles import ADMIN, Actor, requires
from contactcenter.web.security import json_error
from contactcenter.web.uploads import CHECK_TIMEOUT, check_off_loop

MAX_FLOW_BYTES = 256 * 1024
_NAME = f"{{name:{ID_RE.pattern}}}"  # a flow's name is a flow id (ivr/checker.py)
_TEXT_BODY: dict[str, Any] = {"type": "object", "required": ["text"], "properties": {
    "text": {"type": "string", "maxLength": MAX_FLOW_BYTES,
             "description": "the flow file's YAML (at most 256 KiB as UTF-8)"}}}
_ERROR_ITEM: dict[str, Any] = {"type": "object", "properties": {
    "file": {"type": "string"}, "line": {"type": "integer"}, "col": {"type": "integer"},
    "message": {"type": "string"}, "text": {"type": "string"}}}
_CHECKED: dict[str, Any] = {"type": "object", "properties": {
    "ok": {"type": "boolean"}, "errors": {"type": "array", "items": _ERROR_ITEM}}}
_NOT_CHECKED = {"description": "invalid (errors), or not checked in time: nothing was saved"}


def _error_json(err: SourceError) -> dict[str, Any]:
    return {"file": err.mark.file, "line": err.mark.line, "col": err.mark.col,
            "message": err.message, "text": str(err)}


def _shown(text: str, flows_dir: Path) -> str:
    # Where the server keeps its files is nobody's business over HTTP: name them by file.
    return text.replace(f"{flows_dir}{os.sep}", "")


class FlowAdmin:
    """Handlers over the flows directory and the registry that serves it."""

    def __init__(self, flows: FlowRegistry, flows_dir: Path, audit: Any,
                 check_timeout: float = CHECK_TIMEOUT) -> None:
        self.flows = flows
        self.flows_dir = flows_dir
        self.audit = audit
        self.check_timeout = check_timeout

    def routes(self) -> list[web.RouteDef]:
        """Every route of the flows' admin API."""
        return [
            web.get("/api/panel/flows", self.list_flows),
            web.get(f"/api/panel/flows/{_NAME}", self.get_flow),
            web.post(f"/api/panel/flows/{_NAME}/validate", self.validate_flow),
            web.put(f"/api/panel/flows/{_NAME}", self.save_flow),
        ]

    def _flow_path(self, request: web.Request) -> Path:
        name = request.match_info["name"]
        path = self.flows_dir / f"{name}.yaml"
        if not is_flow_file(path) or flow_name(path) != name:
            raise json_error(web.HTTPBadRequest, "not a valid flow name")
        return path

    @requires(ADMIN)
    @api_doc(responses={200: {"type": "object"}}, tags=("flows",))
    async def list_flows(self, request: web.Request) -> web.Response:
        """Every flow file with its loaded version and any reload errors."""
        loaded = self.flows.snapshot()
        out = []
        for path in sorted(p for p in self.flows_dir.iterdir() if p.is_file() and is_flow_file(p)):
            flow = loaded.get(flow_name(path))
            out.append({"name": flow_name(path), "file": path.name,
                        "version": getattr(flow, "version", None), "loaded": flow is not None,
                        "errors": [_shown(e, self.flows_dir)
                                   for e in self.flows.errors.get(str(path), [])]})
        return web.json_response({"flows": out})

    @requires(ADMIN)
    @api_doc(responses={200: {"type": "object", "properties": {
        "name": {"type": "string"}, "file": {"type": "string"}, "text": {"type": "string"}}},
        400: {"description": "not a valid flow name"}}, tags=("flows",))
    async def get_flow(self, request: web.Request) -> web.Response:
        """One flow file's text."""
        path = self._flow_path(request)
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            raise json_error(web.HTTPNotFound, "no such flow") from None
        return web.json_response({"name": flow_name(path), "file": path.name, "text": text})

    async def _checked(self, request: web.Request) -> tuple[Path, str, list[SourceError]]:
        path = self._flow_path(request)
        body = await read_declared_json(request, MAX_FLOW_BYTES + 1024)
        text = body.get("text")
        if not isinstance(text, str) or len(text.encode("utf-8", "surrogatepass")) > MAX_FLOW_BYTES:
            raise json_error(web.HTTPBadRequest, "text must be a string of at most 256 KiB")
        errors = await check_off_loop(validate_flow_text, text, path, self.flows.snapshot(),
                                      timeout=self.check_timeout)
        return path, text, errors

    @requires(ADMIN)
    @api_doc(request=_TEXT_BODY, responses={200: _CHECKED, 422: _NOT_CHECKED}, tags=("flows",))
    async def validate_flow(self, request: web.Request) -> web.Response:
        """Check a flow text without saving: {ok, errors: [{file, line, col, message}]}."""
        _path, _text, errors = await self._checked(request)
        return web.json_response({"ok": not errors, "errors": [_error_json(e) for e in errors]})

    @requires(ADMIN)
    @api_doc(request=_TEXT_BODY, responses={200: {**_CHECKED, "properties": {
        **_CHECKED["properties"], "name": {"type": "string"},
        "version": {"type": ["string", "null"]}}}, 422: _NOT_CHECKED}, tags=("flows",))
    async def save_flow(self, request: web.Request) -> web.Response:
        """Validate then save a flow; an invalid one is refused (422) and nothing changes."""
        actor: Actor = request["actor"]
        path, text, errors = await self._checked(request)
        name = flow_name(path)
        if errors:
            await self.audit.record(actor.username, "flows.save", name, "refused",
                                      {"errors": [str(e) for e in errors[:20]]})
            return web.json_response({"error": "invalid flow: nothing was saved", "ok": False,
                                      "errors": [_error_json(e) for e in errors]}, status=422)
        _write_atomically(path, text)
        self.flows.poll()  # the watcher would find it within its interval; do not wait
        flow = self.flows.get(name)
        await self.audit.record(actor.username, "flows.save", name, "ok",
                                  {"version": getattr(flow, "version", None)})
        return web.json_response({"ok": True, "name": name,
                                  "version": getattr(flow, "version", None), "errors": []})


def validate_flow_text(text: str, path: Path, loaded: Mapping[str, Any]) -> list[SourceError]:
    """Every problem in ``text`` as the flow file ``path`` (schema, graph, subflows), located
    by the file's name only (the answer goes to a browser)."""
    try:
        flow = load_flow_text(text, path.name)
    except SourceErrors as exc:
        return list(exc.errors)
    candidates = dict(loaded)
    candidates[flow.name] = flow
    return check_subflows(candidates).get(flow.name, [])


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)  # hidden: not a flow
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
