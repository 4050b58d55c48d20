"""AMI ingest benchmark: events/s applied to the call model, our AmiClient vs panoramisk's Manager.

Usage: python bench/ami_ingest.py [--repeat N] [--rounds R] [--uvloop]
(panoramisk, the baseline, comes with the bench extra: pip install -e '.[bench]')

A replay server (a separate process, so it does not compete for our event loop) plays
Asterisk: banner, Login reply, then on the client's first Ping it sends the 06 load-sample
event stream (930 real Asterisk 22 events, 394 KB) ``--repeat`` times over a real localhost
socket. Each client feeds every event into a ``CallModel``; the clock runs from the Ping to
the last event applied. Both clients run in the same process, alternately, ``--rounds`` times;
the best round of each is reported, and the ratio. Results go to bench/results/ami_ingest.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import platform
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contactcenter.domain.clock import Clock
from contactcenter.telephony.ami import actions
from contactcenter.telephony.ami.client import AmiClient, AmiEndpoint
from contactcenter.telephony.callmodel import CallModel

TRACE = Path("/work/shared/asterisk-traces/06-load-sample.ami.jsonl")
RESULTS = ROOT / "bench" / "results" / "ami_ingest.md"


def load_events() -> list[str]:
    """The unsolicited events of the 06 transcript (no login chatter), exact wire text."""
    out = []
    for line in TRACE.read_text().splitlines():
        rec = json.loads(line)
        data = rec["data"]
        if rec["dir"] == "in" and data.startswith("Event: ") and not data.startswith(
            ("Event: FullyBooted", "Event: SuccessfulAuth")
        ):
            out.append(data)
    return out


def _action_id(block: bytes) -> bytes:
    for line in block.split(b"\r\n"):
        if line.lower().startswith(b"actionid:"):
            return line.split(b":", 1)[1].strip()
    return b""


def replay_server(port_q, payload: bytes) -> None:
    """Blocking, one client at a time: login, then the payload on the first Ping."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port_q.put(srv.getsockname()[1])
    while True:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(b"Asterisk Call Manager/11.0.0\r\n")
        buf = b""
        sent = False
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                buf += data
                while b"\r\n\r\n" in buf:
                    block, buf = buf.split(b"\r\n\r\n", 1)
                    aid = _action_id(block)
                    head = block.split(b"\r\n", 1)[0].lower()
                    idh = b"ActionID: " + aid + b"\r\n" if aid else b""
                    if head.endswith(b"login"):
                        conn.sendall(b"Response: Success\r\n" + idh +
                                     b"Message: Authentication accepted\r\n\r\n"
                                     b"Event: FullyBooted\r\nPrivilege: system,all\r\n"
                                     b"Uptime: 223\r\nLastReload: 223\r\n"
                                     b"Status: Fully Booted\r\n\r\n")
                    elif head.endswith(b"ping"):
                        conn.sendall(b"Response: Success\r\n" + idh + b"Ping: Pong\r\n"
                                     b"Timestamp: 1795457073.495686\r\n\r\n")
                        if not sent:
                            sent = True
                            conn.sendall(payload)
                    elif head.endswith(b"logoff"):
                        conn.sendall(b"Response: Goodbye\r\n" + idh +
                                     b"Message: Thanks for all the fish.\r\n\r\n")
                        raise ConnectionResetError
        except OSError:
            pass
        conn.close()


class Progress:
    """Prints a progress line every 25% of the expected events."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.next = label, total, total // 4

    def update(self, count: int) -> None:
        while count >= self.next and self.next <= self.total:
            print(f"  {self.label}: {100 * self.next // self.total:3d}%", flush=True)
            self.next += self.total // 4


async def run_ours(port: int, total: int) -> float:
    model = CallModel("bench", [], Clock())
    done = asyncio.get_running_loop().create_future()
    count = 0
    started = False
    progress = Progress("ours", total)

    def on_event(pbx, msg):
        nonlocal count
        if not started:
            return  # FullyBooted after login
        model.apply(msg)
        count += 1
        if count % 5000 == 0:
            progress.update(count)
        if count >= total and not done.done():
            done.set_result(time.perf_counter())

    client = AmiClient(AmiEndpoint("bench", "127.0.0.1", port, "cc", "ccsecret",
                                   ping_interval=3600, dead_after=7200), on_event=on_event)
    await client.start()
    await client.wait_connected(10)
    started = True
    t0 = time.perf_counter()
    await client.send_action(actions.Ping(), timeout=60)
    t1 = await asyncio.wait_for(done, 300)
    progress.update(total)
    await client.stop()
    return total / (t1 - t0)


async def run_panoramisk(port: int, total: int) -> float:
    from panoramisk import Manager

    model = CallModel("bench", [], Clock())
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    count = 0
    started = False
    progress = Progress("panoramisk", total)

    def on_event(manager, msg):
        nonlocal count
        if not started:
            return  # FullyBooted after login
        model.apply(msg)  # panoramisk's Message has a case-insensitive .get too
        count += 1
        if count % 5000 == 0:
            progress.update(count)
        if count >= total and not done.done():
            done.set_result(time.perf_counter())

    manager = Manager(loop=loop, host="127.0.0.1", port=port, username="cc",
                      secret="ccsecret", ping_delay=3600, ping_interval=3600)
    manager.register_event("*", on_event)
    await manager.connect()
    deadline = time.monotonic() + 10
    while not manager.authenticated:
        if time.monotonic() > deadline:
            raise TimeoutError("panoramisk did not log in")
        await asyncio.sleep(0.01)
    started = True
    t0 = time.perf_counter()
    manager.send_action({"Action": "Ping"})
    t1 = await asyncio.wait_for(done, 300)
    progress.update(total)
    manager.close()
    return total / (t1 - t0)


async def bench(args) -> list[tuple[str, float]]:
    try:
        import panoramisk  # noqa: F401  # the baseline is not part of a production install
    except ImportError:
        raise SystemExit("panoramisk is missing: pip install -e '.[bench]'") from None
    events = load_events()
    payload = "".join(events).encode() * args.repeat
    total = len(events) * args.repeat
    ctx = multiprocessing.get_context("fork")
    port_q = ctx.Queue()
    server = ctx.Process(target=replay_server, args=(port_q, payload), daemon=True)
    server.start()
    port = port_q.get(timeout=10)
    print(f"stream: {len(events)} events x {args.repeat} = {total} events, "
          f"{len(payload) / 1e6:.1f} MB, server on 127.0.0.1:{port}", flush=True)
    rows = []
    try:
        for rnd in range(1, args.rounds + 1):
            for name, fn in (("ours", run_ours), ("panoramisk", run_panoramisk)):
                print(f"round {rnd}/{args.rounds}: {name}", flush=True)
                rate = await fn(port, total)
                print(f"  {name}: {rate:,.0f} events/s", flush=True)
                rows.append((name, rate))
    finally:
        server.terminate()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40, help="copies of the 06 stream")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--uvloop", action="store_true", help="run both clients on uvloop")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        uvloop.install()
    rows = asyncio.run(bench(args))
    ours = max(r for n, r in rows if n == "ours")
    pano = max(r for n, r in rows if n == "panoramisk")
    ratio = ours / pano
    total = len(load_events()) * args.repeat
    loop_name = "uvloop" if args.uvloop else "asyncio"
    table = [
        "# AMI ingest: events/s applied to the call model",
        "",
        (f"`python bench/ami_ingest.py --repeat {args.repeat} --rounds {args.rounds}"
         f"{' --uvloop' if args.uvloop else ''}` — {total} events per round (the 06 load"),
        "sample, 930 real Asterisk 22 events, repeated), real localhost TCP socket, replay",
        "server in a separate process, both clients in one process feeding the same CallModel;",
        (f"best of {args.rounds} rounds each, {loop_name} event loop, Python "
         f"{platform.python_version()}, {platform.machine()}."),
        "",
        "| client | events/s (best) | all rounds |",
        "|---|---:|---|",
        f"| ours (AmiClient) | {ours:,.0f} | "
        + ", ".join(f"{r:,.0f}" for n, r in rows if n == "ours") + " |",
        f"| panoramisk 1.4 Manager | {pano:,.0f} | "
        + ", ".join(f"{r:,.0f}" for n, r in rows if n == "panoramisk") + " |",
        f"| **ratio** | **{ratio:.1f}x** | goal >= 4x |",
        "",
        "The machine is shared (2 cores, other jobs running), so absolute numbers move between",
        "runs; the ratio, measured in the same run with interleaved rounds, is the result.",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(table))
    print("\n".join(table))


if __name__ == "__main__":
    main()
