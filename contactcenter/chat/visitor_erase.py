"""Erasure of one visitor's chat data on request (GDPR art. 17), by visitor id, e-mail address
or chat id: the admin's route (``visitor_erase_routes.py``) and ``contactcenter chat erase``.

Design note. What goes and what stays is decided per table (docs/chat.md, "Erasing a
visitor's data"): the transcript (``chat_messages``, private notes included), the files
(``chat_attachments`` and their bytes under ``attachments_dir``) and the messages left
(``chat_offline_messages``) are deleted; what the reports count is kept without the person:
the ``chat_conversations`` row keeps its queue, states, times, agent and outcomes but loses the
visitor's id, name, pre-chat answers, attributes, page and token; the queue engine's
``routing_interactions.data`` keeps only the chat channel, and the interaction log keeps every
event (``routing_events``) with the ``connect`` event's copy of that data reduced the same way
and the agent's wrap-up ``notes`` gone. An erased conversation's row has an empty
``visitor_id`` and ``attributes.erased_at``.

Everything is counted first (a dry run stops there); a pass with nothing left to do changes
nothing and says so, which makes the erasure idempotent. A conversation still in progress
(not closed in the database, open in the queue engine, or in an agent's wrap-up, whose notes
would arrive after the erasure) refuses the whole request, naming it. The files go before the
rows, so a pass interrupted in between leaves rows a second pass finishes, never bytes no row
names; the rows go in one transaction. The audit entry (``chat.erase``) says how the chats were
found (``by``), which conversations (their random ids) and the counts, never the id, address,
name or text asked about. Tickets a message left became are named (``tickets``); they belong
to the tickets channel, which this channel never imports: with the ``erase_tickets`` port
(``app.py`` points it at ``tickets/requester_erase.py``) they are erased through it, given the
tickets' numbers and the visitor's addresses (pre-chat answers, the address asked about, for
the transcripts mailed to them), before the chat's rows go: the messages left are what names
the tickets, so a failure there leaves everything for the next pass. Its summary is the
report's ``ticket_erasure`` (with ``--dry-run``, what it would do) and in the audit entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contactcenter.chat.attachments import AttachmentFiles
from contactcenter.chat.errors import ConflictError
from contactcenter.chat.model import ConversationState, Sender
from contactcenter.chat.tables import (
    ChatAttachmentRow,
    ChatConversationRow,
    ChatMessageRow,
    ChatOfflineMessageRow,
    ChatRatingRow,
)
from contactcenter.chat.transcript_mail import check_email
from contactcenter.domain.interaction import OPEN_STATES
from contactcenter.routing.tables import RoutingAgentRow, RoutingEventRow, RoutingInteractionRow
from contactcenter.storage.database import Database

BY = ("visitor", "email", "chat")
MAX_CONVERSATIONS = 10_000
_CHUNK = 500
# A message left from the line is stored as its chat ends: within this long of the end.
LEFT_FROM_LINE_S = 120.0
ERASED_VISITOR = ""  # an erased conversation's visitor_id (a visitor id is never empty)


class ChatInProgress(ConflictError):
    """Some of the chats asked about have not ended; nothing was erased."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = sorted(ids)
        shown = ", ".join(self.ids[:5]) + (" ..." if len(self.ids) > 5 else "")
        super().__init__(f"chat {shown} is still in progress (or in its agent's wrap-up): "
                         "end it first, then erase; nothing was erased")


@dataclass(frozen=True, slots=True)
class ErasureRequest:
    """Whose data: ``by`` visitor (id), email (address) or chat (id), and that ``value``."""

    by: str
    value: str


def check_request(by: Any, value: Any) -> ErasureRequest:
    """The request, checked; ``ValueError`` saying what is wrong."""
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}")
    if not isinstance(value, str) or not value.strip() or len(value) > 254 \
            or any(c in value for c in "\r\n\x00"):
        raise ValueError("value must be 1 to 254 characters on one line")
    value = value.strip()
    if by == "email":
        value = check_email(value).lower()
    elif len(value) > 64:
        raise ValueError("a visitor or chat id has at most 64 characters")
    return ErasureRequest(by, value)


class TicketsErased(Protocol):
    """What the tickets' side reports (``tickets.requester_erase.TicketErasureReport``)."""

    @property
    def nothing_to_do(self) -> bool: ...
    def counts(self) -> dict[str, int]: ...
    def as_json(self) -> dict[str, Any]: ...


class EraseTickets(Protocol):
    """The port to the tickets the visitor's messages left became (app.py wires it)."""

    async def __call__(self, ticket_ids: Sequence[int], dry_run: bool, *,
                       addresses: Sequence[str] = (), actor: str = "chat") -> TicketsErased: ...


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What an erasure removed (or, ``dry_run``, would remove)."""

    by: str
    dry_run: bool
    conversations: tuple[str, ...]  # the chats concerned (their rows stay, anonymized)
    messages: int = 0  # transcript messages deleted, private notes included
    notes: int = 0  # of which private notes
    attachments: int = 0  # file rows deleted
    files: int = 0  # of which bytes were on disk
    messages_left: int = 0
    anonymized: int = 0  # conversation rows made anonymous
    interactions: int = 0  # queue engine rows whose data was reduced
    events: int = 0  # interaction log events whose data or notes went
    tickets: tuple[int, ...] = field(default=())  # tickets the messages left became
    # The tickets' side (None: no port wired, the tickets are only named).
    ticket_erasure: TicketsErased | None = None

    @property
    def nothing_to_do(self) -> bool:
        """True when nothing of the visitor is left here (a second erasure)."""
        return not (self.messages or self.attachments or self.files or self.messages_left
                    or self.anonymized or self.interactions or self.events) \
            and (self.ticket_erasure is None or self.ticket_erasure.nothing_to_do)

    def counts(self) -> dict[str, Any]:
        """The counts alone, for the audit entry and the command line."""
        return {"conversations": len(self.conversations), "messages": self.messages,
                "notes": self.notes, "attachments": self.attachments, "files": self.files,
                "messages_left": self.messages_left, "anonymized": self.anonymized,
                "interactions": self.interactions, "events": self.events}

    def as_json(self) -> dict[str, Any]:
        return {"by": self.by, "dry_run": self.dry_run, "nothing_to_do": self.nothing_to_do,
                "conversation_ids": list(self.conversations), **self.counts(),
                "tickets": list(self.tickets),
                "ticket_erasure": (self.ticket_erasure.as_json()
                                   if self.ticket_erasure is not None else None)}


# ----------------------------------------------------------------------- finding


def _answers_hold(answers: Any, email: str) -> bool:
    return any(isinstance(a, dict) and str(a.get("value") or "").strip().lower() == email
               for a in answers or ())


def _text_match(column: Any, email: str) -> Any:
    # The answers are a JSON list: its text narrows (as written, or JSON-escaped), the exact
    # answer decides (``_answers_hold``).
    text = sa.func.lower(sa.cast(column, sa.Text))
    escaped = json.dumps(email)[1:-1]
    return sa.or_(text.contains(email, autoescape=True),
                  text.contains(escaped.lower(), autoescape=True))


async def _conversations(s: AsyncSession, req: ErasureRequest) -> list[ChatConversationRow]:
    row = ChatConversationRow
    if req.by == "chat":
        found = await s.get(row, req.value)
        return [found] if found is not None else []
    if req.by == "visitor":
        query = sa.select(row).where(row.visitor_id == req.value)
    else:
        query = sa.select(row).where(_text_match(row.answers, req.value))
    rows = (await s.execute(query.order_by(row.created_at).limit(MAX_CONVERSATIONS))).scalars()
    return [r for r in rows if req.by == "visitor" or _answers_hold(r.answers, req.value)]


async def _left(s: AsyncSession, req: ErasureRequest,
                convs: list[ChatConversationRow]) -> list[ChatOfflineMessageRow]:
    row = ChatOfflineMessageRow
    if req.by == "visitor":
        return list((await s.execute(sa.select(row).where(row.visitor_id == req.value)))
                    .scalars())
    if req.by == "email":
        found = (await s.execute(sa.select(row).where(_text_match(row.answers, req.value))))
        return [r for r in found.scalars() if _answers_hold(r.answers, req.value)]
    out: list[ChatOfflineMessageRow] = []
    for conv in convs:  # by chat: the message left from its line, if any (reason waited)
        if conv.visitor_id == ERASED_VISITOR:
            continue
        end = (conv.closed_at or conv.created_at) + LEFT_FROM_LINE_S
        out += (await s.execute(sa.select(row).where(
            row.visitor_id == conv.visitor_id, row.reason == "waited",
            row.created_at >= conv.created_at, row.created_at <= end))).scalars()
    return out


def _erased(conv: ChatConversationRow) -> bool:
    return conv.visitor_id == ERASED_VISITOR and "erased_at" in (conv.attributes or {})


def reduced_data(data: Any) -> dict[str, Any]:
    """An interaction's data without the person: only the chat channel stays."""
    kept = {"chat_channel": data.get("chat_channel")} if isinstance(data, dict) else {}
    return {k: v for k, v in kept.items() if v is not None}


def _event_change(kind: str, payload: Any) -> dict[str, Any] | None:
    """The payload an event keeps, or None when it has nothing of the person."""
    if not isinstance(payload, dict):
        return None
    if kind == "connect" and isinstance(payload.get("data"), dict) \
            and payload["data"] != reduced_data(payload["data"]):
        return {**payload, "data": reduced_data(payload["data"])}
    if kind == "wrapup-done" and payload.get("notes"):
        return {**payload, "notes": None}
    return None


@dataclass(slots=True)
class _Plan:
    conversations: list[ChatConversationRow]
    left: list[ChatOfflineMessageRow]
    keys: list[str]
    messages: int
    notes: int
    interactions: list[str]
    events: dict[int, dict[str, Any]]
    busy: set[str]


async def _plan(s: AsyncSession, req: ErasureRequest) -> _Plan:
    convs = await _conversations(s, req)
    left = await _left(s, req, convs)
    ids = [c.id for c in convs]
    plan = _Plan(convs, left, [], 0, 0, [], {}, set())
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        plan.keys += (await s.execute(sa.select(ChatAttachmentRow.key).where(
            ChatAttachmentRow.conversation_id.in_(chunk)))).scalars()
        counts = (await s.execute(
            sa.select(ChatMessageRow.sender, sa.func.count())
            .where(ChatMessageRow.conversation_id.in_(chunk))
            .group_by(ChatMessageRow.sender))).all()
        plan.messages += sum(n for _, n in counts)
        plan.notes += sum(n for sender, n in counts if sender == Sender.NOTE.value)
        ri = RoutingInteractionRow
        for iid, state, data in (await s.execute(
                sa.select(ri.id, ri.state, ri.data).where(ri.id.in_(chunk)))).all():
            if state in {st.value for st in OPEN_STATES}:
                plan.busy.add(iid)
            if data != reduced_data(data):
                plan.interactions.append(iid)
        ev = RoutingEventRow
        for eid, kind, payload in (await s.execute(
                sa.select(ev.id, ev.kind, ev.payload).where(
                    ev.interaction_id.in_(chunk), ev.kind.in_(("connect", "wrapup-done"))))
                ).all():
            change = _event_change(kind, payload)
            if change is not None:
                plan.events[eid] = change
    plan.busy |= {c.id for c in convs if c.state != ConversationState.CLOSED.value}
    wanted = set(ids)
    for wrapups in (await s.execute(sa.select(RoutingAgentRow.wrapups))).scalars():
        plan.busy |= {str(w.get("interaction_id")) for w in wrapups or ()
                      if isinstance(w, dict) and w.get("interaction_id") in wanted}
    return plan


def _report(req: ErasureRequest, plan: _Plan, files: AttachmentFiles, dry_run: bool
            ) -> ErasureReport:
    on_disk = sum(1 for k in plan.keys if _exists(files, k))
    return ErasureReport(
        by=req.by, dry_run=dry_run, conversations=tuple(c.id for c in plan.conversations),
        messages=plan.messages, notes=plan.notes, attachments=len(plan.keys), files=on_disk,
        messages_left=len(plan.left),
        anonymized=sum(1 for c in plan.conversations if not _erased(c)),
        interactions=len(plan.interactions), events=len(plan.events),
        tickets=tuple(sorted({m.ticket_id for m in plan.left if m.ticket_id is not None})))


def _exists(files: AttachmentFiles, key: str) -> bool:
    try:
        return files.path(key).is_file()
    except ValueError:
        return False


# ----------------------------------------------------------------------- erasing

Busy = Callable[[list[str]], set[str]]


def addresses_of(req: ErasureRequest, plan: _Plan) -> list[str]:
    """The visitor's mail addresses chat knows: asked about, or given in their forms."""
    found = {req.value} if req.by == "email" else set()
    for answers in [c.answers for c in plan.conversations] + [m.answers for m in plan.left]:
        for a in answers or ():
            if isinstance(a, dict) and a.get("name") == "email":
                with contextlib.suppress(ValueError):
                    found.add(check_email(a.get("value")).lower())
    return sorted(found)


async def erase_visitor(db: Database, files: AttachmentFiles, req: ErasureRequest, now: float,
                        audit: Any, actor: str, *, dry_run: bool = False,
                        busy: Busy | None = None,
                        erase_tickets: EraseTickets | None = None) -> ErasureReport:
    """Erase (or, ``dry_run``, count) what chat keeps of the visitor ``req`` names, and through
    ``erase_tickets`` what the tickets their messages left became keep; raises
    ``ChatInProgress`` when one of its chats has not ended (``busy``: the server's own view of
    which chats are open, beside the database's)."""
    async with db.session() as s:
        plan = await _plan(s, req)
    ids = [c.id for c in plan.conversations]
    in_progress = plan.busy | (busy(ids) if busy is not None else set())
    if in_progress:
        if not dry_run:
            await audit.record(actor, "chat.erase", req.by, "refused",
                               {"in_progress": sorted(in_progress)[:20]})
        raise ChatInProgress(in_progress)
    report = await asyncio.to_thread(_report, req, plan, files, dry_run)
    addresses = addresses_of(req, plan)
    if erase_tickets is not None and (report.tickets or addresses):
        # Before the chat's rows: the messages left are what names these tickets.
        try:
            tickets = await erase_tickets(report.tickets, dry_run, addresses=addresses,
                                          actor=actor)
        except Exception as exc:
            if not dry_run:
                await audit.record(actor, "chat.erase", req.by, "failed",
                                   {"tickets": list(report.tickets),
                                    "error": type(exc).__name__})
            raise
        report = dataclasses.replace(report, ticket_erasure=tickets)
    if dry_run or report.nothing_to_do:
        return report
    for key in plan.keys:  # the bytes first: a row left over is found by the next pass
        await files.remove(key)
    async with db.session() as s, s.begin():
        await _delete(s, plan, now)
    await audit.record(actor, "chat.erase", req.by, "ok",
                       {**report.counts(), "conversation_ids": ids[:200],
                        "tickets": list(report.tickets),
                        "ticket_erasure": (report.ticket_erasure.counts()
                                           if report.ticket_erasure is not None else None)})
    return report


async def _delete(s: AsyncSession, plan: _Plan, now: float) -> None:
    ids = [c.id for c in plan.conversations]
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        await s.execute(sa.delete(ChatAttachmentRow)
                        .where(ChatAttachmentRow.conversation_id.in_(chunk)))
        await s.execute(sa.delete(ChatMessageRow)
                        .where(ChatMessageRow.conversation_id.in_(chunk)))
        # The score stays for the reports; the visitor's own words go.
        await s.execute(sa.update(ChatRatingRow)
                        .where(ChatRatingRow.conversation_id.in_(chunk)).values(comment=""))
    for conv in plan.conversations:
        if _erased(conv):
            continue
        await s.execute(sa.update(ChatConversationRow).where(ChatConversationRow.id == conv.id)
                        .values(visitor_id=ERASED_VISITOR, visitor_name="", token_hash="",
                                answers=[], attributes={"erased_at": now}, page=""))
    left = [m.id for m in plan.left]
    for i in range(0, len(left), _CHUNK):
        await s.execute(sa.delete(ChatOfflineMessageRow)
                        .where(ChatOfflineMessageRow.id.in_(left[i:i + _CHUNK])))
    for iid in plan.interactions:
        data = (await s.execute(sa.select(RoutingInteractionRow.data)
                                .where(RoutingInteractionRow.id == iid))).scalar_one()
        await s.execute(sa.update(RoutingInteractionRow).where(RoutingInteractionRow.id == iid)
                        .values(data=reduced_data(data)))
    for eid, payload in plan.events.items():
        await s.execute(sa.update(RoutingEventRow).where(RoutingEventRow.id == eid)
                        .values(payload=payload))
