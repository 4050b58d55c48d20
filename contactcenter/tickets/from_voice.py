"""Tickets from the voice side: a voice message left in the IVR, and a call filed in wrap-up.

Design note.
* The voice channel never imports tickets (channels are siblings): its IVR sink calls a
  ``message_left`` port the composition root points here. A message becomes one ticket,
  origin ``voicemail``, requester the customer found by the caller id (else the phone alone),
  the IVR's variables as an internal note, and a ``ticket_calls`` row that keeps the audio
  file's path. That row's ``message_key`` (call id and node) is unique: the same message told
  twice (a retry, a restart replaying it, two servers) files one ticket; the second insert
  fails in the database and the ticket already made is returned.
* The audio is served from ``ivr.messages_dir`` only (the path is resolved, links and ``..``
  included, and must stay under it), to whoever may see the ticket (staff; the agent it is
  assigned to), and every request is audited as a recording's download is
  (``ticket.voicemail.play``); a refusal is audited too and answers 403.
* A call in wrap-up becomes a ticket (origin ``call``) only for the agent who took it (staff:
  any call); it is assigned to that agent, and links back to the interaction and its
  recordings (the recordings' own access rule decides who sees them).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from contactcenter.ivr.ports import VoiceMessage
from contactcenter.recording.access import may_access
from contactcenter.recording.service import RecordingService
from contactcenter.routing.service import RoutingService
from contactcenter.routing.tables import RoutingInteractionRow
from contactcenter.storage.customers import normalize_phone
from contactcenter.storage.tables import CustomerRow
from contactcenter.tickets.filed_once import file_once
from contactcenter.tickets.model import (
    Author,
    NewTicket,
    Origin,
    Requester,
    Ticket,
    TicketForbidden,
    TicketNotFound,
    Visibility,
    clean_line,
)
from contactcenter.tickets.service import Effects, TicketService, Who
from contactcenter.tickets.store import ArticleDraft, ticket_of
from contactcenter.tickets.tables import TicketCallRow

log = logging.getLogger(__name__)

VOICE = Who("voice", staff=True)  # the actor of tickets filed from voice messages
NOTE_MAX_VALUE = 200  # characters of one IVR variable in the note


class Audit(Protocol):
    async def record(self, actor: str, action: str, target: str = "", outcome: str = "ok",
                     detail: dict[str, Any] | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class CallLink:
    """A call a ticket links back to, as the API shows it."""

    id: int
    ticket_id: int
    kind: str
    interaction_id: str
    caller_id: str | None
    flow: str | None
    has_audio: bool
    created_at: float
    recordings: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "ticket_id": self.ticket_id, "kind": self.kind,
            "interaction_id": self.interaction_id, "caller_id": self.caller_id,
            "flow": self.flow, "created_at": self.created_at,
            "audio_url": (f"/api/tickets/{self.ticket_id}/calls/{self.id}/audio"
                          if self.has_audio else None),
            "recordings": [{"id": r, "audio_url": f"/api/recordings/{r}/audio"}
                           for r in self.recordings],
        }


def ivr_note(msg: VoiceMessage) -> str:
    """The internal note of a voice message's ticket: where it was left and the IVR's data."""
    where = (f"Voice message left in flow {msg.flow!r} (node {msg.node!r}), call "
             f"{msg.call_id}, ended by {msg.ended_by}.")
    lines = [where, "", "IVR data:"]
    for key in sorted(msg.variables):
        value = msg.variables[key]
        if value in (None, "") or key.startswith("_"):
            continue
        text = " ".join(str(value).replace("\x00", " ").split())[:NOTE_MAX_VALUE]
        lines.append(f"  {key}: {text}")
    if lines[-1] == "IVR data:":
        lines.append("  (none)")
    return "\n".join(lines)


class VoiceTickets:
    """Voice messages and calls in wrap-up as tickets, and the audio of their messages."""

    def __init__(self, service: TicketService, messages_dir: str, audit: Audit | None,
                 routing: RoutingService | None = None,
                 recordings: RecordingService | None = None) -> None:
        self.service, self.audit = service, audit
        self.messages_dir = messages_dir
        self.routing, self.recordings = routing, recordings

    # ------------------------------------------------------------------ voice messages
    async def message_left(self, msg: VoiceMessage) -> Ticket | None:
        """File a voice message (``purpose: voicemail``) as a ticket, once per message."""
        if msg.purpose != "voicemail":
            return None  # a callback request's recorded name is the callback's, not a ticket
        key = f"{msg.call_id}:{msg.node}"[:200]
        service, store = self.service, self.service.store
        caller = (msg.caller_id or "").strip()
        phone = normalize_phone(caller)[:32] or None

        async def build(s: Any, effects: Effects) -> Ticket:
            name = await _customer_name(s, phone)
            who = name or caller or "unknown caller"
            new = NewTicket(
                subject=f"Voice message from {who} ({msg.flow})", origin=Origin.VOICEMAIL,
                queue=service.settings.queue, tags=("voicemail",),
                requester=Requester(name=name or "", phone=phone))
            first = ArticleDraft(Visibility.PUBLIC, Author.CUSTOMER, name or caller or "caller",
                                 f"A voice message from {who}: play it on the ticket.",
                                 channel="voice")
            row = await service.create_in(s, new, VOICE, first, effects)
            now = service.clock.time()
            await store.add_article(s, row.id, ArticleDraft(
                Visibility.INTERNAL, Author.SYSTEM, "system", ivr_note(msg),
                channel="voice"), now)
            s.add(TicketCallRow(
                ticket_id=row.id, kind="voicemail", interaction_id=msg.call_id[:64],
                message_key=key, audio_file=f"{msg.filename}.{msg.format}"[:500],
                caller_id=caller[:64] or None, flow=msg.flow[:64], created_at=now))
            return ticket_of(row)

        ticket, filed = await file_once(service, key, build)
        if filed and ticket is not None:
            log.info("call=%s: voice message filed as ticket #%d", msg.call_id, ticket.id)
        return ticket

    # ------------------------------------------------------------------ calls in wrap-up
    async def from_call(self, interaction_id: str, subject: str, text: str, who: Who, *,
                        ticket_type: str | None = None,
                        values: Mapping[str, Any] | None = None) -> Ticket:
        """A ticket about a call the agent took (staff: any call), assigned to that agent,
        with its type and custom field values (checked as on any ticket: fields_service.py)."""
        subject = clean_line(subject, "subject", 250, required=True)
        if self.routing is None or self.routing.log is None:
            raise TicketNotFound("calls are not logged on this server")
        await self.routing.flush()
        async with self.routing.log.db.session() as s:
            call = await s.get(RoutingInteractionRow, interaction_id)
        if call is None or call.channel != "voice" \
                or not (who.staff or (who.agent_id and call.agent_id == who.agent_id)):
            raise TicketNotFound(f"no call {interaction_id} of yours")
        caller = str((call.data or {}).get("caller_id") or "").strip()
        phone = normalize_phone(caller)[:32] or None
        service, store = self.service, self.service.store
        # The agent who took the call keeps it; staff filing it let the engine route it.
        assignee = who.agent_id if who.agent_id and call.agent_id == who.agent_id else None
        if assignee is not None and assignee not in service.agents():
            assignee = None
        queue = service.settings.queue  # the tickets' queue: a voice queue may take no ticket
        effects = Effects()
        async with service.lock, store.session() as s, s.begin():
            name = await _customer_name(s, phone)
            new = NewTicket(subject=subject, origin=Origin.CALL, queue=queue,
                            requester=Requester(name=name or "", phone=phone),
                            assignee=assignee, ticket_type=ticket_type,
                            field_values=dict(values or {}))
            first = None
            if text.strip():
                first = ArticleDraft(Visibility.INTERNAL, Author.AGENT, who.name, text,
                                     agent_id=who.agent_id, channel="voice")
            row = await service.create_in(s, new, who, first, effects)
            s.add(TicketCallRow(ticket_id=row.id, kind="call", interaction_id=interaction_id,
                                caller_id=caller[:64] or None,
                                flow=str((call.data or {}).get("flow") or "")[:64] or None,
                                created_at=service.clock.time()))
            ticket = ticket_of(row)
        await service.run(effects)
        return ticket

    # ------------------------------------------------------------------ reading
    async def links(self, ticket_id: int, who: Who, actor: Any) -> list[CallLink]:
        """The calls ``ticket_id`` links back to (404 when ``who`` may not see the ticket);
        a call's recordings only when ``actor`` may hear them."""
        await self.service.ticket(ticket_id, who)
        async with self.service.store.session() as s:
            rows = (await s.execute(sa.select(TicketCallRow)
                                    .where(TicketCallRow.ticket_id == ticket_id)
                                    .order_by(TicketCallRow.id))).scalars().all()
        out = []
        for r in rows:
            recs: tuple[str, ...] = ()
            if r.kind == "call" and self.recordings is not None:
                found = await self.recordings.index.for_interaction(r.interaction_id)
                recs = tuple(rec.id for rec in found
                             if may_access(actor, rec, self.recordings.policies))
            out.append(CallLink(r.id, r.ticket_id, r.kind, r.interaction_id, r.caller_id,
                                r.flow, r.audio_file is not None, r.created_at, recs))
        return out

    async def audio(self, ticket_id: int, link_id: int, who: Who) -> Path:
        """The file of a ticket's voice message for ``who``: audited, refused with 403 (also
        audited) when the ticket is not theirs, 404 when there is no such message or file."""
        store = self.service.store
        async with store.session() as s:
            link = await s.get(TicketCallRow, link_id)
            row = await store.row(s, ticket_id) if link is not None else None
        if link is None or link.ticket_id != ticket_id or not link.audio_file or row is None:
            raise TicketNotFound("no such voice message")
        target = f"ticket:{ticket_id}"
        detail = {"message": link.id, "interaction_id": link.interaction_id}
        if not self.service.may_see(ticket_of(row), who):
            await self._audit(who, target, "denied", detail)
            raise TicketForbidden("not yours to hear")
        path = self._resolve(link.audio_file)
        if path is None or not path.is_file():
            raise TicketNotFound("no audio: the file is not there")
        await self._audit(who, target, "ok", detail)
        return path

    def _resolve(self, name: str) -> Path | None:
        """``name`` under ``ivr.messages_dir`` after links and ``..`` are resolved; else None
        (a relative folder is under Asterisk's sounds folder, which this server cannot read)."""
        root = Path(self.messages_dir)
        if not root.is_absolute():
            return None
        try:
            root, path = root.resolve(), Path(name).resolve()
        except (OSError, RuntimeError):
            return None
        if not path.is_relative_to(root):
            log.warning("voice message file %s is outside ivr.messages_dir: not served", name)
            return None
        return path

    async def _audit(self, who: Who, target: str, outcome: str,
                     detail: dict[str, Any]) -> None:
        if self.audit is not None:
            await self.audit.record(who.name, "ticket.voicemail.play", target, outcome, detail)


async def _customer_name(s: Any, phone: str | None) -> str | None:
    """The name of the customer with this phone (the key the IVR lookup uses), if any."""
    if not phone:
        return None
    name = (await s.execute(sa.select(CustomerRow.name).where(CustomerRow.phone == phone))
            ).scalar_one_or_none()
    return name or None

