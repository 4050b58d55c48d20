"""The Dial() application of the simulated PBX (used by AGI ``EXEC Dial`` and Originate).

Design note: Dial owns the callee leg from creation to hangup. It rings the target, bridges on
answer, then waits for the first of: the caller hangs up (returns -1), the caller is redirected
(returns 0), the callee side ends or the callee is redirected (the bridge dissolves; returns
-1, or 0 with option ``g``: app_dial.c OPT_GO_ON; a redirected callee then runs its new
location, ``bridge_app.park``). Event order follows transcripts 02/05: the DIAL* VarSets,
DialBegin/DialEnd with a Dest block (the answered leg's ``U()`` subroutine between
DIALEDPEERNUMBER and DialEnd, as app_dial.c runs it), BridgeCreate/Enter, BRIDGEPEER, and on the
way out BridgeLeave, ANSWEREDTIME/DIALEDTIME, BridgeDestroy, DIALSTATUS, hangups.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from .bridge_app import park
from .channels import SimChannel
from .dialplan import Dialplan
from .waits import wait_any

if TYPE_CHECKING:
    from .calls import SimCall

_RESET = (
    "DIALSTATUS",
    "DIALEDPEERNUMBER",
    "DIALEDPEERNAME",
    "ANSWEREDTIME",
    "ANSWEREDTIME_MS",
    "DIALEDTIME",
    "DIALEDTIME_MS",
    "RINGTIME",
    "RINGTIME_MS",
    "PROGRESSTIME",
    "PROGRESSTIME_MS",
)


def dial_options(text: str) -> dict[str, str | None]:
    """Dial's option letters, each with its ``(argument)`` if it has one
    (``ast_app_parse_options``: the argument runs to the matching parenthesis)."""
    out: dict[str, str | None] = {}
    i, n = 0, len(text)
    while i < n:
        letter = text[i]
        i += 1
        if i < n and text[i] == "(":
            depth, start = 1, i + 1
            i += 1
            while i < n and depth:
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            out[letter] = text[start:i - 1] if depth == 0 else text[start:]
        else:
            out[letter] = None
    return out


async def dial(dp: Dialplan, caller: SimChannel, data: str, call: SimCall | None,
               on_answer: Callable[[], None] | None = None) -> int:
    """Run ``Dial(<data>)`` on ``caller``; returns the application's result (0 or -1).

    ``on_answer`` runs once the callee answered, right before the bridge (the caller's music
    stops).
    """
    pbx, clock = dp.pbx, dp.clock
    parts = data.split(",", 3)  # peers, timeout, options, URL
    dial_string = parts[0].split("&")[0].strip()
    options = dial_options(parts[2]) if len(parts) > 2 else {}
    go_on = "g" in options
    try:
        timeout = float(parts[1]) if len(parts) > 1 and parts[1].strip() else None
    except ValueError:
        timeout = None
    for name in _RESET:
        pbx.set_var(caller, name, "")
    before = options.get("B")
    if before:  # the caller's predial subroutine, before any leg exists (app_dial.c)
        dp.gosub(caller, before.replace("^", ","))
    target = dp.resolve(dial_string)
    if target is None or target.kind == "inbound" and dial_string == caller.name:
        pbx.set_var(caller, "DIALSTATUS", "CHANUNAVAIL")
        return 0
    near, far = dp.create_leg(target, caller.linkedid, caller, None)
    short = dial_string.split("/", 1)[1]
    pbx.dial_begin(caller, near, short)
    status = await dp.ring(near, far, target, timeout, [caller.hangup_requested])
    if status != "ANSWER":
        pbx.dial_end(caller, near, status)
        pbx.set_var(caller, "DIALSTATUS", status)
        dp.drop_leg(near, far, 16)
        if status == "CANCEL":
            return -1 if caller.redirect_to is None else 0
        return 0
    pbx.answer(near)
    if target.kind == "pjsip":
        pbx.device_state(f"PJSIP/{target.exten}", "INUSE")
    pbx.set_var(caller, "DIALSTATUS", "ANSWER")
    pbx.set_var(caller, "DIALEDPEERNAME", near.name)
    pbx.set_var(caller, "DIALEDPEERNUMBER", short)
    callee_sub = options.get("U")
    if callee_sub:  # on the answered leg, before DialEnd and the bridge (OPT_CALLEE_GOSUB)
        context, _, args = callee_sub.partition("^")
        dp.gosub(near, f"{context},s,1({args.replace('^', ',')})" if args else f"{context},s,1")
    pbx.dial_end(caller, near, "ANSWER")
    if call is not None:
        call.connected_to = dial_string
        call.set_outcome("dial-answered")
    if on_answer is not None:
        on_answer()  # app_dial deactivates the caller's generator right before the bridge
    bridge = pbx.bridge_create()
    if near is not far:
        pbx.newexten(near, "AppDial", "(Outgoing Line)", exten="")
    pbx.bridge_enter(bridge, near)
    pbx.bridge_enter(bridge, caller)
    pbx.bridge_peers(bridge)
    caller.application, caller.app_data = "Dial", data
    far_owner = pbx.spawn(dp.far_side_owner(near, far, target))
    await wait_any((caller.hangup_requested, near.hangup_requested))

    def timing() -> None:
        # As app_dial's end_bridge_callback: the *caller's* up time and age (every trace: the
        # IVR answered the caller long before the Dial), not the agent's talk.
        now = clock.monotonic()
        up = 0.0 if caller.answered_at is None else now - caller.answered_at
        total = now - caller.created_at
        pbx.set_var(caller, "ANSWEREDTIME", str(int(up)))
        pbx.set_var(caller, "ANSWEREDTIME_MS", str(int(up * 1000)))
        pbx.set_var(caller, "DIALEDTIME", str(int(total)))
        pbx.set_var(caller, "DIALEDTIME_MS", str(int(total * 1000)))

    if caller.hangup_requested.is_set():
        # the caller went away (or was redirected): take them out, then end the callee leg
        pbx.set_var(caller, "BRIDGEPEER", "")
        pbx.set_var(near, "BRIDGEPEER", "")
        pbx.bridge_leave(caller)
        if caller.redirect_to is None:
            pbx.bridge_leave(near)
            timing()
            pbx.bridge_destroy(bridge)
            pbx.set_var(caller, "DIALSTATUS", "ANSWER")
        else:
            pbx.set_var(caller, "DIALSTATUS", "ANSWER")
            pbx.bridge_leave(near)
            pbx.bridge_destroy(bridge)
        far_owner.cancel()
        if near is not far:
            if not far.gone:
                pbx.emit_ch("HangupRequest", far, [("Cause", "16")])
                pbx.emit_ch("SoftHangupRequest", far, [("Cause", "16")])
                pbx.hangup(far, 16)
            pbx.hangup(near, 16)
        else:
            pbx.hangup(near, 16)
            pbx.device_state(f"PJSIP/{target.exten}", "NOT_INUSE")
        return -1 if caller.redirect_to is None else 0
    # The callee side ended or was redirected: the bridge dissolves, the caller stays. Dial
    # returns -1 (ast_bridge_call's result), 0 with g; in AGI the session goes on either way.
    redirected = near.redirect_to is not None and not near.hangup_asked and not near.gone
    if not redirected:
        if far_owner.done():  # the usual case: it ended the call in the step that woke us
            await asyncio.sleep(0)
        else:
            await asyncio.wait([far_owner], timeout=clock.real(1.0))
    pbx.set_var(caller, "BRIDGEPEER", "")
    pbx.set_var(near, "BRIDGEPEER", "")
    pbx.bridge_leave(near)
    pbx.bridge_leave(caller)
    pbx.bridge_destroy(bridge)
    if redirected:
        park(dp, near)
    else:
        pbx.hangup(near)
        if near is far:
            pbx.device_state(f"PJSIP/{target.exten}", "NOT_INUSE")
    timing()
    pbx.set_var(caller, "DIALSTATUS", "ANSWER")
    return 0 if go_on else -1
