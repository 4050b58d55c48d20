"""The customer page (``/customers/{id}``): one customer's record with their calls, chats and
tickets, newest first; and the screen pop's way to it (a caller's customer by phone).

Design note: a customer's history spans three channels that never import each other, so it is
read here, above them, from each context's tables (read-only, as the panel's "previous
interactions" already reads routing's): calls are voice interactions whose caller id is the
customer's phone, chats are conversations whose pre-chat answers give the customer's email or
phone, tickets are those linked to the record (``customer_id``) or with its email or phone.

Who may look: staff every customer; an agent a customer one of whose calls, chats or tickets
was theirs (the call on their screen now included). Anyone else gets 404, as for a customer
who does not exist.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from contactcenter.chat.rating import may_see
from contactcenter.chat.tables import ChatConversationRow, ChatRatingRow
from contactcenter.recording.access import may_access
from contactcenter.recording.service import RecordingService
from contactcenter.routing.service import RoutingService
from contactcenter.routing.tables import RoutingInteractionRow
from contactcenter.storage.customers import normalize_phone
from contactcenter.storage.database import Database
from contactcenter.storage.tables import CustomerRow
from contactcenter.tickets.tables import TicketRow
from contactcenter.web.openapi import api_doc
from contactcenter.web.pages import PAGE_HEADERS
from contactcenter.web.roles import ANY_USER, PUBLIC, STAFF, Actor, requires
from contactcenter.web.security import json_error

STATIC_DIR = Path(__file__).with_name("static")
LIMIT = 100  # items per channel on the page, newest first
_PHONE = re.compile(r"^\+?[0-9]{1,31}$")


def _phones(phone: str) -> list[str]:
    """The caller ids a stored phone may arrive as (with and without a leading ``+``)."""
    bare = phone.lstrip("+")
    return sorted({phone, bare, "+" + bare}) if bare else []


class CustomerHistory:
    """Reads one customer's record and history for one user."""

    def __init__(self, db: Database, routing: RoutingService,
                 recordings: RecordingService | None = None) -> None:
        self.db, self.routing, self.recordings = db, routing, recordings

    async def history(self, customer_id: int, actor: Actor) -> dict[str, Any] | None:
        """The customer and their calls, chats and tickets (None: absent, or not for you)."""
        await self.routing.flush()  # the call on the agent's screen is in the log
        async with self.db.session() as s:
            customer = await s.get(CustomerRow, customer_id)
            if customer is None:
                return None
            phones = _phones(customer.phone)
            email = (customer.email or "").lower()
            calls = await self._calls(s, phones)
            chats = await self._chats(s, phones, email)
            tickets = await self._tickets(s, customer.id, phones, email)
        agent = actor.agent_id
        if actor.role not in STAFF and not (agent and any(
                item.get("agent_id") == agent or item.get("assignee") == agent
                for item in (*calls, *chats, *tickets))):
            return None
        for call in calls:
            call["recordings"] = await self._recordings(call["interaction_id"], actor)
        for chat in chats:  # a chat's rating is for staff and the chat's agent (as its API)
            if not may_see(actor, chat["agent_id"]):
                chat["rating"] = None
        return {
            "customer": {"id": customer.id, "phone": customer.phone, "name": customer.name,
                         "account": customer.account, "tier": customer.tier,
                         "notes": customer.notes, "email": customer.email},
            "calls": calls, "chats": chats, "tickets": tickets,
        }

    async def by_phone(self, phone: str, actor: Actor) -> dict[str, Any] | None:
        """The customer whose phone this caller id is, if ``actor`` may see their page."""
        key = normalize_phone(phone)
        if not key:
            return None
        async with self.db.session() as s:
            found = (await s.execute(sa.select(CustomerRow.id, CustomerRow.name).where(
                CustomerRow.phone.in_(_phones(key))).order_by(CustomerRow.id).limit(1))).first()
        if found is None:
            return None
        if await self.history(int(found.id), actor) is None:
            return None
        return {"id": int(found.id), "name": found.name, "url": f"/customers/{found.id}"}

    @staticmethod
    async def _calls(s: Any, phones: list[str]) -> list[dict[str, Any]]:
        row = RoutingInteractionRow
        rows = (await s.execute(
            sa.select(row).where(row.channel == "voice",
                                 row.data["caller_id"].as_string().in_(phones))
            .order_by(row.arrived_at.desc()).limit(LIMIT))).scalars().all()
        return [{"interaction_id": r.id, "queue": r.queue, "state": r.state,
                 "agent_id": r.agent_id, "at": r.arrived_at,
                 "flow": (r.data or {}).get("flow"),
                 "disposition": (r.data or {}).get("disposition")} for r in rows]

    @staticmethod
    async def _chats(s: Any, phones: list[str], email: str) -> list[dict[str, Any]]:
        keys = [k for k in (email, *phones) if k]
        if not keys:
            return []
        row = ChatConversationRow
        # The answers are a JSON list: a text match narrows, the exact answer decides.
        text = sa.cast(row.answers, sa.Text)
        rating = ChatRatingRow
        rows = (await s.execute(
            sa.select(row, rating.rating, rating.comment)
            .outerjoin(rating, rating.conversation_id == row.id)
            .where(sa.or_(*(text.contains(k) for k in keys)))
            .order_by(row.created_at.desc()).limit(LIMIT))).all()
        out = []
        for r, score, comment in rows:
            values = {str(a.get("value") or "").strip().lower() for a in r.answers or ()
                      if isinstance(a, dict)}
            dialled = {normalize_phone(v) for v in values} - {""}
            if (email and email in values) or dialled & set(phones):
                out.append({"conversation_id": r.id, "channel": r.channel, "queue": r.queue,
                            "state": r.state, "agent_id": r.agent_id, "at": r.created_at,
                            "visitor_name": r.visitor_name,
                            "rating": {"rating": score, "comment": comment or ""}
                            if score is not None else None})
        return out

    @staticmethod
    async def _tickets(s: Any, customer_id: int, phones: list[str],
                       email: str) -> list[dict[str, Any]]:
        row = TicketRow
        match = [row.customer_id == customer_id, row.requester_phone.in_(phones)]
        if email:
            match.append(row.requester_email == email)
        rows = (await s.execute(sa.select(row).where(sa.or_(*match))
                                .order_by(row.created_at.desc()).limit(LIMIT))).scalars().all()
        return [{"id": r.id, "subject": r.subject, "status": r.status, "origin": r.origin,
                 "queue": r.queue, "assignee": r.assignee, "at": r.created_at,
                 "url": f"/tickets?id={r.id}"} for r in rows]

    async def _recordings(self, interaction_id: str, actor: Actor) -> list[dict[str, Any]]:
        if self.recordings is None:
            return []
        found = await self.recordings.index.for_interaction(interaction_id)
        return [{"id": rec.id, "audio_url": f"/api/recordings/{rec.id}/audio"}
                for rec in found if may_access(actor, rec, self.recordings.policies)]


class CustomerRoutes:
    """The page and its JSON API."""

    def __init__(self, history: CustomerHistory) -> None:
        self.h = history

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/customers/{customer_id:[0-9]{1,9}}", self.page, allow_head=False),
            web.get("/api/customers/{customer_id:[0-9]{1,9}}/history", self.history,
                    allow_head=False),
            web.get("/api/customers/by-phone/{phone}", self.by_phone, allow_head=False),
        ]

    @requires(PUBLIC)
    async def page(self, request: web.Request) -> web.StreamResponse:
        """The page (public like every page: its data comes from the role-checked API)."""
        return web.FileResponse(STATIC_DIR / "customer.html", headers=PAGE_HEADERS)

    @requires(*ANY_USER)
    @api_doc(responses={200: {"type": "object", "description": "the customer, their calls, "
                                                                 "chats and tickets"},
                        404: {"description": "no such customer (or not one of yours)"}},
             tags=("customers",))
    async def history(self, request: web.Request) -> web.Response:
        """GET /api/customers/{customer_id}/history: the record and the customer's calls,
        chats and tickets, newest first (agents: customers of their own interactions)."""
        found = await self.h.history(int(request.match_info["customer_id"]), request["actor"])
        if found is None:
            raise json_error(web.HTTPNotFound, "no such customer")
        return web.json_response(found)

    @requires(*ANY_USER)
    @api_doc(responses={200: {"type": "object", "description": "{id, name, url}"},
                        404: {"description": "no customer with this phone (for you)"}},
             tags=("customers",))
    async def by_phone(self, request: web.Request) -> web.Response:
        """GET /api/customers/by-phone/{phone}: the customer a caller id belongs to, for the
        screen pop's link to their page."""
        phone = request.match_info["phone"]
        if not _PHONE.match(phone):
            raise json_error(web.HTTPNotFound, "no such customer")
        found = await self.h.by_phone(phone, request["actor"])
        if found is None:
            raise json_error(web.HTTPNotFound, "no such customer")
        return web.json_response(found)


def add_customer_page(app: web.Application, db: Database, routing: RoutingService,
                      recordings: RecordingService | None = None) -> None:
    """Install ``/customers/{id}`` and its API on ``app``."""
    app.add_routes(CustomerRoutes(CustomerHistory(db, routing, recordings)).routes())
