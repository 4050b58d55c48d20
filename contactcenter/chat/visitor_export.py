"""Export of one visitor's chats, for a data-subject request (admins only).

  GET /api/chat/visitors/{visitor_id}/export   -> JSON: every conversation of that visitor id
                                               (its record, its messages, private notes
                                               included), and every message they left;
                                               audited ``chat.export``

The visitor id is the one the site gave (``identify``) or the widget made; a verified id
follows a customer across devices, so that is the id to export by. Served as an attachment.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from aiohttp import web

from contactcenter.chat.core import agent_json
from contactcenter.chat.service import ChatService
from contactcenter.chat.tables import ChatConversationRow
from contactcenter.web.roles import ADMIN, Actor, requires

MAX_CONVERSATIONS = 10_000


async def visitor_export(service: ChatService, visitor_id: str) -> dict[str, Any]:
    """Everything chat keeps about ``visitor_id``."""
    async with service.store.db.session() as session:
        ids = (await session.execute(
            sa.select(ChatConversationRow.id)
            .where(ChatConversationRow.visitor_id == visitor_id)
            .order_by(ChatConversationRow.created_at).limit(MAX_CONVERSATIONS))).scalars().all()
    conversations = []
    for cid in ids:
        record = await service.record(cid)
        if record is None:  # purged meanwhile
            continue
        messages: list[dict[str, Any]] = []
        while True:
            batch = await service.transcript(cid, messages[-1]["seq"] if messages else 0)
            messages += [agent_json(m) for m in batch]
            if len(batch) < 1000:
                break
        conversations.append({**record.as_json(), "messages": messages})
    left = await service.offline.of_visitor(visitor_id)
    return {"visitor_id": visitor_id, "exported_at": service.clock.time(),
            "conversations": conversations, "messages_left": [m.as_json() for m in left]}


class ExportRoutes:
    """The export's handler; ``audit`` is the server's log."""

    def __init__(self, service: ChatService, audit: Any) -> None:
        self.service = service
        self.audit = audit

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/chat/visitors/{visitor_id}/export", self.export,
                        allow_head=False)]

    @requires(ADMIN)
    async def export(self, request: web.Request) -> web.Response:
        """Every chat and message left of one visitor id, as JSON."""
        actor: Actor = request["actor"]
        visitor_id = request.match_info["visitor_id"][:64]
        data = await visitor_export(self.service, visitor_id)
        await self.audit.record(actor.username, "chat.export", visitor_id, "ok",
                                {"conversations": len(data["conversations"]),
                                 "messages_left": len(data["messages_left"])})
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in visitor_id)
        return web.json_response(data, headers={
            "Content-Disposition": f'attachment; filename="chat-visitor-{safe}.json"',
            "Cache-Control": "no-store"})


def add_export_routes(app: web.Application, service: ChatService, audit: Any) -> None:
    """Install the export route on ``app``."""
    app.add_routes(ExportRoutes(service, audit).routes())
