"""The shipped dialplan's FastAGI node loop on one channel: agi-nodes, then agi-next after AGI.

Design note: dialplan/extensions_contactcenter.conf runs ``Gosub(contactcenter-subs,agi-nodes,1)``
(the node list, '&' between URLs: CONTACTCENTER_AGI_NODES, else CONTACTCENTER_AGI, else the
default), ``AGI(${CC_AGI_URL}/<script>)``, then ``Gosub(contactcenter-subs,agi-next,1)`` and
``GotoIf($["${GOSUB_RETVAL}" = "1"]?agi)``. agi-next chooses, in this order:

- AGISTATUS=FAILURE (res_agi: the node refused or did not answer) and a node left in the round:
  the next node, at once;
- FAILURE, several nodes, fewer than ``FRESH_ROUNDS`` rounds: music, Wait(2), node 1 again;
- CC_RESUME=1 (the server left the caller in a queue), fewer than ``RESUME_TRIES`` rounds:
  music, Wait(2), node 1 again;
- else Return(0): the caller's context hangs up.

``NodeLoop`` decides the same way and emits what Asterisk emits for each priority it runs:
Newexten with the substituted AppData (``1?next``, ``CC_TRIES=1``), VarSet for every Set, the
Gosub frame's ``LOCAL(ARGC)`` and, on Return, ``ARGC`` emptied then ``GOSUB_RETVAL``, and
MusicOnHoldStart/Stop. AGISTATUS=HANGUP never reaches agi-next (AGI() returns -1 and the
dialplan ends): the caller of ``next_url`` stops on a hangup first. The lab's ``cc-inbound``
context (the transcripts: NoOp, Answer, AGI at priority 3) has no agi-nodes Gosub: there the
loop starts silently from ``SimConfig``'s node list; ``[contactcenter-callback]`` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .waits import wait_any

if TYPE_CHECKING:
    from .channels import SimChannel
    from .pbx import Pbx

SUBS = "contactcenter-subs"
AGI_NODES_SUB = (SUBS, "agi-nodes")
AGI_NEXT_SUB = (SUBS, "agi-next")
AGI_URL_SUB = (SUBS, "agi-url")
DEFAULT_NODE = "agi://127.0.0.1:4573"
FRESH_ROUNDS = 5  # rounds over the nodes for a call no node took yet (several nodes)
RESUME_TRIES = 30  # rounds for a queued caller whose server went away (CC_RESUME=1)
RESUME_PAUSE_S = 2  # Wait(2) between rounds, with music

# As ShowDialPlan lists them (dialplan/extensions_contactcenter.conf; a test keeps them equal).
NODE_SUBROUTINES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    AGI_NODES_SUB: (
        ("Set", "CC_AGI_NODES=${CONTACTCENTER_AGI_NODES}"),
        ("GotoIf", '$["${CC_AGI_NODES}" != ""]?count'),
        ("Set", "CC_AGI_NODES=${CONTACTCENTER_AGI}"),
        ("GotoIf", '$["${CC_AGI_NODES}" != ""]?count'),
        ("Set", f"CC_AGI_NODES={DEFAULT_NODE}"),
        ("Set", "CC_AGI_NODE_COUNT=${FIELDQTY(CC_AGI_NODES,&)}"),
        ("Set", "CC_NODE=1"),
        ("Set", "CC_AGI_URL=${CUT(CC_AGI_NODES,&,1)}"),
        ("Return", "")),
    AGI_NEXT_SUB: (
        ("GotoIf", '$["${AGISTATUS}" = "FAILURE" & ${CC_NODE} < ${CC_AGI_NODE_COUNT}]?next'),
        ("GotoIf", (f'$["${{AGISTATUS}}" = "FAILURE" & ${{CC_AGI_NODE_COUNT}} > 1 & '
                    f'0${{CC_TRIES}} < {FRESH_ROUNDS}]?again')),
        ("GotoIf", f'$["${{CC_RESUME}}" = "1" & 0${{CC_TRIES}} < {RESUME_TRIES}]?again'),
        ("Return", "0"),
        ("Set", "CC_TRIES=$[0${CC_TRIES} + 1]"),
        ("StartMusicOnHold", ""),
        ("Wait", str(RESUME_PAUSE_S)),
        ("StopMusicOnHold", ""),
        ("Set", "CC_NODE=0"),
        ("Set", "CC_NODE=$[${CC_NODE} + 1]"),
        ("Set", "CC_AGI_URL=${CUT(CC_AGI_NODES,&,${CC_NODE})}"),
        ("Return", "1")),
    AGI_URL_SUB: (
        ("Gosub", "contactcenter-subs,agi-nodes,1"),
        ("Return", "")),
}
# Priority labels, for ShowDialPlan's ExtensionLabel (context, exten, priority) -> label.
NODE_LABELS = {(*AGI_NODES_SUB, 6): "count", (*AGI_NEXT_SUB, 5): "again",
               (*AGI_NEXT_SUB, 10): "next"}


def node_base(url: str) -> str:
    """``agi://host:port/ivr?flow=main`` -> ``agi://host:port`` (what a node list holds)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class NodeLoop:
    """Where one channel is in the node loop: its node URLs (full, script included) and round."""

    pbx: Pbx
    ch: SimChannel
    urls: tuple[str, ...]
    explicit: bool = True  # the list is CONTACTCENTER_AGI_NODES (else CONTACTCENTER_AGI)
    node: int = 1  # CC_NODE
    agi_priority: int = 0  # the caller context's AGI priority (the Goto target)
    _frames: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The URL of the node to run the AGI on now."""
        return self.urls[self.node - 1]

    def run_agi_nodes(self) -> None:
        """``Gosub(contactcenter-subs,agi-nodes,1)`` at the channel's next priority."""
        pbx, ch = self.pbx, self.ch
        joined = "&".join(node_base(u) for u in self.urls)
        self._enter(AGI_NODES_SUB)
        pbx.newexten(ch, "Set", f"CC_AGI_NODES={joined if self.explicit else ''}", priority=1)
        pbx.set_var(ch, "CC_AGI_NODES", joined if self.explicit else "")
        pbx.newexten(ch, "GotoIf", f"{int(self.explicit)}?count", priority=2)
        if not self.explicit:
            pbx.newexten(ch, "Set", f"CC_AGI_NODES={joined}", priority=3)
            pbx.set_var(ch, "CC_AGI_NODES", joined)
            pbx.newexten(ch, "GotoIf", "1?count", priority=4)
        self._set(6, "CC_AGI_NODE_COUNT", str(len(self.urls)))
        self._set(7, "CC_NODE", "1")
        self._set(8, "CC_AGI_URL", node_base(self.urls[0]))
        self._return(9, "")
        self.node = 1

    async def next_url(self) -> str | None:
        """After AGI() returned on a live channel: ``Gosub(contactcenter-subs,agi-next,1)`` and
        the GotoIf after it; the URL to run the AGI on now, or None (the context hangs up)."""
        pbx, ch = self.pbx, self.ch
        status = pbx.get_var(ch, "AGISTATUS") or ""
        tries = int(pbx.get_var(ch, "CC_TRIES") or "0")
        count = len(self.urls)
        failed = status == "FAILURE"
        self._enter(AGI_NEXT_SUB)
        onward = failed and self.node < count
        pbx.newexten(ch, "GotoIf", f"{int(onward)}?next", priority=1)
        again = False
        if not onward:
            fresh = failed and count > 1 and tries < FRESH_ROUNDS
            pbx.newexten(ch, "GotoIf", f"{int(fresh)}?again", priority=2)
            again = fresh
            if not fresh:
                again = pbx.get_var(ch, "CC_RESUME") == "1" and tries < RESUME_TRIES
                pbx.newexten(ch, "GotoIf", f"{int(again)}?again", priority=3)
            if not again:
                self._return(4, "0")
                return self._goto_agi(False)
        if again:
            self._set(5, "CC_TRIES", str(tries + 1))
            pbx.newexten(ch, "StartMusicOnHold", "", priority=6)
            pbx.emit_ch("MusicOnHoldStart", ch, [("Class", "default")])
            pbx.newexten(ch, "Wait", str(RESUME_PAUSE_S), priority=7)
            limit = pbx.clock.real(RESUME_PAUSE_S)
            if await wait_any((ch.hangup_requested,), limit) or ch.gone:
                pbx.emit_ch("MusicOnHoldStop", ch)
                return None  # Wait() returned -1: the dialplan ends here
            pbx.newexten(ch, "StopMusicOnHold", "", priority=8)
            pbx.emit_ch("MusicOnHoldStop", ch)
            self._set(9, "CC_NODE", "0")
            self.node = 0
        self.node += 1
        self._set(10, "CC_NODE", str(self.node))
        self._set(11, "CC_AGI_URL", node_base(self.url))
        self._return(12, "1")
        return self._goto_agi(True)

    # -- the Gosub frame -------------------------------------------------------------------
    def _enter(self, sub: tuple[str, str]) -> None:
        """Gosub at the next priority of the caller's context, and the new frame's ARGC."""
        ch = self.ch
        self.pbx.newexten(ch, "Gosub", f"{sub[0]},{sub[1]},1", priority=ch.priority + 1)
        self._frames.append((ch.context, ch.exten, ch.priority))
        ch.variables["ARGC"] = "0"
        self._local("LOCAL(ARGC)", "0")
        ch.context, ch.exten = sub

    def _return(self, priority: int, value: str) -> None:
        """Return(value): the frame's ARGC emptied, GOSUB_RETVAL, back to the caller."""
        pbx, ch = self.pbx, self.ch
        pbx.newexten(ch, "Return", value, priority=priority)
        ch.variables.pop("ARGC", None)
        self._local("ARGC", "")
        pbx.set_var(ch, "GOSUB_RETVAL", value)
        ch.context, ch.exten, ch.priority = self._frames.pop()

    def _goto_agi(self, again: bool) -> str | None:
        """The caller context's ``GotoIf($["${GOSUB_RETVAL}" = "1"]?agi)`` and, when taken,
        the AGI priority it jumps to."""
        pbx, ch = self.pbx, self.ch
        pbx.newexten(ch, "GotoIf", f"{int(again)}?agi", priority=ch.priority + 1)
        if not again:
            return None
        pbx.newexten(ch, "AGI", self.url, priority=self.agi_priority)
        return self.url

    def _set(self, priority: int, name: str, value: str) -> None:
        self.pbx.newexten(self.ch, "Set", f"{name}={value}", priority=priority)
        self.pbx.set_var(self.ch, name, value)

    def _local(self, name: str, value: str) -> None:
        if self.pbx.bus.wants("VarSet", "dialplan,all"):
            self.pbx.emit_ch("VarSet", self.ch, [("Variable", name), ("Value", value)],
                             "dialplan,all")
