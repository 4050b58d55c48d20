"""FastAGI benchmark: our server vs a minimal raw asyncio FastAGI server, same loop, same load.

Run: ``python bench/fastagi.py`` (about 30-50 s on 2 cores). Writes bench/results/fastagi.md.

Each server runs in its own process (one core); the load generator, a fake Asterisk written on
asyncio.Protocol, runs in this process (the other core). Every session: connect, send a 22-line
env block as Asterisk 22 does, answer five commands (ANSWER, STREAM FILE, WAIT FOR DIGIT,
SET VARIABLE, GET VARIABLE), then wait for the server to close the socket.

Measured: sessions/s (client side, steady state between the ramp and the drain), server CPU
per session (the server process's user+system time over its sessions), command round trip (server side: from writing a
command to holding its reply, so it includes the fake Asterisk's turnaround), connect time
(client side: create_connection until the socket is usable), and errors on both sides.
Both servers use the same loop policy: uvloop when importable, else the standard loop
(``--loop asyncio`` forces the standard loop everywhere).
Worker starts are spread over RAMP seconds, as calls arrive at a PBX, not all in one tick.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import resource
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contactcenter.telephony.agi.server import FastAgiServer
from contactcenter.telephony.agi.session import AgiSession

try:
    import uvloop
except ImportError:  # the standard loop must work too
    uvloop = None

RAMP = 0.5
LEVELS = [(100, 2500), (1000, 5000)]  # (concurrent sessions, sessions per run and round)

ENV = (
    "".join(
        f"agi_{k}: {v}\n"
        for k, v in [
            ("network", "yes"),
            ("network_script", "ivr?flow=main"),
            ("request", "agi://127.0.0.1:4573/ivr?flow=main"),
            ("channel", "Local/100@cc-inbound-00000044;2"),
            ("language", "en"),
            ("type", "Local"),
            ("uniqueid", "1795457556.137"),
            ("version", "22.10.1"),
            ("callerid", "5551234"),
            ("calleridname", "Trace Caller"),
            ("callingpres", "0"),
            ("callingani2", "0"),
            ("callington", "0"),
            ("callingtns", "0"),
            ("dnid", "unknown"),
            ("rdnis", "unknown"),
            ("context", "cc-inbound"),
            ("extension", "100"),
            ("priority", "3"),
            ("enhanced", "0.0"),
            ("accountcode", ""),
            ("threadid", "139973363844800"),
        ]
    )
    + "\n"
).encode()

# What the fake Asterisk answers, keyed by the first word of the command (trace formats).
REPLIES = {
    b"ANSWER": b"200 result=0\n",
    b"STREAM": b"200 result=0 endpos=11234\n",
    b"WAIT": b"200 result=49\n",
    b"SET": b"200 result=1\n",
    b"GET": b"200 result=1 (1)\n",
}
RAW_COMMANDS = [
    b"ANSWER\n",
    b'STREAM FILE hello-world "0123456789*#"\n',
    b"WAIT FOR DIGIT 5000\n",
    b"SET VARIABLE CC_CHOICE 1\n",
    b"GET VARIABLE CC_CHOICE\n",
]


def install_loop_policy() -> str:
    """uvloop if present (unless CC_BENCH_LOOP=asyncio), else the standard policy; its name."""
    if uvloop is not None and os.environ.get("CC_BENCH_LOOP", "auto") != "asyncio":
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        return f"uvloop {uvloop.__version__}"
    return "asyncio (standard)"


# -- servers (child process) -------------------------------------------------------------------


async def serve_ours(conn, rtts: list[float], errors: list[int]) -> None:
    perf = time.perf_counter

    async def handler(s: AgiSession) -> None:
        t = perf()
        await s.answer()
        t2 = perf()
        digit = await s.stream_file("hello-world", "0123456789*#")
        t3 = perf()
        digit = await s.wait_for_digit(5000)
        t4 = perf()
        await s.set_variable("CC_CHOICE", digit or "")
        t5 = perf()
        value = await s.get_variable("CC_CHOICE")
        t6 = perf()
        rtts.extend((t2 - t, t3 - t2, t4 - t3, t5 - t4, t6 - t5))
        if value != "1":
            errors[0] += 1

    server = FastAgiServer(host="127.0.0.1", port=0, allowed_networks=["127.0.0.0/8"])
    server.route("ivr", handler)
    await server.start()
    conn.send(server.port)
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    await server.stop(grace=2.0)
    errors[0] += server.stats.errors + server.stats.timeouts


async def serve_raw(conn, rtts: list[float], errors: list[int]) -> None:
    perf = time.perf_counter

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The least a usable FastAGI server does: env into a dict, route on the script name,
        # the result value out of each reply. No validation, limits, timeouts or typing.
        try:
            env = {}
            while True:
                line = await reader.readline()
                if line in (b"\n", b""):
                    break
                key, _, value = line.decode().rstrip("\n").partition(": ")
                env[key] = value
            if env.get("agi_network_script", "").split("?", 1)[0] != "ivr":
                errors[0] += 1
                return
            for cmd in RAW_COMMANDS:
                t = perf()
                writer.write(cmd)
                reply = (await reader.readline()).decode()
                rtts.append(perf() - t)
                if not reply.startswith("200 result="):
                    errors[0] += 1
                    break
                result = reply[11:].split(" ", 1)[0].rstrip("\n")
                if cmd.startswith(b"WAIT") and result != "49":
                    errors[0] += 1
                if cmd.startswith(b"GET VARIABLE") and not reply.endswith("(1)\n"):
                    errors[0] += 1
        except (OSError, EOFError, ValueError):  # socket trouble or undecodable bytes
            errors[0] += 1
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    conn.send(server.sockets[0].getsockname()[1])
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    server.close()


def server_main(kind: str, conn) -> None:
    install_loop_policy()
    rtts: list[float] = []
    errors = [0]
    serve = serve_ours if kind == "ours" else serve_raw
    before = resource.getrusage(resource.RUSAGE_SELF)
    asyncio.run(serve(conn, rtts, errors))
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    conn.send((rtts, errors[0], cpu))


# -- load generator (this process) -------------------------------------------------------------


class FakeCall(asyncio.Protocol):
    """Asterisk's side of one FastAGI session, answering each command at once."""

    def __init__(self, done: asyncio.Future[bool]) -> None:
        self.done = done
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.ok = True

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(ENV)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            reply = REPLIES.get(line.split(b" ", 1)[0])
            if reply is None:
                self.ok = False
                reply = b"510 Invalid or unknown command\n"
            self.transport.write(reply)

    def connection_lost(self, exc) -> None:
        if not self.done.done():
            self.done.set_result(self.ok and exc is None)


async def probe_loop(port: int, conn) -> None:
    """One session at a time, every few ms, until told to stop: connect and first-command times."""
    loop = asyncio.get_running_loop()
    stop = loop.run_in_executor(None, conn.recv)
    connects: list[float] = []
    firsts: list[float] = []
    errors = [0]
    outstanding: set[asyncio.Task[None]] = set()

    async def one() -> None:
        done: asyncio.Future[bool] = loop.create_future()
        call = ProbeCall(done)
        t = time.perf_counter()
        try:
            await asyncio.wait_for(loop.create_connection(lambda: call, "127.0.0.1", port), 10)
            ok = await asyncio.wait_for(done, 30)
        except (TimeoutError, OSError):
            ok = False
        if ok and call.t_first is not None and call.t_connected is not None:
            connects.append(call.t_connected - t)
            firsts.append(call.t_first - call.t_connected)
        else:
            errors[0] += 1

    while not stop.done():
        if len(outstanding) < 50:  # a new probe every 5 ms, never more than 50 at once
            task = asyncio.create_task(one())
            outstanding.add(task)
            task.add_done_callback(outstanding.discard)
        await asyncio.sleep(0.005)
    await asyncio.gather(*outstanding)
    await stop
    conn.send((connects, firsts, errors[0]))


class ProbeCall(FakeCall):
    """A FakeCall that stamps when it connected and when the first command arrived."""

    def __init__(self, done: asyncio.Future[bool]) -> None:
        super().__init__(done)
        self.t_connected: float | None = None
        self.t_first: float | None = None

    def connection_made(self, transport) -> None:
        self.t_connected = time.perf_counter()
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.t_first is None:
            self.t_first = time.perf_counter()
        super().data_received(data)


def probe_main(port: int, conn) -> None:
    install_loop_policy()
    asyncio.run(probe_loop(port, conn))


def pct(values: list[float], p: float) -> float:
    """p-th percentile (nearest rank) in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[k] * 1000


async def drive(port: int, concurrency: int, total: int, label: str) -> dict:
    """Run ``total`` sessions with ``concurrency`` workers against ``port``; client samples."""
    loop = asyncio.get_running_loop()
    connects: list[float] = []
    durations: list[float] = []
    state = {"left": total, "done": 0, "errors": 0}
    window: dict[str, float] = {}  # steady state: ramp over .. last session started

    async def worker(delay: float) -> None:
        await asyncio.sleep(delay)
        while state["left"] > 0:
            state["left"] -= 1
            if state["left"] == 0:
                window["end"], window["end_done"] = time.perf_counter(), state["done"]
            done: asyncio.Future[bool] = loop.create_future()
            t = time.perf_counter()
            try:
                await asyncio.wait_for(
                    loop.create_connection(partial(FakeCall, done), "127.0.0.1", port), 10
                )
                connects.append(time.perf_counter() - t)
                ok = await asyncio.wait_for(done, 30)
                durations.append(time.perf_counter() - t)
            except (TimeoutError, OSError):
                ok = False
            state["done"] += 1
            if not ok:
                state["errors"] += 1

    async def mark_ramp_end() -> None:
        await asyncio.sleep(RAMP)
        window["start"], window["start_done"] = time.perf_counter(), state["done"]

    async def progress() -> None:
        while True:
            await asyncio.sleep(1.0)
            print(f"    [{label}] {state['done']}/{total} sessions", flush=True)

    start = time.perf_counter()
    ticker = asyncio.create_task(progress())
    await asyncio.gather(
        mark_ramp_end(), *(worker(RAMP * i / concurrency) for i in range(concurrency))
    )
    elapsed = time.perf_counter() - start
    ticker.cancel()
    return {
        "sessions": state["done"],
        "rate": steady_rate(window, state["done"], elapsed),
        "connects": connects,
        "durations": durations,
        "client_errors": state["errors"],
    }


def steady_rate(window: dict[str, float], done: int, elapsed: float) -> float:
    """Sessions/s between the end of the ramp and the start of the last session."""
    if "start" in window and "end" in window and window["end"] - window["start"] > 0.2:
        return (window["end_done"] - window["start_done"]) / (window["end"] - window["start"])
    return done / elapsed  # too short a run for a steady window


def run_one(kind: str, concurrency: int, total: int, label: str) -> dict:
    """One server process, one load run; raw samples from both sides."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=server_main, args=(kind, child), daemon=True)
    proc.start()
    port = parent.recv()
    probe_parent, probe_child = ctx.Pipe()
    probe = ctx.Process(target=probe_main, args=(port, probe_child), daemon=True)
    probe.start()
    result = asyncio.run(drive(port, concurrency, total, label))
    probe_parent.send("stop")
    probe_connects, probe_firsts, probe_errors = probe_parent.recv()
    probe.join(10)
    parent.send("stop")
    rtts, server_errors, server_cpu = parent.recv()
    proc.join(10)
    result.update(
        server_cpu_us=server_cpu / max(1, len(rtts) // 5) * 1e6,
        rtts=rtts,
        server_errors=server_errors,
        probe_connects=probe_connects,
        probe_firsts=probe_firsts,
        probe_errors=probe_errors,
    )
    print(
        f"  [{label}] {result['rate']:,.0f} sessions/s, server CPU "
        f"{result['server_cpu_us']:.0f} us/session, cmd rtt p99 {pct(rtts, 99):.2f} ms, "
        f"probe connect p99 {pct(probe_connects, 99):.2f} ms, first command p99 "
        f"{pct(probe_firsts, 99):.2f} ms ({len(probe_connects)} probes), "
        f"errors {result['client_errors'] + server_errors + probe_errors}",
        flush=True,
    )
    return result


def summarize(kind: str, concurrency: int, runs: list[dict]) -> dict:
    """Median steady rate over rounds; percentiles over every sample of every round."""
    rtts = [x for r in runs for x in r["rtts"]]
    connects = [x for r in runs for x in r["connects"]]
    durations = [x for r in runs for x in r["durations"]]
    probe_connects = [x for r in runs for x in r["probe_connects"]]
    probe_firsts = [x for r in runs for x in r["probe_firsts"]]
    return {
        "kind": kind,
        "concurrency": concurrency,
        "sessions": sum(r["sessions"] for r in runs),
        "rate": statistics.median(r["rate"] for r in runs),
        "rates": [r["rate"] for r in runs],
        "cpu_us": statistics.median(r["server_cpu_us"] for r in runs),
        "rtt_p50": pct(rtts, 50),
        "rtt_p99": pct(rtts, 99),
        "load_connect_p99": pct(connects, 99),
        "connect_p50": pct(probe_connects, 50),
        "connect_p99": pct(probe_connects, 99),
        "first_p99": pct(probe_firsts, 99),
        "probes": len(probe_connects),
        "session_p99": pct(durations, 99),
        "errors": sum(r["client_errors"] + r["server_errors"] + r["probe_errors"] for r in runs),
    }


METHOD = """\
Each server runs in its own process; the fake Asterisk load generator (asyncio.Protocol) runs in
the bench process. A session = connect, the 22-line env block as Asterisk 22 sends it, 5 commands
(ANSWER, STREAM FILE, WAIT FOR DIGIT, SET VARIABLE, GET VARIABLE), then the server closes.
`raw` is a minimal asyncio-streams FastAGI server: a readline loop that reads the env into a
dict, routes on the script name and takes `result=` out of each reply, with no validation,
limits, timeouts, hangup tracking or typed results.

{rounds} rounds per level, ours and raw alternating. sessions/s is the median of the rounds'
steady-state rates (after the {ramp} s ramp of worker starts, before the drain); percentiles pool
every sample of every round. Command round trip is measured in the server (write to reply in
hand, so it includes the fake Asterisk's turnaround and both loops' queueing). Connect and
first-command times come from a separate probe process that starts a session every 5 ms beside
the load (at most 50 at once), as a PBX would see them: connect = create_connection until
connected; first command = connected until the server's first command arrives (accept queue,
env block, routing). `load connect p99` is the connect time seen inside the busy load generator:
mostly that process's own event-loop lag. Server CPU = the server process's user+system time
divided by its sessions (median of rounds), the steadiest number when other jobs share the
machine.
"""

HEADER = (
    "| server | concurrent | sessions | sessions/s (median) | rounds | server CPU us/session "
    "| cmd rtt p50 ms | cmd rtt p99 ms | connect p50 ms | connect p99 ms | first cmd p99 ms "
    "| probes | load connect p99 ms | session p99 ms | errors |\n"
    "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def verdict(ok: bool) -> str:
    """Goal marker for the report."""
    return "met" if ok else "NOT met"


def write_report(path: Path, results: list[dict], policy: str, wall: float, rounds: int) -> None:
    """Write the markdown table and the goal check."""
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "# FastAGI benchmark",
        "",
        (
            f"`python bench/fastagi.py` — {stamp}; Python {platform.python_version()}, "
            f"loop: {policy}, {os.cpu_count()} CPUs; whole run {wall:.0f} s."
        ),
        "",
        METHOD.format(rounds=rounds, ramp=RAMP),
        HEADER,
    ]
    for r in results:
        rounds_txt = " / ".join(f"{x:,.0f}" for x in r["rates"])
        cells = [
            r["kind"], r["concurrency"], r["sessions"], f"{r['rate']:,.0f}", rounds_txt,
            f"{r['cpu_us']:.0f}", f"{r['rtt_p50']:.2f}", f"{r['rtt_p99']:.2f}",
            f"{r['connect_p50']:.2f}", f"{r['connect_p99']:.2f}", f"{r['first_p99']:.1f}",
            r["probes"], f"{r['load_connect_p99']:.1f}", f"{r['session_p99']:.1f}", r["errors"],
        ]  # fmt: skip
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    by = {(r["kind"], r["concurrency"]): r for r in results}
    ours, raw = by.get(("ours", 1000)), by.get(("raw", 1000))
    if ours and raw:
        ratio = ours["rate"] / raw["rate"]
        cpu_ratio = ours["cpu_us"] / raw["cpu_us"] if raw["cpu_us"] else float("nan")
        lines += [
            "",
            "## Goals at 1,000 concurrent sessions",
            "",
            (
                f"- ours >= raw baseline: {ours['rate']:,.0f} vs {raw['rate']:,.0f} sessions/s "
                f"(x{ratio:.2f}) — {verdict(ratio >= 1.0)}; server CPU per session "
                f"{ours['cpu_us']:.0f} vs {raw['cpu_us']:.0f} us (x{cpu_ratio:.2f})"
            ),
            (
                f"- connect p99 <= 50 ms (probe): {ours['connect_p99']:.2f} ms — "
                f"{verdict(ours['connect_p99'] <= 50)}"
            ),
            f"- 0 errors: {ours['errors']} — {verdict(ours['errors'] == 0)}",
        ]
    lines += [
        "",
        (
            "The machine (2 cores) is shared with other jobs, which move every number: compare "
            "rows of one run, not runs."
        ),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round, fewer sessions (smoke)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fastagi.md")
    parser.add_argument(
        "--loop",
        choices=["auto", "asyncio"],
        default="auto",
        help="auto: uvloop where it installs; asyncio: the standard loop (all processes)",
    )
    args = parser.parse_args()
    os.environ["CC_BENCH_LOOP"] = args.loop  # inherited by the spawned server and probe
    policy = install_loop_policy()
    rounds = 1 if args.quick else max(1, args.rounds)
    print(f"FastAGI benchmark, loop: {policy}, {rounds} round(s) per level", flush=True)
    t0 = time.perf_counter()
    results = []
    for concurrency, total in LEVELS:
        total = max(concurrency, total // 5) if args.quick else total
        runs: dict[str, list[dict]] = {"ours": [], "raw": []}
        for i in range(rounds):
            order = ["ours", "raw"] if i % 2 == 0 else ["raw", "ours"]
            for kind in order:
                label = f"{kind} c={concurrency} round {i + 1}/{rounds}"
                runs[kind].append(run_one(kind, concurrency, total, label))
        for kind in ("ours", "raw"):
            results.append(summarize(kind, concurrency, runs[kind]))
    wall = time.perf_counter() - t0
    write_report(args.out, results, policy, wall, rounds)
    print(f"wrote {args.out}")
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
