"""The panel: the agent desktop (/agent), the wallboard (/wallboard), the admin console (/admin).

Design note: the pages span contexts (an agent's state from routing, their call from voice,
live calls from monitoring), so they sit above all of them; each context serves its own JSON
routes (call controls in ``voice/routes.py``, flows in ``ivr/routes.py``, queues and agents in
``routing/admin_routes.py``) and this module only the panel's own reads. An agent acts only on
their own agent id (taken from the session, never from the request).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from aiohttp import web

from contactcenter.domain.clock import Clock
from contactcenter.monitoring.service import MonitorService
from contactcenter.panel.wallboard import WallboardPublisher, agent_message, call_json
from contactcenter.routing.config import RoutingConfig
from contactcenter.routing.service import RoutingService
from contactcenter.routing.tables import RoutingInteractionRow
from contactcenter.voice.routes import own_agent
from contactcenter.web.auth import AUTH_KEY
from contactcenter.web.openapi import api_doc
from contactcenter.web.pages import add_pages
from contactcenter.web.roles import (
    ANY_USER,
    STAFF,
    Actor,
    requires,
)

STATIC_DIR = Path(__file__).with_name("static")
PAGES = ("agent", "wallboard", "admin")
HISTORY_SCAN = 2000


class PanelServices(Protocol):
    """What the panel needs from the composition root (``ContactCenter`` satisfies it)."""

    routing: RoutingService
    ivr_settings: Any  # IvrSettings: timezone
    monitor: MonitorService
    pool: Any  # AmiPool: pool[pbx].send_action(headers)
    audit: Any  # AuditLog: await record(actor, action, target, outcome, detail)
    clock: Clock

    @property
    def routing_config(self) -> RoutingConfig: ...  # read-only: ContactCenter derives it


PANEL_KEY = web.AppKey("cc_panel", object)


class Panel:
    """The panel's handlers over one ``PanelServices``."""

    def __init__(self, services: PanelServices, publisher: WallboardPublisher) -> None:
        self.s = services
        self.publisher = publisher

    def routes(self) -> list[web.RouteDef]:
        """Every route of the panel."""
        return [
            web.get("/api/panel/me", self.me),
            web.get("/api/panel/current", self.current),
            web.get("/api/panel/wallboard", self.wallboard),
            web.get("/api/panel/config", self.config),
        ]

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
    @api_doc(responses={200: {"description": "my interactions now"},
                        409: {"description": "your user is not linked to an agent"}})
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


def add_panel(app: web.Application, services: PanelServices) -> Panel:
    """Install the panel pages, static assets, JSON API and the wallboard publisher on ``app``."""
    reports = getattr(services, "reports", None)  # the day's figures, as the reports count them
    publisher = WallboardPublisher(services.routing, app[AUTH_KEY].live.publish, services.monitor,
                                   today=reports.today_by_queue if reports is not None else None,
                                   ivr_today=reports.ivr_today_by_flow if reports else None)
    panel = Panel(services, publisher)
    app[PANEL_KEY] = panel
    app.add_routes(panel.routes())
    add_pages(app, "panel", STATIC_DIR, PAGES)

    async def start(_app: web.Application) -> None:
        publisher.start()

    async def stop(_app: web.Application) -> None:
        await publisher.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
    return panel
