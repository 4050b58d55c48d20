"""What a ticket looked like when an agent loaded it, and what changed since: the collision
check of replies.

Design note: a view's mark is the newest article id and the newest history row id of the
ticket (both only ever grow: articles and history are insert-only), so "changed since it was
loaded" is a comparison of two numbers, with no version column to keep in step, and what
changed is the rows after the mark. A reply sent with an older mark is refused (409) with
those rows, which the page shows; without a mark (a script, an older page) it is not checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.tickets.model import Change, TicketConflict
from contactcenter.tickets.store import article_of
from contactcenter.tickets.tables import TicketArticleRow, TicketHistoryRow


@dataclass(frozen=True, slots=True)
class ViewMark:
    """The newest article and history row a view of a ticket holds."""

    article: int = 0
    history: int = 0

    def as_json(self) -> dict[str, int]:
        return {"article": self.article, "history": self.history}


class StaleView(TicketConflict):
    """A reply written on a view of the ticket older than the ticket: what changed since."""

    def __init__(self, ticket_id: int, changes: dict[str, Any]) -> None:
        super().__init__(f"ticket #{ticket_id} changed since you opened it: read what changed, "
                         "then send again")
        self.changes = changes


async def mark_of(s: AsyncSession, ticket_id: int) -> ViewMark:
    """The ticket's mark now."""
    article = (await s.execute(sa.select(sa.func.max(TicketArticleRow.id))
                               .where(TicketArticleRow.ticket_id == ticket_id))).scalar()
    history = (await s.execute(sa.select(sa.func.max(TicketHistoryRow.id))
                               .where(TicketHistoryRow.ticket_id == ticket_id))).scalar()
    return ViewMark(int(article or 0), int(history or 0))


async def check_fresh(s: AsyncSession, ticket_id: int, seen: ViewMark) -> None:
    """Raise ``StaleView`` (with the articles and history rows after ``seen``) when the ticket
    changed since the view ``seen`` was loaded."""
    now = await mark_of(s, ticket_id)
    if now.article <= seen.article and now.history <= seen.history:
        return
    articles = (await s.execute(
        sa.select(TicketArticleRow).where(TicketArticleRow.ticket_id == ticket_id,
                                          TicketArticleRow.id > seen.article)
        .order_by(TicketArticleRow.id))).scalars().all()
    history = (await s.execute(
        sa.select(TicketHistoryRow).where(TicketHistoryRow.ticket_id == ticket_id,
                                          TicketHistoryRow.id > seen.history)
        .order_by(TicketHistoryRow.id))).scalars().all()
    raise StaleView(ticket_id, {
        "seen": now.as_json(),
        "articles": [article_of(r).as_json() for r in articles],
        "history": [Change(r.ticket_id, r.at, r.actor, r.field, r.old, r.new).as_json()
                    for r in history]})


def parse_mark(value: Any) -> ViewMark | None:
    """A mark as a page sends it back (``{"article": n, "history": m}``); None: none sent."""
    if not isinstance(value, dict):
        return None
    return ViewMark(int(value.get("article", 0)), int(value.get("history", 0)))
