"""What counts as an injection on the PBX's wires, read from what the simulator received.

The simulator records every AMI action (``sim.actions.received``) and every AGI command line of
every call (``call.agi_commands``); these functions list the ones where a payload's marker got
out of the single value it was given in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from corpus import Payload

from contactcenter.sim.agi_wire import parse_command

# AMI headers whose value Asterisk interprets: a channel or dial string, dialplan location,
# application and its data, variables (expanded later), a CLI command.
_INTERPRETED = {"action", "channel", "data", "application", "context", "exten", "extension",
                "variable", "command", "priority", "file", "mixmonitorid", "spyer", "options"}


def ami_injections(received: Iterable[Any], payloads: list[Payload]) -> list[str]:
    """AMI actions where a marker is a header name, the action, or inside an interpreted value."""
    found = []
    for msg in received:
        for key, value in msg.headers:
            for p in payloads:
                if p.marker in key:
                    found.append(f"{p.name}: header name {key!r} in {msg.headers!r}")
                elif p.marker in value and key.lower() in _INTERPRETED:
                    found.append(f"{p.name}: {key}: {value[:120]!r}")
    return found


def agi_injections(lines: Iterable[str], payloads: list[Payload]) -> list[str]:
    """AGI command lines where a marker is in the command, in an application or its data, in an
    expanded variable, in a file name, or split off from the rest of its payload."""
    found = []
    for line in lines:
        hits = [p for p in payloads if p.marker in line]
        if not hits:
            continue
        cmd = parse_command(line)
        words = " ".join(cmd.words or ())
        args = list(cmd.args)
        for p in hits:
            if cmd.words is None or words in ("EXEC", "GET FULL VARIABLE", "STREAM FILE",
                                              "GET DATA", "RECORD FILE", "CONTROL STREAM FILE"):
                found.append(f"{p.name}: {line[:160]!r}")
            elif any(p.marker in a and p.text not in a for a in args):
                found.append(f"{p.name}: split argument in {line[:160]!r}")
    return found


async def api_call(http: Any, url: str, method: str, path: str, body: Any = None,
                   expect_status: int | tuple[int, ...] = 200) -> tuple[int, Any]:
    """One API request as the panel makes it; its status (one of ``expect_status``, else the
    test fails saying what came) and its body (JSON, else text)."""
    async with http.request(method, f"{url}{path}", json=body) as r:
        data = await r.json() if r.content_type == "application/json" else await r.text()
        wanted = expect_status if isinstance(expect_status, tuple) else (expect_status,)
        assert r.status in wanted, (method, path, r.status, data)
        return r.status, data


async def api_json(http: Any, url: str, method: str, path: str, body: Any = None,
                   expect_status: int = 200) -> Any:
    """``api_call``'s body alone."""
    return (await api_call(http, url, method, path, body, expect_status))[1]
