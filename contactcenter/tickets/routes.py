"""The tickets' HTTP API and the ``/tickets`` page.

Who: supervisors and admins every ticket; an agent the tickets assigned to them (lists, read,
reply, note, status, priority, tags, give back) and the offers made to them. Any logged-in
user may open a ticket (a call's wrap-up, a walk-in); only staff assign it by hand. A ticket
an agent may not see answers 404, as one that does not exist.

  GET   /api/tickets?view=mine|unassigned|all|overdue&queue=&status=&q=&type=
        &field=key:value (repeatable: a custom field's value)&limit=&offset=
  POST  /api/tickets                      {subject, text, requester{email,name,phone}, ...,
                                           type?, fields?: {key: value}}
  GET   /api/tickets/{id}                 the ticket, its thread, its history, its rating
  PATCH /api/tickets/{id}                 {status?, priority?, tags?, queue?, subject?,
                                           assignee? (null: back to the queue)}
  POST  /api/tickets/{id}/replies         {text, status?, seen?}: mailed to an email
                                          requester; 409 with what changed when seen is stale
  POST  /api/tickets/{id}/notes           {text}: internal
  GET   /api/tickets/offers               offers waiting for me (assignment: offer)
  POST  /api/tickets/next                 accept the oldest offer for me; else pull the best
                                          waiting ticket from the engine; else my next one
  POST  /api/tickets/{id}/accept | decline
  GET   /api/tickets/{id}/mails/{mail_id}/raw   a mail exactly as it came or went (staff)
  POST  /api/tickets/{id}/kb-draft        {locale?}: a solved ticket as a knowledge-base draft
  POST  /api/tickets/{id}/merge           {into, notify?}: merge this ticket into another
  POST  /api/tickets/{id}/split           {articles, subject?}: those messages to a new ticket
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from aiohttp import web

from contactcenter.kb.model import KbError, NewArticle
from contactcenter.kb.routes import kb_error
from contactcenter.kb.settings import LOCALE
from contactcenter.kb.wiring import KB_KEY
from contactcenter.routing.errors import RoutingError
from contactcenter.tickets.assignment import TicketRouting
from contactcenter.tickets.kb_draft import draft_from
from contactcenter.tickets.merge import SPLIT_MAX, TicketMerger
from contactcenter.tickets.model import (
    Author,
    NewTicket,
    Origin,
    Priority,
    Requester,
    Status,
    TicketChanges,
    TicketError,
    Visibility,
    clean_email,
    clean_line,
    clean_tags,
)
from contactcenter.tickets.service import TicketService, Who
from contactcenter.tickets.store import COUNT_MAX, ArticleDraft, TicketQuery
from contactcenter.tickets.view_mark import StaleView, mark_of, parse_mark
from contactcenter.web.openapi import api_doc, read_declared_json
from contactcenter.web.pages import add_pages
from contactcenter.web.roles import ANY_USER, STAFF, Actor, requires
from contactcenter.web.security import json_error, query_int, query_text

STATIC_DIR = Path(__file__).with_name("static")
_ID = "{ticket_id:[0-9]{1,9}}"
_MAIL_ID = "{mail_id:[0-9]{1,9}}"
# Not blank (the server refuses a text of spaces alone), no NUL (PostgreSQL cannot store it).
TEXT_PATTERN = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"
_TEXT = {"type": "string", "minLength": 1, "maxLength": 200_000, "pattern": TEXT_PATTERN}
_STATUS = {"type": "string", "enum": [s.value for s in Status]}
_PRIORITY = {"type": "string", "enum": [p.value for p in Priority]}
_TAGS = {"type": "array", "maxItems": 20, "items": {"type": "string", "maxLength": 32}}
_NEW_BODY = {
    "type": "object", "required": ["subject", "text", "requester"], "additionalProperties": False,
    "properties": {
        "subject": {"type": "string", "maxLength": 250}, "text": _TEXT,
        "requester": {"type": "object", "additionalProperties": False, "properties": {
            "email": {"type": "string", "maxLength": 254},
            "name": {"type": "string", "maxLength": 200},
            "phone": {"type": "string", "maxLength": 32}}},
        "origin": {"type": "string", "enum": [o.value for o in Origin]},
        "queue": {"type": "string", "minLength": 1, "maxLength": 64},
        "priority": _PRIORITY, "tags": _TAGS,
        "skills": {"type": "object", "additionalProperties": {"type": "integer",
                                                              "minimum": 1, "maximum": 10}},
        "assignee": {"type": "string", "maxLength": 64},
        "type": {"type": ["string", "null"], "maxLength": 32,
                 "description": "a ticket type (GET /api/tickets/fields)"},
        "fields": {"type": "object", "maxProperties": 100,
                   "description": "custom field values, checked as PATCH .../fields does",
                   "additionalProperties": {"type": ["string", "number", "boolean", "null"]}}}}
_PATCH_BODY = {
    "type": "object", "additionalProperties": False, "properties": {
        "subject": {"type": "string", "maxLength": 250, "pattern": "\\S"}, "status": _STATUS,
        "priority": _PRIORITY, "tags": _TAGS,
        "queue": {"type": "string", "minLength": 1, "maxLength": 64},
        "assignee": {"type": ["string", "null"], "maxLength": 64}}}
_SEEN = {"type": "object", "additionalProperties": False, "required": ["article", "history"],
         "description": "the view the reply was written on (GET's seen): refused if older",
         "properties": {"article": {"type": "integer", "minimum": 0, "maximum": 2 ** 53},
                        "history": {"type": "integer", "minimum": 0, "maximum": 2 ** 53}}}
_REPLY_BODY = {"type": "object", "required": ["text"], "additionalProperties": False,
               "properties": {"text": _TEXT, "status": _STATUS, "seen": _SEEN}}
_NOTE_BODY = {"type": "object", "required": ["text"], "additionalProperties": False,
              "properties": {"text": _TEXT}}
_MERGE_BODY = {"type": "object", "required": ["into"], "additionalProperties": False,
               "properties": {
                   "into": {"type": "integer", "minimum": 1, "maximum": 999_999_999,
                            "description": "the ticket that takes this one's thread"},
                   "notify": {"type": "boolean",
                              "description": "tell this ticket's requester (a public reply)"}}}
_SPLIT_BODY = {"type": "object", "required": ["articles"], "additionalProperties": False,
               "properties": {
                   "articles": {"type": "array", "minItems": 1, "maxItems": SPLIT_MAX,
                                "items": {"type": "integer", "minimum": 1}},
                   "subject": {"type": "string", "maxLength": 250, "pattern": "\\S"}}}
_DRAFT_BODY = {"type": "object", "additionalProperties": False, "properties": {
    "locale": {"type": "string", "pattern": LOCALE.pattern, "maxLength": 16,
               "description": "the article's locale (default: the knowledge base's first)"}}}
_VIEWS = ("mine", "unassigned", "all", "overdue")
_NOT_ROUTED = {"description": "your user is not linked to an agent, or tickets are not routed"}
_TICKET = {"type": "object", "description": "a ticket (id, subject, status, priority, ...)"}


def who_of(request: web.Request) -> Who:
    actor: Actor = request["actor"]
    return Who(actor.username, actor.agent_id, actor.role in STAFF)


def _error(exc: TicketError,
           refused: type[web.HTTPException] = web.HTTPBadRequest) -> web.HTTPException:
    """``refused``: the status of a plain refusal (422 where the body's form was checked)."""
    kinds: dict[int, type[web.HTTPException]] = {
        403: web.HTTPForbidden, 404: web.HTTPNotFound, 409: web.HTTPConflict,
        422: web.HTTPUnprocessableEntity}
    return json_error(kinds.get(exc.status, refused), str(exc))


# A body of the declared form (checked first: 400) that the service refuses (no such queue, a
# requester with neither email nor phone, an e-mail address that is not one): 422
_REFUSED = {"description": "the body has the declared form, but its content is refused"}


def _ticket_id(request: web.Request) -> int:
    return int(request.match_info["ticket_id"])


class TicketRoutes:
    """Handlers over one ``TicketService`` (and its routing glue)."""

    def __init__(self, service: TicketService, routing: TicketRouting | None) -> None:
        self.service = service
        self.routing = routing
        self.merger = TicketMerger(service)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/tickets", self.listing, allow_head=False),
            web.post("/api/tickets", self.create),
            web.get("/api/tickets/offers", self.offers, allow_head=False),
            web.post("/api/tickets/next", self.next_ticket),
            web.get(f"/api/tickets/{_ID}", self.show, allow_head=False),
            web.patch(f"/api/tickets/{_ID}", self.change),
            web.post(f"/api/tickets/{_ID}/replies", self.reply),
            web.post(f"/api/tickets/{_ID}/notes", self.note),
            web.post(f"/api/tickets/{_ID}/accept", self.accept),
            web.post(f"/api/tickets/{_ID}/decline", self.decline),
            web.get(f"/api/tickets/{_ID}/mails/{_MAIL_ID}/raw", self.raw_mail,
                    allow_head=False),
            web.post(f"/api/tickets/{_ID}/kb-draft", self.kb_draft),
            web.post(f"/api/tickets/{_ID}/merge", self.merge),
            web.post(f"/api/tickets/{_ID}/split", self.split),
        ]

    # ------------------------------------------------------------------ reading
    @requires(*ANY_USER)
    @api_doc(query={"view": {"type": "string", "enum": list(_VIEWS)},
                    "queue": {"type": "string", "maxLength": 64}, "status": _STATUS,
                    "q": {"type": "string", "maxLength": 100},
                    "type": {"type": "string", "maxLength": 32},
                    "field": {"type": "string", "maxLength": 1033,
                              "pattern": "^[a-z][a-z0-9_]{0,31}:[^\\r\\n\\x00]*$",
                              "description": "key:value, repeated: a custom field's value"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 500},
                    "offset": {"type": "integer", "minimum": 0, "maximum": 1_000_000}},
             responses={200: {"type": "object", "description": "tickets, total (exact up to "
                              "10,000) and more (true: over 10,000 match)"}},
             tags=("tickets",))
    async def listing(self, request: web.Request) -> web.Response:
        """GET /api/tickets: a list of tickets, most recently updated first.

        ``mine``: assigned to me; ``unassigned`` and ``all``: staff only (an agent always gets
        their own)."""
        who = who_of(request)
        view = query_text(request, "view") or ("all" if who.staff else "mine")
        if view not in _VIEWS:
            raise json_error(web.HTTPBadRequest, f"view must be one of {', '.join(_VIEWS)}")
        status = query_text(request, "status")
        if status is not None and status not in {s.value for s in Status}:
            raise json_error(web.HTTPBadRequest, "unknown status")
        statuses: tuple[Status, ...] = (Status(status),) if status else ()
        if status is None and view != "all":
            statuses = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)
        query = TicketQuery(
            assignee=who.agent_id if view == "mine" else None,
            unassigned=view == "unassigned", queue=query_text(request, "queue"),
            overdue_at=self.service.clock.time() if view == "overdue" else None,
            statuses=statuses, text=query_text(request, "q", 100),
            ticket_type=query_text(request, "type", 32),
            fields=tuple(f.partition(":")[::2] for f in request.query.getall("field", [])),
            limit=query_int(request, "limit", 50, 500, 1),
            offset=query_int(request, "offset", 0, 1_000_000))
        if view == "mine" and who.agent_id is None:
            return web.json_response({"tickets": [], "total": 0, "more": False})
        tickets, total = await self.service.search(query, who)
        return web.json_response({"tickets": [self.service.sla_view(t) for t in tickets],
                                  "total": min(total, COUNT_MAX), "more": total > COUNT_MAX})

    @requires(*ANY_USER)
    @api_doc(responses={200: {"type": "object", "description": "ticket, articles, history"}},
             tags=("tickets",))
    async def show(self, request: web.Request) -> web.Response:
        """GET /api/tickets/{ticket_id}: the ticket, its thread (notes too) and its history."""
        who = who_of(request)
        try:
            ticket = await self.service.ticket(_ticket_id(request), who)
            # Taken before the thread: a change in between makes the view stale, never hidden.
            async with self.service.store.session() as s:
                seen = await mark_of(s, ticket.id)
            articles = await self.service.thread(ticket.id, who)
            history = await self.service.history(ticket.id, who)
        except TicketError as exc:
            raise _error(exc) from None
        return web.json_response({"ticket": self.service.sla_view(ticket),
                                  "links": await self.merger.links(ticket.id),
                                  "rating": await self.service.store.rating(ticket.id),
                                  "articles": [a.as_json() for a in articles],
                                  "history": [h.as_json() for h in history],
                                  "seen": seen.as_json()})

    @requires(*STAFF)
    @api_doc(responses={200: {"description": "the mail, message/rfc822"}}, tags=("tickets",))
    async def raw_mail(self, request: web.Request) -> web.StreamResponse:
        """GET /api/tickets/{ticket_id}/mails/{mail_id}/raw: a mail byte for byte."""
        mails = await self.service.store.mails(ticket_id=_ticket_id(request))
        found = next((m for m in mails if m.id == int(request.match_info["mail_id"])), None)
        if found is None:
            raise json_error(web.HTTPNotFound, "no such mail on this ticket")
        return web.Response(body=found.raw, headers={
            "Content-Type": "message/rfc822",
            "Content-Disposition": f'attachment; filename="mail-{found.id}.eml"'})

    @requires(*ANY_USER)
    @api_doc(request=_DRAFT_BODY, tags=("tickets",), responses={
        201: {"type": "object", "description": "the draft article (id, version, ...)"},
        409: {"description": "not solved, or no question and reply to take"}})
    async def kb_draft(self, request: web.Request) -> web.Response:
        """POST /api/tickets/{ticket_id}/kb-draft: a solved or closed ticket as a draft
        article of the knowledge base (its subject; the customer's question and the agent's
        answer in markdown; a link back to the ticket), for the editors to review. Whoever
        may see the ticket may propose it; audited ``kb.article.create``."""
        who = who_of(request)
        body = await read_declared_json(request)
        kb = request.app.get(KB_KEY)
        if kb is None:
            raise json_error(web.HTTPNotFound, "this server has no knowledge base")
        try:
            ticket = await self.service.ticket(_ticket_id(request), who)
            draft = draft_from(ticket, await self.service.thread(ticket.id, who))
        except TicketError as exc:
            raise _error(exc) from None
        try:
            article = await kb.create(who.name, NewArticle(
                locale=kb.locale(body.get("locale")), title=draft.title, body=draft.body,
                origin=draft.origin))
        except KbError as exc:
            raise kb_error(exc) from None
        return web.json_response(
            {**article.as_json(), "editor_url": f"/kb?article={article.id}"}, status=201)

    # ------------------------------------------------------------------ changing
    @requires(*ANY_USER)
    @api_doc(request=_NEW_BODY, responses={201: _TICKET, 400: {"description": "bad value"},
                                           422: _REFUSED}, tags=("tickets",))
    async def create(self, request: web.Request) -> web.Response:
        """POST /api/tickets: open a ticket (it waits in its queue unless assigned)."""
        who = who_of(request)
        body = await read_declared_json(request)
        try:
            req = body["requester"]
            email = clean_email(req["email"]) if req.get("email") else None
            phone = clean_line(req.get("phone", ""), "phone", 32) or None
            if email is None and phone is None:
                raise TicketError("the requester needs an email address or a phone")
            if body.get("assignee") is not None and not who.staff:
                raise TicketError("only supervisors and admins assign tickets by hand")
            new = NewTicket(
                subject=body["subject"], origin=Origin(body.get("origin", "api")),
                queue=body.get("queue") or self.service.settings.queue,
                requester=Requester(email, clean_line(req.get("name", ""), "name", 200), phone),
                priority=Priority(body.get("priority", "normal")),
                tags=clean_tags(body.get("tags", [])), skills=body.get("skills", {}),
                assignee=body.get("assignee"), ticket_type=body.get("type"),
                field_values=body.get("fields", {}))
            if new.queue not in self.service.queues():
                raise TicketError(f"no queue {new.queue!r}")
            ticket = await self.service.create(new, who, ArticleDraft(
                Visibility.PUBLIC, Author.AGENT if who.agent_id else Author.SYSTEM, who.name,
                body["text"], agent_id=who.agent_id, channel="web"))
        except TicketError as exc:
            raise _error(exc, web.HTTPUnprocessableEntity) from None
        return web.json_response(self.service.sla_view(ticket), status=201)

    @requires(*ANY_USER)
    @api_doc(request=_PATCH_BODY, responses={200: _TICKET, 409: {"description": "not allowed"},
                                             422: _REFUSED}, tags=("tickets",))
    async def change(self, request: web.Request) -> web.Response:
        """PATCH /api/tickets/{ticket_id}: change fields; every change goes into the history."""
        body = await read_declared_json(request)
        try:
            changes = TicketChanges(
                subject=body.get("subject"),
                status=Status(body["status"]) if "status" in body else None,
                priority=Priority(body["priority"]) if "priority" in body else None,
                queue=body.get("queue"),
                tags=clean_tags(body["tags"]) if "tags" in body else None,
                assignee=body.get("assignee"),
                unassign="assignee" in body and body["assignee"] is None)
            if changes.subject is not None:
                changes = TicketChanges(**{**_as_dict(changes),
                                           "subject": clean_line(changes.subject, "subject",
                                                                 250, required=True)})
            ticket = await self.service.update(_ticket_id(request), changes, who_of(request))
        except TicketError as exc:
            raise _error(exc, web.HTTPUnprocessableEntity) from None
        return web.json_response(self.service.sla_view(ticket))

    @requires(*ANY_USER)
    @api_doc(request=_REPLY_BODY, responses={201: {"type": "object", "description": "article"},
                                             409: {"description": "closed, a status "
                                                                  "change not allowed, or "
                                                                  "stale (with its changes)"}},
             tags=("tickets",))
    async def reply(self, request: web.Request) -> web.Response:
        """POST /api/tickets/{ticket_id}/replies: a public reply (and a new status at once)."""
        body = await read_declared_json(request)
        try:
            article = await self.service.write(
                _ticket_id(request), body["text"], who_of(request), Visibility.PUBLIC,
                Status(body["status"]) if "status" in body else None,
                seen=parse_mark(body.get("seen")))
        except StaleView as exc:  # the page shows what changed, then the agent sends again
            return web.json_response({"error": str(exc), "changes": exc.changes}, status=409)
        except TicketError as exc:
            raise _error(exc) from None
        return web.json_response(article.as_json(), status=201)

    @requires(*ANY_USER)
    @api_doc(request=_NOTE_BODY, responses={201: {"type": "object", "description": "article"}},
             tags=("tickets",))
    async def note(self, request: web.Request) -> web.Response:
        """POST /api/tickets/{ticket_id}/notes: an internal note (never mailed)."""
        body = await read_declared_json(request)
        try:
            article = await self.service.write(_ticket_id(request), body["text"],
                                               who_of(request), Visibility.INTERNAL)
        except TicketError as exc:
            raise _error(exc) from None
        return web.json_response(article.as_json(), status=201)

    @requires(*ANY_USER)
    @api_doc(request=_MERGE_BODY, tags=("tickets",), responses={
        200: {"type": "object", "description": "the ticket merged into, as it is now"},
        404: {"description": "either ticket is not one you may see"},
        409: {"description": "either ticket is closed or merged, or they are the same"}})
    async def merge(self, request: web.Request) -> web.Response:
        """POST /api/tickets/{ticket_id}/merge: merge this ticket into ``into``: its messages,
        notes, mails and followers move there with their times, it is closed as merged, mail
        to its thread lands there; ``notify`` tells its requester by a public reply."""
        body = await read_declared_json(request)
        try:
            ticket = await self.merger.merge(_ticket_id(request), int(body["into"]),
                                             who_of(request), notify=bool(body.get("notify")))
        except TicketError as exc:
            raise _error(exc, web.HTTPUnprocessableEntity) from None
        return web.json_response(self.service.sla_view(ticket))

    @requires(*ANY_USER)
    @api_doc(request=_SPLIT_BODY, tags=("tickets",), responses={
        201: {"type": "object", "description": "the new ticket"},
        404: {"description": "not a ticket you may see"},
        409: {"description": "closed or merged, or the split would take every message"},
        422: {"description": "a message that is not on this ticket"}})
    async def split(self, request: web.Request) -> web.Response:
        """POST /api/tickets/{ticket_id}/split: move the chosen messages (``articles``) into a
        new ticket of the same requester, linked both ways (``subject``: the same if left
        out)."""
        body = await read_declared_json(request)
        try:
            ticket = await self.merger.split(_ticket_id(request), body["articles"],
                                             who_of(request), body.get("subject"))
        except TicketError as exc:
            raise _error(exc, web.HTTPUnprocessableEntity) from None
        return web.json_response(self.service.sla_view(ticket), status=201)

    # ------------------------------------------------------------------ assignment
    def _agent(self, request: web.Request) -> str:  # its 409s: _NOT_ROUTED
        who = who_of(request)
        if who.agent_id is None:
            raise json_error(web.HTTPConflict, "your user is not linked to an agent")
        if self.routing is None:
            raise json_error(web.HTTPConflict, "tickets are not routed on this server")
        return who.agent_id

    @requires(*ANY_USER)
    @api_doc(responses={200: {"type": "object", "description": "offers"}, 409: _NOT_ROUTED},
             tags=("tickets",))
    async def offers(self, request: web.Request) -> web.Response:
        """GET /api/tickets/offers: tickets offered to me, oldest first (assignment: offer)."""
        agent = self._agent(request)
        assert self.routing is not None
        out = []
        for pending in self.routing.offers_for(agent):
            ticket = await self.service.store.get(pending.ticket_id)
            if ticket is not None:
                out.append({"ticket": ticket.as_json(), "offered_at": pending.at})
        return web.json_response({"offers": out})

    @requires(*ANY_USER)
    @api_doc(responses={200: _TICKET, 404: {"description": "nothing for you now"},
                        409: _NOT_ROUTED}, tags=("tickets",), body_optional=True)
    async def next_ticket(self, request: web.Request) -> web.Response:
        """POST /api/tickets/next: take the oldest ticket offered to me; else pull the best
        ticket waiting for my queues and skills from the queue engine (also while I am paused,
        within my ticket capacity); else my most urgent new or open ticket. ``next`` in the
        answer says which: ``offer``, ``queue`` or ``mine``."""
        agent = self._agent(request)
        assert self.routing is not None
        who = who_of(request)
        try:
            if self.routing.offers_for(agent):
                ticket_id = await self.routing.accept(agent)
                await self.routing.settled(ticket_id)
                return web.json_response({**(await self.service.ticket(ticket_id, who))
                                          .as_json(), "next": "offer"})
            pulled = None
            with contextlib.suppress(RoutingError):  # logged out or no free slot: mine
                pulled = await self.routing.pull(agent)
            if pulled is not None:
                return web.json_response({**(await self.service.ticket(pulled, who))
                                          .as_json(), "next": "queue"})
            mine, _ = await self.service.search(TicketQuery(
                assignee=agent, statuses=(Status.NEW, Status.OPEN), limit=500), who)
        except (TicketError, RoutingError) as exc:
            raise json_error(web.HTTPNotFound, str(exc)) from None
        if not mine:
            raise json_error(web.HTTPNotFound, "no ticket waits for you")
        ranked = sorted(mine, key=lambda t: (-t.priority.routing, t.created_at))
        return web.json_response({**ranked[0].as_json(), "next": "mine"})

    @requires(*ANY_USER)
    @api_doc(responses={200: _TICKET, 409: _NOT_ROUTED}, tags=("tickets",), body_optional=True)
    async def accept(self, request: web.Request) -> web.Response:
        """POST /api/tickets/{ticket_id}/accept: take the ticket offered to me."""
        agent = self._agent(request)
        assert self.routing is not None
        try:
            ticket_id = await self.routing.accept(agent, _ticket_id(request))
            await self.routing.settled(ticket_id)
            ticket = await self.service.ticket(ticket_id, who_of(request))
        except (TicketError, RoutingError) as exc:
            raise json_error(web.HTTPNotFound, str(exc)) from None
        return web.json_response(ticket.as_json())

    @requires(*ANY_USER)
    @api_doc(responses={204: {"description": "declined"}, 409: _NOT_ROUTED},
             tags=("tickets",), body_optional=True)
    async def decline(self, request: web.Request) -> web.Response:
        """POST /api/tickets/{ticket_id}/decline: refuse an offer (as if unanswered: the
        engine pauses the agent, the ticket goes to someone else)."""
        agent = self._agent(request)
        assert self.routing is not None
        try:
            await self.routing.decline(agent, _ticket_id(request))
        except (TicketError, RoutingError) as exc:
            raise json_error(web.HTTPNotFound, str(exc)) from None
        return web.Response(status=204)


def _as_dict(changes: TicketChanges) -> dict[str, Any]:
    return {name: getattr(changes, name) for name in changes.__dataclass_fields__}


def add_ticket_routes(app: web.Application, service: TicketService,
                      routing: TicketRouting | None) -> None:
    """The API and the ``/tickets`` page."""
    app.add_routes(TicketRoutes(service, routing).routes())
    add_pages(app, "tickets", STATIC_DIR, ("tickets",))
