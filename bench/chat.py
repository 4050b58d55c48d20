"""Web chat benchmark: 1,000 visitor websockets, 100 agents, 200 messages/s visitor -> agent.

    python bench/chat.py            # ~4 min; writes bench/results/chat.md
    python bench/chat.py --quick    # 100 visitors, 10 agents, 50 messages/s for 5 s (smoke run)
    python bench/chat.py --rounds 1 # one bare run, then one chat run (~1-2 min)

The real path: a visitor's ``message`` frame on its socket (``/api/chat/widget/{ch}/ws``) ->
``ChatService.visitor_says`` (checks, the conversation's lock, the INSERT and its commit on the
SQLite file, the ack) -> the agent's live topic (``LiveHub.publish``) -> the agent's panel socket
(``/api/live``, session cookie). Every conversation is active (``auto_accept``): 100 agents with
10 chat slots each hold the 1,000 chats.

Baseline, in the same run, with the same client code and topology: a bare aiohttp websocket
relay (visitor socket -> the agent's socket, by a route table in memory; no storage, no checks,
no numbering, no topics). Both servers run in a child process of their own (the same event loop
kind, asyncio's default), the clients in this one; ``time.monotonic()`` is CLOCK_MONOTONIC on
Linux, but send and receive times are both taken here anyway. Delivery = the agent's socket has
the message parsed minus the moment the visitor's frame was written.

Rounds (``--rounds``, 3 by default): bare and chat runs alternate (bare first in odd rounds,
chat first in even ones), each on a new server, so that a machine shared with other work loads
both about alike; the headline ratio is the median of the rounds' p99 ratios, and each round's
figures are in the report with the load average around it. Server CPU per message = the server
process's user + system time (all its threads: aiosqlite's too) from the first message sent to
the last received, over the messages: what the load of the machine changes least.

Memory per idle visitor connection = (server RSS with the visitors connected and their chats
active - RSS before they came) / visitors, after a ``gc.collect()`` in the server: it counts the
socket *and* the conversation (service state, routing's interaction, the agent's slot).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contactcenter.common.gc_tuning import settle_after_start

PASSWORD = "bench password 123"
SITE = "http://bench.example"
CHAT, BARE = "chat", "bare"


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (every thread)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# --- the servers (child processes) ----------------------------------------------------------

def chat_server(workdir: str, agents: int, conn: Any) -> None:
    """The real server on a SQLite file: one queue, ``agents`` agents with 10 chat slots."""
    from contactcenter.app import ContactCenter
    from contactcenter.chat.settings import ChatChannelSettings, ChatSettings
    from contactcenter.config.schema import (
        DatabaseSettings,
        FastAgiSettings,
        RoutingFiles,
        Settings,
        WebSettings,
    )
    from contactcenter.web.auth import AUTH_KEY, hash_password

    work = Path(workdir)
    (work / "flows").mkdir()
    (work / "queues.yaml").write_text(
        "queues:\n  bench: {wrapup_s: 0, ring_timeout_s: 30, max_wait_s: 86400}\n")
    (work / "agents.yaml").write_text("agents:\n" + "".join(
        f'  - {{id: "b{i}", capacity: {{voice: 1, chat: 10}}, queues: [bench]}}\n'
        for i in range(agents)))
    settings = Settings(
        web=WebSettings(port=0), fastagi=FastAgiSettings(port=0),
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{work / 'cc.sqlite3'}"),
        routing=RoutingFiles(queues_file=str(work / "queues.yaml"),
                             agents_file=str(work / "agents.yaml")),
        flows_dir=str(work / "flows"), recordings_dir=str(work / "rec"), base_dir=workdir,
        chat=ChatSettings(channels=[ChatChannelSettings(
            name="bench", queue="bench", allowed_origins=[SITE], auto_accept=True)],
            new_conversations_per_ip=100_000, messages_per_minute=10_000))

    async def main() -> None:
        server = ContactCenter(settings, upgrade_schema=True)
        await server.start()
        store = server.web_app[AUTH_KEY].store
        digest = hash_password(PASSWORD)  # one scrypt: every bench agent has the same password
        for i in range(agents):
            await store.create_user(f"b{i}", digest, "agent", f"b{i}", time.time())
        settle_after_start()  # as `contactcenter serve` does once it is up
        await serve_until_told(conn, server.web_port)
        await server.stop()

    asyncio.run(main())


def bare_server(conn: Any) -> None:
    """The baseline: visitor socket -> agent socket, nothing else."""
    from aiohttp import web

    async def main() -> None:
        agents: dict[str, web.WebSocketResponse] = {}

        async def agent(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(compress=False)
            await ws.prepare(request)
            agents[request.match_info["id"]] = ws
            async for _ in ws:
                pass
            return ws

        async def visitor(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(compress=False)
            await ws.prepare(request)
            target = agents[request.match_info["agent"]]
            async for msg in ws:
                await target.send_str(msg.data)
            return ws

        app = web.Application()
        app.router.add_get("/agent/{id}", agent)
        app.router.add_get("/visitor/{agent}", visitor)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        settle_after_start()  # the same collector settings as the server's
        await serve_until_told(conn, port)
        await runner.cleanup()

    asyncio.run(main())


async def serve_until_told(conn: Any, port: int) -> None:
    """Report the port, then answer "gc" (collect, report RSS) until "stop"."""
    loop = asyncio.get_running_loop()
    conn.send(port)
    while True:
        order = await loop.run_in_executor(None, conn.recv)
        if order == "stop":
            return
        gc.collect()
        conn.send(rss_kib(os.getpid()))


@dataclass
class Server:
    proc: Any
    conn: Any
    port: int

    def rss_after_gc(self) -> int:
        self.conn.send("gc")
        return int(self.conn.recv())

    def stop(self) -> None:
        self.conn.send("stop")
        self.proc.join(30)
        if self.proc.is_alive():
            self.proc.kill()


def start(target: Any, *args: Any) -> Server:
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=target, args=(*args, child), daemon=True)
    proc.start()
    if not parent.poll(120):
        raise RuntimeError("server did not start")
    return Server(proc, parent, parent.recv())


# --- the clients (this process) -------------------------------------------------------------

@dataclass
class Result:
    mode: str
    latencies: list[float]
    sent: int
    rss_per_visitor_kib: float
    cpu_per_message_us: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at the start and the end


async def drive(mode: str, server: Server, visitors: int, agents: int, rate: float,
                duration: float) -> Result:
    url = f"http://127.0.0.1:{server.port}"
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    conn = aiohttp.TCPConnector(limit=0)
    http = aiohttp.ClientSession(connector=conn, headers={"Origin": SITE})
    agent_http: list[aiohttp.ClientSession] = []
    sockets: list[aiohttp.ClientWebSocketResponse] = []
    readers: list[asyncio.Task[None]] = []

    def received(key: str | None) -> None:
        t0 = sent_at.pop(key, None) if key else None
        if t0 is not None:
            latencies.append(time.monotonic() - t0)

    async def read_agent(ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            data = json.loads(msg.data)
            if mode == BARE:
                received(data.get("client_id"))
            elif data.get("type") == "event" and data["data"].get("type") == "chat-message":
                received(data["data"]["message"].get("client_id"))

    try:
        for i in range(agents):  # the agents, logged in and listening
            if mode == CHAT:
                session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                                headers={"Origin": url})
                agent_http.append(session)
                async with session.post(f"{url}/api/login",
                                        json={"username": f"b{i}", "password": PASSWORD}) as r:
                    csrf = (await r.json())["csrf_token"]
                async with session.post(f"{url}/api/agents/b{i}/login", json={},
                                        headers={"X-CSRF-Token": csrf}) as r:
                    assert r.status == 200, await r.text()
                ws = await session.ws_connect(f"{url}/api/live")
                await ws.receive_json()
                await ws.send_json({"type": "subscribe", "topics": [f"agent.b{i}"]})
                await ws.receive_json()
            else:
                ws = await http.ws_connect(f"{url}/agent/b{i}")
            sockets.append(ws)
            readers.append(asyncio.create_task(read_agent(ws)))
        await asyncio.sleep(0.5)
        before = server.rss_after_gc()

        gate = asyncio.Semaphore(50)
        visitor_ws: list[aiohttp.ClientWebSocketResponse] = [None] * visitors  # type: ignore[list-item]

        async def come(i: int) -> None:
            async with gate:
                if mode == CHAT:
                    async with http.post(f"{url}/api/chat/widget/bench/conversations",
                                         json={"answers": {}}) as r:
                        body = await r.json()
                        assert r.status == 201, body
                    ws = await http.ws_connect(f"{url}/api/chat/widget/bench/ws")
                    await ws.send_json({"type": "hello", "conversation_id":
                                        body["conversation_id"], "token": body["token"],
                                        "after": 0})
                    while (await ws.receive_json()).get("state") != "active":
                        pass
                else:
                    ws = await http.ws_connect(f"{url}/visitor/b{i % agents}")
                visitor_ws[i] = ws

        await asyncio.gather(*(come(i) for i in range(visitors)))
        drains = [asyncio.create_task(drain(ws)) for ws in visitor_ws]
        await asyncio.sleep(1.0)
        after = server.rss_after_gc()
        say(f"{mode}: {visitors} visitors connected; RSS {before} -> {after} KiB")

        rng = random.Random(7)
        interval = 1.0 / rate
        n = int(rate * duration)
        load0 = os.getloadavg()[0]
        cpu0 = cpu_s(server.proc.pid)
        t_start = time.monotonic()
        for k in range(n):
            due = t_start + k * interval
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            ws = visitor_ws[rng.randrange(visitors)]
            key = f"m{k}"
            frame = {"type": "message", "text": f"message {k}", "client_id": key}
            sent_at[key] = time.monotonic()
            await ws.send_str(json.dumps(frame))
        deadline = time.monotonic() + 10
        while sent_at and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        cpu = cpu_s(server.proc.pid) - cpu0
        for task in drains + readers:
            task.cancel()
        tenth = max(1, len(latencies) // 10)
        say(f"{mode}: p99 ms per tenth of the run, in arrival order: " + ", ".join(
            f"{pct(latencies[i:i + tenth], .99) * 1000:.0f}"
            for i in range(0, len(latencies), tenth)))
        return Result(mode, latencies, n, (after - before) / visitors,
                      cpu / max(1, len(latencies)) * 1e6, (load0, os.getloadavg()[0]))
    finally:
        for ws in sockets:
            await ws.close()
        await http.close()
        for session in agent_http:
            await session.close()


async def drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass


def run(mode: str, args: argparse.Namespace) -> Result:
    with tempfile.TemporaryDirectory() as work:
        server = start(chat_server, work, args.agents) if mode == CHAT else start(bare_server)
        try:
            return asyncio.run(drive(mode, server, args.visitors, args.agents, args.rate,
                                     args.duration))
        finally:
            server.stop()


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def row(label: str, r: Result) -> str:
    lat = [x * 1000 for x in r.latencies] or [float("nan")]
    return (f"| {label} | {len(r.latencies)}/{r.sent} | {pct(lat, .5):.2f} | "
            f"{pct(lat, .99):.2f} | {max(lat):.2f} | {r.cpu_per_message_us:.0f} | "
            f"{r.rss_per_visitor_kib:.1f} | {r.load[0]:.1f} -> {r.load[1]:.1f} |")


def p99_ratio(chat: Result, bare: Result) -> float:
    if not chat.latencies or not bare.latencies:
        return float("nan")
    return pct(chat.latencies, .99) / pct(bare.latencies, .99)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench/results/chat.md"))
    args = parser.parse_args()
    if args.quick:
        args.visitors, args.agents, args.rate, args.duration = 100, 10, 50.0, 5.0
        args.rounds = 1
    rounds: list[tuple[Result, Result]] = []
    for r in range(args.rounds):
        order = (BARE, CHAT) if r % 2 == 0 else (CHAT, BARE)
        got = {mode: run(mode, args) for mode in order}
        rounds.append((got[BARE], got[CHAT]))
        say(f"round {r + 1}: p99 chat / bare x{p99_ratio(got[CHAT], got[BARE]):.2f}")
    flags = (" --quick" if args.quick else "") + \
        (f" --rounds {args.rounds}" if args.rounds != 3 and not args.quick else "")
    lines = [f"# Web chat: visitor -> agent delivery ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
             "", (f"`python bench/chat.py{flags}` on "
             f"{platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()}): "
             f"{args.visitors} visitor sockets, {args.agents} agents, {args.rate:g} messages/s "
             f"for {args.duration:g} s per run; {args.rounds} round(s) of a bare and a chat "
             "run, alternating which goes first."), "",
             ("| round, path | delivered | p50 ms | p99 ms | max ms | server CPU per message us "
              "| RSS per visitor KiB | load average (1 min) |"),
             "|---|---|---|---|---|---|---|---|"]
    for i, (bare, chat) in enumerate(rounds, 1):
        lines.append(row(f"{i}, bare", bare))
        lines.append(row(f"{i}, chat", chat))
    ratios = [p99_ratio(chat, bare) for bare, chat in rounds]
    pooled = [Result(mode, [x for b, c in rounds for x in (b if mode == BARE else c).latencies],
                     sum((b if mode == BARE else c).sent for b, c in rounds),
                     median([(b if mode == BARE else c).rss_per_visitor_kib for b, c in rounds]),
                     median([(b if mode == BARE else c).cpu_per_message_us for b, c in rounds]),
                     (rounds[0][0].load[0], rounds[-1][1].load[1])) for mode in (BARE, CHAT)]
    lines.append(row("all, bare", pooled[0]))
    lines.append(row("all, chat", pooled[1]))
    chat_p99 = pct(pooled[1].latencies, .99) * 1000 if pooled[1].latencies else float("nan")
    lines += ["", (f"p99 chat / bare relay, median of the rounds: **x{median(ratios):.2f}** "
              f"(rounds: {', '.join(f'x{x:.2f}' for x in ratios)}; all rounds pooled: "
              f"x{p99_ratio(pooled[1], pooled[0]):.2f}, chat p99 {chat_p99:.1f} ms). Goal: "
              "p99 <= 100 ms and <= x1.5. Memory per idle visitor connection (median): "
              f"{pooled[1].rss_per_visitor_kib:.1f} KiB (goal <= 50 KiB; it counts the "
              "conversation too, see the script's docstring). \"all\" rows: latencies pooled, "
              "CPU and memory the median of the rounds.")]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
