"""The web panel: pages (/login, /agent, /wallboard, /admin), static assets, and their JSON API.

Design note: pages and static files are public (they hold no data); everything they show comes
from the JSON routes below, each declaring its roles, so the auth middleware guards the data
and CSRF-checks every change. An agent acts only on their own agent id (taken from the session,
never from the request). Call controls (hang up, transfer, hold, resume) are in
``call_controls.py``; they act on the agent's own leg of the call the queue engine connected.
Flow edits are validated with the IVR loader (schema, graph, subflows) before anything
touches the disk; an invalid flow is refused with ``file:line:col`` errors and the file is left
as it was; a valid one is written atomically and picked up by the registry at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from aiohttp import web

from contactcenter.common.yamlfile import SourceError, SourceErrors
from contactcenter.domain.clock import Clock
from contactcenter.ivr.loader import check_subflows, flow_name, is_flow_file, load_flow_text
from contactcenter.ivr.registry import FlowRegistry
from contactcenter.monitoring.service import MonitorService
from contactcenter.routing.config import RoutingConfig
from contactcenter.routing.service import RoutingService
from contactcenter.storage.interaction_log import RoutingInteractionRow
from contactcenter.web.auth import AUTH_KEY
from contactcenter.web.call_controls import CallControls, own_agent
from contactcenter.web.roles import (
    ADMIN,
    ANY_USER,
    PUBLIC,
    STAFF,
    Actor,
    add_public_static,
    requires,
)
from contactcenter.web.security import json_error, read_json_object
from contactcenter.web.wallboard import WallboardPublisher, agent_message, call_json

STATIC_DIR = Path(__file__).with_name("static")
PAGES = ("login", "agent", "wallboard", "admin")
MAX_FLOW_BYTES = 256 * 1024
HISTORY_SCAN = 2000


class PanelServices(Protocol):
    """What the panel needs from the composition root (``ContactCenter`` satisfies it)."""

    routing: RoutingService
    flows: FlowRegistry
    ivr_settings: Any  # IvrSettings: flows_dir, timezone
    monitor: MonitorService
    pool: Any  # AmiPool: pool[pbx].send_action(headers)
    audit: Any  # AuditLog: await record(actor, action, target, outcome, detail)
    voice: Any  # VoiceQueue: the connected calls' controls
    callbacks: Any  # CallbackCalls: for the call controls
    recording: Any  # RecordingService: for the call controls
    clock: Clock

    @property
    def routing_config(self) -> RoutingConfig: ...  # read-only: ContactCenter derives it


PANEL_KEY = web.AppKey("cc_panel", object)


def _error_json(err: SourceError) -> dict[str, Any]:
    return {"file": err.mark.file, "line": err.mark.line, "col": err.mark.col,
            "message": err.message, "text": str(err)}


class Panel:
    """The panel's handlers over one ``PanelServices``."""

    def __init__(self, services: PanelServices, publisher: WallboardPublisher) -> None:
        self.s = services
        self.publisher = publisher
        self.flows_dir = Path(services.ivr_settings.flows_dir)

    def routes(self) -> list[web.RouteDef]:
        """Every route of the panel."""
        pages = [web.get(f"/{name}", self.page) for name in PAGES]
        return [
            web.get("/", self.index), *pages,
            web.get("/api/panel/me", self.me),
            web.get("/api/panel/current", self.current),
            *CallControls(self.s).routes(),
            web.get("/api/panel/wallboard", self.wallboard),
            web.get("/api/panel/config", self.config),
            web.get("/api/panel/flows", self.list_flows),
            web.get("/api/panel/flows/{name}", self.get_flow),
            web.post("/api/panel/flows/{name}/validate", self.validate_flow),
            web.put("/api/panel/flows/{name}", self.save_flow),
        ]

    # --- pages ------------------------------------------------------------------------------

    @requires(PUBLIC)
    async def index(self, request: web.Request) -> web.StreamResponse:
        """The root sends people to the login page."""
        raise web.HTTPFound("/login")

    @requires(PUBLIC)
    async def page(self, request: web.Request) -> web.StreamResponse:
        """One panel page (its data comes from role-checked API calls)."""
        name = request.path.strip("/")
        return web.FileResponse(STATIC_DIR / f"{name}.html",
                                headers={"Cache-Control": "no-cache",
                                         "Content-Security-Policy": "default-src 'self'; "
                                         "connect-src 'self' ws: wss:; frame-ancestors 'none'"})

    # --- agent ------------------------------------------------------------------------------

    @requires(*ANY_USER)
    async def me(self, request: web.Request) -> web.Response:
        """Who I am, my agent view, my queues' wrap-up times and my figures for today."""
        actor: Actor = request["actor"]
        out: dict[str, Any] = {"user": {"username": actor.username, "role": actor.role,
                                        "agent_id": actor.agent_id}}
        if actor.agent_id and actor.agent_id in self.s.routing_config.agents:
            out.update(agent_message(self.s.routing, actor.agent_id))
            out["figures"] = await self.figures_today(actor.agent_id)
            out["all_queues"] = sorted(self.s.routing_config.queues)
        return web.json_response(out)

    async def figures_today(self, agent_id: str) -> dict[str, Any]:
        """Answered, handled, talk and handle time, dispositions: since local midnight."""
        log = self.s.routing.log
        if log is None:
            return {}
        tz = ZoneInfo(getattr(self.s.ivr_settings, "timezone", None) or "UTC")
        now = dt.datetime.fromtimestamp(self.s.clock.time(), tz)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        await self.s.routing.flush()
        rows = [r for r in await log.events(agent_id=agent_id, limit=20_000) if r["at"] >= midnight]
        talk = [r.get("talk_s", 0.0) for r in rows if r["kind"] == "complete"]
        handle = [r.get("handle_s", 0.0) for r in rows if r["kind"] == "wrapup-done"]
        dispositions: dict[str, int] = {}
        for r in rows:
            if r["kind"] == "wrapup-done":
                key = r.get("disposition") or "(timer)"
                dispositions[key] = dispositions.get(key, 0) + 1
        return {"answered": sum(1 for r in rows if r["kind"] == "connect"),
                "completed": len(talk), "talk_s": round(sum(talk), 1),
                "avg_handle_s": round(sum(handle) / len(handle), 1) if handle else None,
                "missed": sum(1 for r in rows if r["kind"] == "ring-no-answer"),
                "dispositions": dispositions}

    @requires(*ANY_USER)
    async def current(self, request: web.Request) -> web.Response:
        """My interactions now: the screen-pop data and the caller's previous interactions."""
        agent_id = own_agent(request)
        view = self.s.routing.agent(agent_id)
        items = []
        for work in view.work:
            rec = self.s.routing.engine.live.get(work["interaction_id"])
            data = dict(rec.data) if rec is not None else {}
            caller = str(data.get("caller_id") or "")
            items.append({**work, "data": data,
                          "history": await self.history(caller, work["interaction_id"])})
        return web.json_response({"agent_id": agent_id, "state": view.state, "work": items})

    async def history(self, caller_id: str, exclude: str, limit: int = 10) -> list[dict[str, Any]]:
        """The caller's previous interactions, newest first (scan of the recent ones)."""
        log = self.s.routing.log
        if not caller_id or log is None:
            return []
        await self.s.routing.flush()
        query = (sa.select(RoutingInteractionRow)
                 .order_by(RoutingInteractionRow.arrived_at.desc()).limit(HISTORY_SCAN))
        async with log.db.session() as session:
            rows = (await session.execute(query)).scalars().all()
        found = []
        for r in rows:
            if r.id != exclude and str((r.data or {}).get("caller_id") or "") == caller_id:
                found.append({"interaction_id": r.id, "queue": r.queue, "state": r.state,
                              "agent_id": r.agent_id, "arrived_at": r.arrived_at,
                              "ivr_path": (r.data or {}).get("ivr_path")})
                if len(found) >= limit:
                    break
        return found

    # --- supervisor -------------------------------------------------------------------------

    @requires(*STAFF)
    async def wallboard(self, request: web.Request) -> web.Response:
        """The wallboard document now (the page then follows the ``wallboard`` live topic)."""
        return web.json_response(self.publisher.current())

    @requires(*STAFF)
    async def config(self, request: web.Request) -> web.Response:
        """Queues and agents as configured (read-only)."""
        cfg = self.s.routing_config
        return web.json_response({
            "queues": [{"name": q.name, "strategy": q.strategy.value, "skills": dict(q.skills),
                        "wrapup_s": q.wrapup_s, "ring_timeout_s": q.ring_timeout_s,
                        "service_level_s": getattr(q, "service_level_s", None)}
                       for q in cfg.queues.values()],
            "agents": [{"id": a.id, "name": a.name, "dial_string": a.dial_string,
                        "skills": dict(a.skills), "queues": list(a.queues)}
                       for a in cfg.agents.values()],
            "live_calls": [call_json(c, self.s.routing.on_hold_since(c.interaction_id))
                           for c in self.s.monitor.live_calls()],
        })

    # --- admin: flows -----------------------------------------------------------------------

    def _flow_path(self, request: web.Request) -> Path:
        name = request.match_info["name"]
        path = self.flows_dir / f"{name}.yaml"
        if not is_flow_file(path) or flow_name(path) != name:
            raise json_error(web.HTTPBadRequest, "not a valid flow name")
        return path

    @requires(ADMIN)
    async def list_flows(self, request: web.Request) -> web.Response:
        """Every flow file with its loaded version and any reload errors."""
        loaded = self.s.flows.snapshot()
        out = []
        for path in sorted(p for p in self.flows_dir.iterdir() if p.is_file() and is_flow_file(p)):
            flow = loaded.get(flow_name(path))
            out.append({"name": flow_name(path), "file": str(path),
                        "version": getattr(flow, "version", None), "loaded": flow is not None,
                        "errors": self.s.flows.errors.get(str(path), [])})
        return web.json_response({"flows": out})

    @requires(ADMIN)
    async def get_flow(self, request: web.Request) -> web.Response:
        """One flow file's text."""
        path = self._flow_path(request)
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            raise json_error(web.HTTPNotFound, "no such flow") from None
        return web.json_response({"name": flow_name(path), "file": str(path), "text": text})

    async def _checked(self, request: web.Request) -> tuple[Path, str, list[SourceError]]:
        path = self._flow_path(request)
        body = await read_json_object(request, MAX_FLOW_BYTES + 1024)
        text = body.get("text")
        if not isinstance(text, str) or len(text.encode("utf-8", "surrogatepass")) > MAX_FLOW_BYTES:
            raise json_error(web.HTTPBadRequest, "text must be a string of at most 256 KiB")
        return path, text, validate_flow_text(text, path, self.s.flows.snapshot())

    @requires(ADMIN)
    async def validate_flow(self, request: web.Request) -> web.Response:
        """Check a flow text without saving: {ok, errors: [{file, line, col, message}]}."""
        _path, _text, errors = await self._checked(request)
        return web.json_response({"ok": not errors, "errors": [_error_json(e) for e in errors]})

    @requires(ADMIN)
    async def save_flow(self, request: web.Request) -> web.Response:
        """Validate then save a flow; an invalid one is refused (422) and nothing changes."""
        actor: Actor = request["actor"]
        path, text, errors = await self._checked(request)
        name = flow_name(path)
        if errors:
            await self.s.audit.record(actor.username, "flows.save", name, "refused",
                                      {"errors": [str(e) for e in errors[:20]]})
            return web.json_response({"ok": False, "errors": [_error_json(e) for e in errors]},
                                     status=422)
        _write_atomically(path, text)
        self.s.flows.poll()  # the watcher would find it within its interval; do not wait
        flow = self.s.flows.get(name)
        await self.s.audit.record(actor.username, "flows.save", name, "ok",
                                  {"version": getattr(flow, "version", None)})
        return web.json_response({"ok": True, "name": name,
                                  "version": getattr(flow, "version", None), "errors": []})


def validate_flow_text(text: str, path: Path, loaded: Mapping[str, Any]) -> list[SourceError]:
    """Every problem in ``text`` as the flow file ``path`` (schema, graph, subflows)."""
    try:
        flow = load_flow_text(text, str(path))
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


def add_panel(app: web.Application, services: PanelServices) -> Panel:
    """Install the panel pages, static assets, JSON API and the wallboard publisher on ``app``."""
    publisher = WallboardPublisher(services.routing, app[AUTH_KEY].live.publish, services.monitor)
    panel = Panel(services, publisher)
    app[PANEL_KEY] = panel
    app.add_routes(panel.routes())
    add_public_static(app, "/static/", STATIC_DIR)

    async def start(_app: web.Application) -> None:
        publisher.start()

    async def stop(_app: web.Application) -> None:
        await publisher.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
    return panel
