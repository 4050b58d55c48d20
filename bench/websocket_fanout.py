"""Websocket fan-out benchmark: one routing state change -> 500 live wallboard clients.

    python bench/websocket_fanout.py            # ~1 min; writes bench/results/websocket_fanout.md
    python bench/websocket_fanout.py --quick    # 100 clients, 1 round of 5 changes (smoke run)
    python bench/websocket_fanout.py --asyncio  # the default event loop instead of uvloop

The real path: an agent pauses / unpauses in the RoutingService -> ``WallboardPublisher``
(routing subscriber, leading-edge throttle) builds the floor snapshot -> ``LiveHub.publish``
(one JSON encoding, the frame written straight to every socket that keeps up) -> N
authenticated websockets (session cookie, Origin checked, subscribed to ``wallboard``).

Baseline, measured in the same run against the same client processes' code: a bare aiohttp
websocket endpoint that sends the same wallboard document (taken from the publisher once, before
the rounds) to the same number of clients with ``send_str`` in a loop (no auth, no topics, no
snapshot, no slow-client policy). Same document, so the clients' JSON decoding costs the same in
both rows (decoding the nested wallboard costs them ~25 us a message, a long flat string far
less: an earlier baseline that sent ``"x" * size`` was not like for like).

Method. The server (either one) runs in this process; the clients run in ``--procs`` separate
processes (2 by default, N/2 sockets each), so their parsing does not compete with the server
for its event loop. Timestamps on both sides come from ``time.monotonic()``, which on Linux is
CLOCK_MONOTONIC: one system-wide clock, so a client's receive time minus the server's change
time is meaningful across processes. Latency of one client = the moment it has parsed the event
(JSON decoded) minus the moment the state change was made. Changes are spaced 0.3 s apart (more
than the publisher's 0.1 s coalescing window, as isolated changes are), and the next change
waits until every client has the previous one. Rounds alternate which path goes first.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contactcenter.domain.clock import Clock
from contactcenter.panel.wallboard import WallboardPublisher
from contactcenter.routing.config_loader import load_routing_config
from contactcenter.routing.service import RoutingService
from contactcenter.storage.audit import AuditLog
from contactcenter.storage.database import Database
from contactcenter.web.auth import AUTH_KEY, add_auth, hash_password
from contactcenter.web.security import WebSecuritySettings

PASSWORD = "bench password 123"
GAP = 0.3  # seconds between changes
PANEL, BARE = "panel", "bare"


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def say(text: str) -> None:
    """Progress on stderr (the results go to the file and stdout at the end)."""
    print(text, file=sys.stderr, flush=True)


# --- client processes ---------------------------------------------------------------------

async def client_main(url: str, mode: str, n: int) -> int:
    """One client process: connect ``n`` sockets, report each event once all have it."""
    times: dict[int, list[float]] = defaultdict(list)
    out = sys.stdout
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                 cookie_jar=aiohttp.CookieJar(unsafe=True),
                                 headers={"Origin": url})
    sockets = []
    try:
        if mode == PANEL:
            async with http.post(f"{url}/api/login",
                                 json={"username": "sup", "password": PASSWORD}) as r:
                assert r.status == 200, await r.text()
        for _ in range(n):
            if mode == PANEL:
                ws = await http.ws_connect(f"{url}/api/live")
                await ws.receive_json()  # hello
                await ws.send_json({"type": "subscribe", "topics": ["wallboard"]})
                assert (await ws.receive_json())["topics"] == ["wallboard"]
            else:
                ws = await http.ws_connect(f"{url}/ws")
            sockets.append(ws)

        async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    return
                data = json.loads(msg.data)
                t = time.monotonic()
                if data.get("type") in ("event", "bare"):
                    got = times[data["seq"]]
                    got.append(t)
                    if len(got) == n:
                        out.write(f"done {data['seq']}\n")
                        out.flush()

        readers = [asyncio.create_task(read(ws)) for ws in sockets]
        gc.collect()
        gc.freeze()
        out.write("ready\n")
        out.flush()
        stdin = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
        await stdin.readline()  # "stop" (or EOF)
        for task in readers:
            task.cancel()
        out.write("samples " + json.dumps({str(k): v for k, v in times.items()}) + "\n")
        out.flush()
    finally:
        for ws in sockets:
            await ws.close()
        await http.close()
    return 0


class ClientProcs:
    """The client processes of one measurement, driven over their stdin/stdout."""

    def __init__(self) -> None:
        self.procs: list[asyncio.subprocess.Process] = []
        self.lines: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        self.readers: list[asyncio.Task[None]] = []

    async def start(self, url: str, mode: str, n: int, procs: int, use_asyncio: bool) -> None:
        """Start ``procs`` processes sharing ``n`` sockets; returns once all are connected."""
        share = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
        for i, k in enumerate(share):
            argv = [sys.executable, __file__, "--client", url, mode, str(k)]
            if use_asyncio:
                argv.append("--asyncio")
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                limit=2**26)
            self.procs.append(proc)
            self.readers.append(asyncio.create_task(self._read(i, proc)))
        for _ in self.procs:
            await self.expect("ready", timeout=120)

    async def _read(self, i: int, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            await self.lines.put((i, line.decode().rstrip("\n")))
        await self.lines.put((i, "eof"))

    async def expect(self, word: str, timeout: float = 30) -> str:
        """The next line starting with ``word`` from any process."""
        while True:
            i, line = await asyncio.wait_for(self.lines.get(), timeout)
            if line == "eof":
                raise RuntimeError(f"client process {i} ended early")
            if line.startswith(word):
                return line

    async def wait_all_done(self, after: int) -> int:
        """Wait until every process has all its sockets on one event newer than ``after``."""
        waiting = set(range(len(self.procs)))
        seq = None
        while waiting:
            i, line = await asyncio.wait_for(self.lines.get(), 30)
            if line == "eof":
                raise RuntimeError(f"client process {i} ended early")
            if line.startswith("done "):
                s = int(line.split()[1])
                if s > after:
                    if seq is not None and s != seq:
                        raise RuntimeError(f"two events ({seq}, {s}) for one change")
                    seq = s
                    waiting.discard(i)
        assert seq is not None
        return seq

    async def stop(self) -> dict[int, list[float]]:
        """Stop the processes; returns every event's receive times, all processes pooled."""
        times: dict[int, list[float]] = defaultdict(list)
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(b"stop\n")
            await proc.stdin.drain()
        for _ in self.procs:
            line = await self.expect("samples ", timeout=60)
            for k, v in json.loads(line.removeprefix("samples ")).items():
                times[int(k)].extend(v)
        await self.close()
        return times

    async def close(self) -> None:
        """Make sure no process outlives the measurement."""
        for proc in self.procs:
            if proc.returncode is None:
                if proc.stdin is not None and not proc.stdin.is_closing():
                    proc.stdin.close()
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        for task in self.readers:
            task.cancel()


# --- the measured servers -----------------------------------------------------------------

class Result:
    """Latencies (ms) and server CPU of one measurement."""

    def __init__(self, latencies: list[float], cpu_ms_per_change: float) -> None:
        self.latencies = latencies
        self.cpu_ms_per_change = cpu_ms_per_change


async def measure(clients: ClientProcs, changes: int, label: str,
                  change: Callable[[int], Awaitable[None]], last: int = 0) -> Result:
    """Make ``changes`` changes; latency = client receive time - change time, per client."""
    gc.collect()
    gc.freeze()  # long-lived setup objects out of the collector's way, as the server does
    made: dict[int, float] = {}
    cpu = 0.0
    await asyncio.sleep(GAP)
    for k in range(changes):
        await asyncio.sleep(GAP)
        c0 = time.process_time()
        t0 = time.monotonic()
        await change(k)
        last = await clients.wait_all_done(last)
        cpu += time.process_time() - c0
        made[last] = t0
        if (k + 1) % 5 == 0 or k + 1 == changes:
            say(f"  {label}: change {k + 1}/{changes}")
    times = await clients.stop()
    lat = [(t - made[seq]) * 1000 for seq, ts in times.items() if seq in made for t in ts]
    # the server process's CPU while it made the change and fanned it out (clients excluded)
    return Result(lat, cpu * 1000 / changes)


async def bench_panel(n: int, changes: int, procs: int, use_asyncio: bool, tmp: Path,
                      label: str) -> tuple[Result, int]:
    """The real path; returns the result and the payload size."""
    clock = Clock()
    db = Database(f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}")
    await db.create_all()
    cfg = load_routing_config(ROOT / "config/queues.yaml", ROOT / "config/agents.yaml")
    routing = RoutingService(cfg, clock)
    await routing.start()
    for agent_id in cfg.agents:
        await routing.agent_login(agent_id)
    app = web.Application()
    add_auth(app, db, WebSecuritySettings(), AuditLog(db, clock), clock=clock)
    publisher = WallboardPublisher(routing, app[AUTH_KEY].live.publish)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    if await app[AUTH_KEY].store.get_by_username("sup") is None:
        await app[AUTH_KEY].store.create_user("sup", hash_password(PASSWORD), "supervisor", None,
                                              time.time())
    clients = ClientProcs()
    try:
        say(f"  {label}: starting {procs} client processes, {n} sockets")
        await clients.start(url, PANEL, n, procs, use_asyncio)
        publisher.start()
        first = await clients.wait_all_done(0)  # the first publish (current state): not measured
        size = len(json.dumps(publisher.current()))

        async def change(k: int) -> None:
            if k % 2 == 0:
                await routing.agent_pause("1001", "bench")
            else:
                await routing.agent_unpause("1001")

        return await measure(clients, changes, label, change, first), size
    finally:
        await clients.close()
        await publisher.stop()
        await runner.cleanup()
        await routing.stop()
        await db.close()


async def wallboard_document() -> str:
    """The wallboard document as the panel path publishes it (all agents logged in)."""
    cfg = load_routing_config(ROOT / "config/queues.yaml", ROOT / "config/agents.yaml")
    routing = RoutingService(cfg, Clock())
    await routing.start()
    try:
        for agent_id in cfg.agents:
            await routing.agent_login(agent_id)
        return json.dumps(WallboardPublisher(routing, lambda _t, _d: 0).current(),
                          separators=(",", ":"))
    finally:
        await routing.stop()


async def bench_bare(n: int, changes: int, procs: int, use_asyncio: bool, document: str,
                     label: str) -> Result:
    """Baseline: a bare aiohttp websocket broadcast of the same document."""
    sockets: set[web.WebSocketResponse] = set()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        sockets.add(ws)
        try:
            async for _msg in ws:
                pass
        finally:
            sockets.discard(ws)
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    clients = ClientProcs()
    try:
        say(f"  {label}: starting {procs} client processes, {n} sockets")
        await clients.start(f"http://127.0.0.1:{port}", BARE, n, procs, use_asyncio)
        while len(sockets) < n:
            await asyncio.sleep(0.01)

        async def change(k: int) -> None:
            payload = f'{{"type":"bare","seq":{k + 1},"data":{document}}}'
            for ws in list(sockets):
                await ws.send_str(payload)

        return await measure(clients, changes, label, change)
    finally:
        await clients.close()
        await runner.cleanup()


# --- report -------------------------------------------------------------------------------

def row(name: str, lat: list[float], cpu: float | None = None) -> str:
    """One markdown table row."""
    cpu_text = "" if cpu is None else f" {cpu:.1f} |"
    return (f"| {name} | {len(lat)} | {statistics.median(lat):.1f} | {pct(lat, 0.95):.1f} | "
            f"{pct(lat, 0.99):.1f} | {max(lat):.1f} |{cpu_text}")


def report(args: argparse.Namespace, n: int, changes: int, rounds: int, size: int,
           panel: list[Result], bare: list[Result], elapsed: float) -> str:
    """The results file."""
    p_all = [x for r in panel for x in r.latencies]
    b_all = [x for r in bare for x in r.latencies]
    p99, b99 = pct(p_all, 0.99), pct(b_all, 0.99)
    verdict = "met" if p99 <= 100 else "NOT met"
    p_cpu = statistics.median(r.cpu_ms_per_change for r in panel)
    b_cpu = statistics.median(r.cpu_ms_per_change for r in bare)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Websocket fan-out benchmark",
        "",
        (f"`python bench/websocket_fanout.py{' --quick' if args.quick else ''}` — {now}; Python "
        f"{platform.python_version()}, aiohttp {aiohttp.__version__}, event loop {args.loop}, "
        f"{os.cpu_count()} CPUs; whole run {elapsed:.0f} s; load average at the start "
        f"{args.load_before:.1f}, at the end {os.getloadavg()[0]:.1f}."),
        "",
        (f"{n} websocket clients in {args.procs} separate client processes, {rounds} round(s) of "
        f"{changes} state changes per path, rounds alternating which path goes first; "
        f"wallboard payload {size} bytes. Latency per client = event parsed (JSON decoded) in "
        "the client process - state change made in the server process, both read from "
        "`time.monotonic()` (CLOCK_MONOTONIC, system-wide on Linux)."),
        "",
        "| path | samples | p50 ms | p95 ms | p99 ms | max ms | server CPU ms/change (median) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        row("routing change -> WallboardPublisher -> LiveHub -> clients", p_all, p_cpu),
        row("baseline: bare aiohttp send_str loop, same document", b_all, b_cpu),
        "",
        (f"Ratio to the baseline: p50 x{statistics.median(p_all) / statistics.median(b_all):.2f}, "
        f"p99 x{p99 / b99:.2f}, server CPU per change x{p_cpu / b_cpu:.2f}."),
        "",
        (f"Goal: p99 <= 100 ms for {n} clients: **{verdict}** (p99 {p99:.1f} ms; baseline p99 "
        f"{b99:.1f} ms)."),
        "",
        "## Rounds",
        "",
        "| round | path | samples | p50 ms | p95 ms | p99 ms | max ms | server CPU ms/change |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for i, (p, b) in enumerate(zip(panel, bare, strict=True), 1):
        lines.append(f"| {i} " + row("panel", p.latencies, p.cpu_ms_per_change))
        lines.append(f"| {i} " + row("bare", b.latencies, b.cpu_ms_per_change))
    lines += [
        "",
        ("Server CPU = this process's CPU time from the change until every client had the event, "
        "divided by the changes (the clients' work is in other processes and not counted). "
        "Isolated changes are published on the leading edge; under bursts the publisher "
        "coalesces changes within 0.1 s into one trailing publish, so a burst adds up to 0.1 s "
        "on top of these figures. The machine (2 cores) is shared with other jobs: compare rows "
        "of one run, not runs."),
        "",
    ]
    return "\n".join(lines)


async def main(argv: list[str] | None = None) -> int:
    """Run both measurements, round after round, and write the results file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--procs", type=int, default=2, help="client processes")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--asyncio", action="store_true", help="default event loop, not uvloop")
    ap.add_argument("--out", default=str(ROOT / "bench/results/websocket_fanout.md"))
    args = ap.parse_args(argv)
    args.loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    n, changes, rounds = (100, 5, 1) if args.quick else (args.clients, args.changes, args.rounds)
    started = time.monotonic()
    args.load_before = os.getloadavg()[0]  # other jobs on the machine move every figure
    panel: list[Result] = []
    bare: list[Result] = []
    size = 0
    document = await wallboard_document()
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            order = (PANEL, BARE) if r % 2 == 0 else (BARE, PANEL)
            say(f"round {r + 1}/{rounds} ({' then '.join(order)})")
            for path in order:
                label = f"round {r + 1} {path}"
                if path == PANEL:
                    res, size = await bench_panel(n, changes, args.procs, args.asyncio,
                                                  Path(tmp), label)
                    panel.append(res)
                else:
                    res = await bench_bare(n, changes, args.procs, args.asyncio, document,
                                           label)
                    bare.append(res)
                say(f"  {label}: p50 {statistics.median(res.latencies):.1f} ms, "
                    f"p99 {pct(res.latencies, 0.99):.1f} ms, "
                    f"server CPU {res.cpu_ms_per_change:.1f} ms/change")
    text = report(args, n, changes, rounds, size, panel, bare, time.monotonic() - started)
    Path(args.out).write_text(text)
    print(text)
    return 0


def run(coro_fn: Callable[[], Awaitable[int]], use_asyncio: bool) -> int:
    """Run on uvloop when installed (as ``contactcenter`` does), else the default loop."""
    if not use_asyncio:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(coro_fn())  # type: ignore[arg-type]
    return asyncio.run(coro_fn())  # type: ignore[arg-type]


if __name__ == "__main__":
    use_asyncio = "--asyncio" in sys.argv
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        url, mode, count = sys.argv[2], sys.argv[3], int(sys.argv[4])
        raise SystemExit(run(lambda: client_main(url, mode, count), use_asyncio))
    raise SystemExit(run(lambda: main(sys.argv[1:]), use_asyncio))
