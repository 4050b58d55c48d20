"""A redirected callee running its new dialplan location, and the Bridge() application.

Design note (from Asterisk 22's source; no transcript covers these yet):

* **Redirect of a bridged callee** (main/pbx.c ``ast_async_goto``): the channel is bridged, so
  it gets an explicit goto plus an ASYNCGOTO soft hangup; it leaves the bridge, the basic bridge
  dissolves (DISSOLVE_HANGUP) and the caller's Dial returns; the callee then runs the new
  location from its priority (main/bridge_after.c). ``run_redirected`` owns it from there.
  ``[contactcenter-hold]`` (dialplan/extensions_contactcenter.conf) is NoOp, then Wait in a loop.
* **Bridge(channel[,options])** (main/features.c ``bridge_exec``): finds the channel by name,
  name prefix or uniqueid (else BRIDGERESULT=NONEXISTENT), and when it runs dialplan it is
  *yanked* (main/channel.c ``ast_channel_yank``): a ``Surrogate/<name>`` channel is allocated and
  masqueraded with it, so the live channel keeps its name and uniqueid while the surrogate
  takes the old dialplan thread and hangs up. Both channels go into a new basic bridge (the
  target first). Without ``F``/``x`` the target goes back to its dialplan after the bridge;
  with ``x`` it is hung up. Bridge() always returns 0 and sets BRIDGERESULT.
  Simplified: only a channel parked here (redirected out of a bridge) can be taken; any other
  gets BRIDGERESULT=FAILURE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .channels import SimChannel
from .waits import wait_any

if TYPE_CHECKING:
    from .dialplan import Dialplan

HOLD_CONTEXT = "contactcenter-hold"
CUSTOMER_EXTEN = "customer"  # [contactcenter-hold] for a callback customer: music
OUTBOUND_CONTEXT = "contactcenter-outbound"  # Dial(<trunk>/<exten>,45)
WAIT_S = 600  # the hold context's Wait(); it loops, so the leg waits until something happens


def end_leg(dp: Dialplan, ch: SimChannel) -> None:
    """Hang up a callee leg (a Local half with its peer, or a PJSIP endpoint)."""
    if ch.gone:
        return
    dp.end_pair(ch)
    if ch.tech in ("PJSIP", "SIP"):
        dp.pbx.device_state(ch.name.rsplit("-", 1)[0], "NOT_INUSE")


def park(dp: Dialplan, ch: SimChannel) -> None:
    """``ch`` left a bridge for its pending Redirect: run it there (yankable by Bridge)."""
    task = dp.pbx.spawn(run_redirected(dp, ch))
    dp.parked[ch] = task
    task.add_done_callback(lambda t: dp.parked.pop(ch, None) if dp.parked.get(ch) is t else None)


async def run_redirected(dp: Dialplan, ch: SimChannel) -> None:
    """Run a redirected, non-AGI channel at its new location until it hangs up or moves."""
    pbx = dp.pbx
    while ch.redirect_to is not None and not ch.gone:
        context, exten, priority = ch.redirect_to
        ch.redirect_to = None
        ch.hangup_requested.clear()
        if context == OUTBOUND_CONTEXT:  # a transferred callback customer: Dial the number
            await _dial_out(dp, ch, exten)
            continue
        if context != HOLD_CONTEXT:
            await dp.run_location(ch, context, exten, priority, redirected=True)
            return
        ch.context, ch.exten = context, exten
        if exten == CUSTOMER_EXTEN:  # NoOp, then MusicOnHold() until moved or hung up
            pbx.newexten(ch, "NoOp", "contactcenter customer on hold", priority=priority)
            pbx.newexten(ch, "MusicOnHold", "", priority=priority + 1)
            pbx.emit_ch("MusicOnHoldStart", ch, [("Class", "default")])
        else:
            pbx.newexten(ch, "NoOp", "contactcenter agent on hold", priority=priority)
            pbx.newexten(ch, "Wait", str(WAIT_S), priority=priority + 1)
        try:
            await ch.hangup_requested.wait()
        finally:  # moved, hung up, or yanked by Bridge() (this task is cancelled then)
            if exten == CUSTOMER_EXTEN and not ch.gone:
                pbx.emit_ch("MusicOnHoldStop", ch)
        if ch.gone:
            return
    if not ch.gone:
        end_leg(dp, ch)


async def bridge(dp: Dialplan, caller: SimChannel, data: str,
                 on_bridged: Callable[[], None] | None = None) -> str:
    """Run ``Bridge(<data>)`` on ``caller`` (an AGI channel); returns the app's result ("0")."""
    pbx = dp.pbx
    name, _, options = data.partition(",")
    target = pbx.find(name.strip()) or pbx.find_prefix(name.strip(), skip=caller)
    if target is None or target.gone:
        pbx.set_var(caller, "BRIDGERESULT", "NONEXISTENT")
        return "0"
    if target is caller:
        pbx.set_var(caller, "BRIDGERESULT", "LOOP")
        return "0"
    owner = dp.parked.pop(target, None)
    if owner is None:  # simplified: only a parked (redirected) channel can be taken over
        pbx.set_var(caller, "BRIDGERESULT", "FAILURE")
        return "0"
    owner.cancel()  # yanked: the surrogate takes its old dialplan thread
    _surrogate_of(dp, target)
    if on_bridged is not None:
        on_bridged()
    b = pbx.bridge_create()
    pbx.bridge_enter(b, target)
    pbx.bridge_enter(b, caller)
    pbx.bridge_peers(b)
    caller.application, caller.app_data = "Bridge", data
    await wait_any((caller.hangup_requested, target.hangup_requested))
    pbx.set_var(caller, "BRIDGERESULT", "SUCCESS")
    pbx.set_var(caller, "BRIDGEPEER", "")
    pbx.set_var(target, "BRIDGEPEER", "")
    moved = target.redirect_to is not None and not target.hangup_asked and not target.gone
    pbx.bridge_leave(target)
    pbx.bridge_leave(caller)
    pbx.bridge_destroy(b)
    if moved:
        park(dp, target)
    elif target.hangup_requested.is_set() or "x" in options:
        end_leg(dp, target)
    else:  # back to its dialplan (no F, no x): the next priority, like Bridge() does
        target.redirect_to = (target.context, target.exten, target.priority + 1)
        park(dp, target)
    return "0"


async def _dial_out(dp: Dialplan, ch: SimChannel, exten: str) -> None:
    """``[contactcenter-outbound]`` run by a redirected leg: NoOp, Dial the number (the
    simulator's party for ``Local/<exten>@contactcenter-outbound``), then Hangup."""
    from .dial import dial  # dial imports this module (park)

    ch.context, ch.exten = OUTBOUND_CONTEXT, exten
    dp.pbx.newexten(ch, "NoOp", f"contactcenter outbound {exten}", priority=1)
    dp.pbx.newexten(ch, "Dial", f"trunk/{exten},45", priority=2)
    await dial(dp, ch, f"Local/{exten}@{OUTBOUND_CONTEXT},45", None)
    if not ch.gone and ch.redirect_to is None:
        dp.pbx.newexten(ch, "Hangup", "", priority=3)


def _surrogate_of(dp: Dialplan, target: SimChannel) -> None:
    """ast_channel_yank: Newchannel ``Surrogate/<name>``; after the masquerade it is the one
    left in the old dialplan thread, which ends (Hangup); ``target`` keeps name and uniqueid."""
    pbx = dp.pbx
    uid = pbx.ids.uniqueid()
    sur = SimChannel(name=f"Surrogate/{target.name}", uniqueid=uid, linkedid=target.linkedid,
                     tech="Surrogate", context=target.context, exten=target.exten,
                     priority=target.priority, created_at=dp.clock.monotonic())
    pbx.channels[sur.name] = sur
    pbx.emit_ch("Newchannel", sur)
    pbx.hangup(sur, 16)

