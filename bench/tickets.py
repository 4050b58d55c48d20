"""Tickets at volume: inbound mail through the real SMTP listener, and the agents' ticket lists
and search over a million tickets on PostgreSQL (issue 15).

    python bench/tickets.py                      # both parts, full size; writes
                                                 # bench/results/tickets.md
    python bench/tickets.py --part mail --mails 1000        # one part, smaller
    python bench/tickets.py --part lists --tickets 100000   # (smaller runs write nothing
                                                            #  unless --write)

Part 1, mail. ``--mails`` mails (10,000) are sent to the listener of a real ``ContactCenter``
(SQLite file, its outbound relay a local aiosmtpd sink, acknowledgements on) by a client in a
separate process over ``--connections`` SMTP sessions (8), several mails per session. The mix:
60% new mails (one in five multipart with a PDF and a PNG attached, 20-60 KB), 40% replies
whose ``In-Reply-To`` is the Message-ID of an earlier new mail already answered 250. Measured:
mails/s over the whole run, and per mail the time from writing the end of DATA (``CRLF.CRLF``)
to reading the ``250``. The listener answers 250 only after the transaction that stores the
mail, its ticket (or article on the existing ticket) and its history has committed
(``tickets/smtp_listener.py``), so the row is visible to any reader at the 250: that time is an
exact upper bound of mail-to-ticket, with the client's own read of the reply as the only slack.
At the end the rows are counted (new tickets, articles, mails filed as ``ticket``) and must
match what was sent. Baseline in the same run: the same mails from the same client to a bare
aiosmtpd server on the same event-loop setup whose handler only appends the bytes to a list.

Part 2, lists. A throwaway PostgreSQL database (``--pg``, created and dropped; nothing else is
touched) gets its schema from our migrations, then ``--tickets`` tickets (1,000,000) by COPY:
created over the past year, statuses as an old help desk has them (88% solved or closed; new
ones unassigned), 12 queues and 200 assignees on Zipf curves, subjects of 4-9 words from a
20,000-word Zipf vocabulary, SLA clocks (some active tickets past due), and one customer
article per ticket (the tables' indexes dropped for the COPY and built again after it, from
their own definitions). Then a real server on that database (its start includes routing every
waiting ticket) answers ``GET /api/tickets`` over HTTP, one request at a time, the kinds in
turn: ``mine`` (an agent, active tickets), ``unassigned`` and ``overdue`` (staff, active
tickets), ``queue`` (staff, one queue, every status), ``search`` (staff, all tickets, ``q=`` one
word drawn from the subjects' curve without its 100 most frequent words, which stand for stop
words), ``search_common`` (one of those 100: in 4-50% of the subjects), ``page`` (staff, all
tickets, offset 50 x 1..200). Every answer has the list's exact ``total``. p50/p95/p99 per
kind; goal p95 <= 200 ms. Baseline per kind, in the same run: the same WHERE as a raw
``SELECT * ... ORDER BY id DESC LIMIT 50`` over asyncpg, no count. The report ends with
EXPLAIN ANALYZE of the store's statements for one request of each kind.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SUPPORT = "support@example.com"
PASSWORD = "bench tickets password"
GOAL_MS = 200.0
VOCABULARY = 20_000
QUEUES = [f"q{i:02d}" for i in range(12)]
ASSIGNEES = [f"a{i}" for i in range(1, 201)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def progress(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


class Words:
    """Made-up words on a Zipf curve (as words in real text)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        consonants, vowels = "bcdfghklmnprstvz", "aeiou"
        words: dict[str, None] = {}
        while len(words) < VOCABULARY:
            words["".join(rng.choice(consonants) + rng.choice(vowels)
                          for _ in range(rng.randint(2, 4)))] = None
        self.words = list(words)
        self.rank = {w: i for i, w in enumerate(self.words)}
        total, self.cum = 0.0, []
        for rank in range(VOCABULARY):
            total += 1 / (rank + 1)
            self.cum.append(total)

    def draw(self, n: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cum, k=n)

    def text(self, lo: int, hi: int) -> str:
        return " ".join(self.draw(self.rng.randint(lo, hi)))


# ====================================================================== part 1: mail
def make_mail(i: int, rng: random.Random, words: Words, reply: bool,
              customer: int) -> tuple[str, bytes]:
    """A mail as a customer's client sends it; a reply gets its In-Reply-To when sent."""
    msg = EmailMessage()
    msg["From"] = f"Customer {customer} <c{customer}@customer.test>"
    msg["To"] = SUPPORT
    msg["Subject"] = ("Re: " if reply else "") + words.text(4, 9).capitalize()
    msg["Message-ID"] = f"<bench{i}.{uuid.uuid4().hex[:8]}@customer.test>"
    msg["Date"] = "Mon, 07 Dec 2026 12:00:00 +0000"
    msg.set_content(words.text(30, 150) + ".\n\n-- \nCustomer " + str(customer) + "\n")
    if not reply and rng.random() < 0.2:
        msg.add_attachment(b"%PDF-1.4\n" + rng.randbytes(rng.randint(10_000, 30_000)),
                           maintype="application", subtype="pdf", filename=f"invoice{i}.pdf")
        msg.add_attachment(b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randint(10_000, 30_000)),
                           maintype="image", subtype="png", filename=f"screen{i}.png")
    data = msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return msg["Message-ID"], data.replace(b"\r\n.", b"\r\n..")  # dot-stuffed


async def _reply(reader: asyncio.StreamReader) -> tuple[int, str]:
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("SMTP server closed the connection")
        lines.append(line.decode("latin-1").rstrip())
        if line[3:4] != b"-":
            return int(line[:3]), "\n".join(lines)


async def smtp_client(port: int, n: int, connections: int, seed: int) -> dict[str, Any]:
    """The sending side (its own process): ``n`` mails over ``connections`` sessions."""
    rng = random.Random(seed)
    words = Words(random.Random(seed))
    answered: list[str] = []  # Message-IDs of new mails already answered 250
    latencies: list[float] = []
    kinds = {"new": 0, "reply": 0, "attachments": 0}
    errors: list[str] = []
    mails = []
    for i in range(n):  # made before the clock starts: the client's cost is not measured
        customer = rng.randrange(1, 5000)
        reply = rng.random() < 0.4
        mails.append((reply, customer, *make_mail(i, rng, words, reply, customer)))
    counter = iter(mails)

    async def session() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await _reply(reader)
        writer.write(b"EHLO bench.test\r\n")
        await _reply(reader)
        for reply, customer, mid, dotted in counter:
            reply_to = rng.choice(answered) if reply and answered else None
            if reply_to:  # threaded to a ticket already made
                dotted = f"In-Reply-To: {reply_to}\r\nReferences: {reply_to}\r\n".encode() \
                    + dotted
            kinds["reply" if reply_to else "new"] += 1
            kinds["attachments"] += b"filename=" in dotted
            writer.write(f"MAIL FROM:<c{customer}@customer.test>\r\n".encode()
                         + f"RCPT TO:<{SUPPORT}>\r\nDATA\r\n".encode())
            for _ in range(3):
                code, text = await _reply(reader)
                if code >= 400:
                    errors.append(text)
            writer.write(dotted + (b"" if dotted.endswith(b"\r\n") else b"\r\n"))
            t0 = time.perf_counter()
            writer.write(b".\r\n")
            code, text = await _reply(reader)
            latencies.append((time.perf_counter() - t0) * 1000)
            if code != 250:
                errors.append(text)
            elif reply_to is None:
                answered.append(mid)
        writer.write(b"QUIT\r\n")
        await _reply(reader)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(session() for _ in range(connections)))
    wall = time.perf_counter() - started
    return {"wall_s": wall, "latencies_ms": latencies, "kinds": kinds, "errors": errors[:20],
            "error_count": len(errors)}


def run_client(port: int, n: int, connections: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--smtp-client", str(port), "--mails", str(n),
         "--connections", str(connections)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


class Sink:
    """The baseline: a bare aiosmtpd server whose handler only keeps the bytes."""

    def __init__(self) -> None:
        self.kept: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.kept.append(envelope.original_content or b"")
        return "250 OK"


@contextlib.asynccontextmanager
async def sink_server(handler: Any) -> AsyncIterator[int]:
    from aiosmtpd.smtp import SMTP
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.test", decode_data=False, loop=loop),
        "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def settings_for(tmp: Path, db_url: str, relay_port: int, agents: int = 20) -> Any:
    from contactcenter.config.schema import (
        DatabaseSettings,
        FastAgiSettings,
        RoutingFiles,
        Settings,
        WebSettings,
    )
    from contactcenter.qa.settings import QaSettings
    from contactcenter.tickets.settings import (
        ListenerSettings,
        MailboxSettings,
        SmtpSettings,
        TicketSettings,
    )
    (tmp / "flows").mkdir(parents=True, exist_ok=True)
    queues = ["email", *QUEUES]
    (tmp / "queues.yaml").write_text("queues:\n" + "".join(
        f"  {q}:\n    strategy: longest_idle\n    wrapup_s: 0\n    ring_timeout_s: 30\n"
        for q in queues))
    (tmp / "agents.yaml").write_text("agents:\n" + "".join(
        f'  - {{id: "a{i}", name: Agent {i}, capacity: {{voice: 1, chat: 1, ticket: 5}}, '
        f"queues: [{', '.join(queues)}]}}\n" for i in range(1, agents + 1)))
    tickets = TicketSettings(
        queue="email",
        mailboxes=[MailboxSettings(address=SUPPORT, name="Example Support", queue="email")],
        listener=ListenerSettings(enabled=True, port=0, max_message_bytes=10 * 2 ** 20),
        smtp=SmtpSettings(host="127.0.0.1", port=relay_port, starttls=False, retry_s=1,
                          max_attempts=2, timeout_s=5))
    return Settings(
        web=WebSettings(port=free_port()), fastagi=FastAgiSettings(port=0),
        database=DatabaseSettings(url=db_url),
        routing=RoutingFiles(queues_file=str(tmp / "queues.yaml"),
                             agents_file=str(tmp / "agents.yaml")),
        flows_dir=str(tmp / "flows"), recordings_dir=str(tmp / "recordings"),
        base_dir=str(tmp), qa=QaSettings(transcribe=False), tickets=tickets)


@contextlib.asynccontextmanager
async def server_on(tmp: Path, db_url: str, upgrade: bool = True) -> AsyncIterator[Any]:
    from contactcenter.app import ContactCenter
    from contactcenter.domain.clock import Clock
    relay = Sink()
    async with sink_server(relay) as relay_port:
        server = ContactCenter(settings_for(tmp, db_url, relay_port), clock=Clock(),
                               upgrade_schema=upgrade)
        await server.start()
        try:
            yield server
        finally:
            await server.stop()


async def part_mail(n: int, connections: int) -> dict[str, Any]:
    import sqlalchemy as sa
    progress(f"mail: baseline, {n} mails to a bare aiosmtpd sink over {connections} sessions")
    sink = Sink()
    async with sink_server(sink) as port:
        base = await asyncio.to_thread(run_client, port, n, connections)
    assert len(sink.kept) == n, (len(sink.kept), n)
    progress(f"mail: sink {n / base['wall_s']:.0f} mails/s; now the server's listener")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/cc.sqlite3"
        async with server_on(Path(tmp), url) as server:
            load_before = load_average()
            ours = await asyncio.to_thread(run_client, server.tickets.smtp_port, n, connections)
            async with server.tickets.store.session() as s:
                counts = {name: (await s.execute(sa.text(sql))).scalar_one() for name, sql in {
                    "tickets": "SELECT count(*) FROM tickets",
                    "articles": "SELECT count(*) FROM ticket_articles WHERE author='customer'",
                    "mails_filed": "SELECT count(*) FROM ticket_mails WHERE direction='in' "
                                   "AND status='ticket'",
                    "attachments": "SELECT count(*) FROM ticket_attachments"}.items()}
    progress(f"mail: server {n / ours['wall_s']:.0f} mails/s, p99 "
             f"{pct(ours['latencies_ms'], 0.99):.1f} ms; rows {counts}")
    return {"n": n, "connections": connections, "base": base, "ours": ours, "counts": counts,
            "load": load_before}


# ====================================================================== part 2: lists
STATUSES = [("closed", 0.70), ("solved", 0.18), ("pending", 0.04), ("on-hold", 0.01),
            ("open", 0.05), ("new", 0.02)]
ACTIVE_VIEW = ("new", "open", "pending", "on-hold")


def ticket_records(n: int, now: float, seed: int = 15) -> tuple[list[tuple], list[tuple]]:
    """``n`` ticket rows and their first customer article, oldest first."""
    rng = random.Random(seed)
    words = Words(random.Random(seed))
    year = 365 * 86400.0
    qcum = list(_cum([1 / (i + 1) for i in range(len(QUEUES))]))
    acum = list(_cum([1 / (i + 1) ** 0.7 for i in range(len(ASSIGNEES))]))
    scum = list(_cum([w for _, w in STATUSES]))
    created = sorted(now - rng.random() * year for _ in range(n))
    tickets, articles = [], []
    for i, c in enumerate(created, start=1):
        age = now - c
        # Old tickets are done; the active ones are mostly recent.
        status = rng.choices([s for s, _ in STATUSES], cum_weights=scum)[0]
        if status in ACTIVE_VIEW and age > 60 * 86400 and rng.random() < 0.9:
            status = "closed"
        assignee = None if status == "new" or (status == "open" and rng.random() < 0.2) \
            else rng.choices(ASSIGNEES, cum_weights=acum)[0]
        updated = c + rng.random() * min(age, 14 * 86400)
        fr_due, res_due = c + 4 * 3600, c + 3 * 86400
        fr_at = None if status == "new" else c + rng.random() * 6 * 3600
        customer = rng.randrange(1, 200_000)
        subject = words.text(4, 9).capitalize()
        tickets.append((
            i, subject, status, rng.choice(("low", "normal", "normal", "normal", "high")),
            "email", rng.choices(QUEUES, cum_weights=qcum)[0], "{}", "[]", assignee,
            f"c{customer}@customer.test", f"Customer {customer}", None, SUPPORT, None, None, 0,
            None, c, updated, "mail", "standard", fr_due, fr_due - 3600, fr_at, res_due,
            res_due - 3600 * 4, None, None, None, None, *_fired(
                status in ACTIVE_VIEW, now, fr_due, fr_at, res_due),
            None, None, None))
        articles.append((i, i, "public", "customer", f"Customer {customer}",
                         f"c{customer}@customer.test", None, "email", words.text(15, 40),
                         None, f"t{i}@customer.test", None, "[]", c))
    return tickets, articles


def _fired(active: bool, now: float, fr_due: float, fr_at: float | None,
           res_due: float) -> tuple[str | None, float | None]:
    """``sla_marks`` and ``sla_next_at`` as a running server would have left them: the stages
    already past are fired (an old backlog was escalated when each came due, not all at once
    when the bench starts: a sweep escalating 29,000 tickets in the server's process would be
    measured with the lists), and the next one is the sweep's next moment."""
    if not active:
        return None, None
    stages = [("resolution:warning", res_due - 3600 * 4), ("resolution:breach", res_due)]
    if fr_at is None:
        stages += [("first_response:warning", fr_due - 3600), ("first_response:breach", fr_due)]
    future = [t for _, t in stages if t > now]
    return json.dumps(sorted(s for s, t in stages if t <= now)), min(future, default=None)


TICKET_COLUMNS = [
    "id", "subject", "status", "priority", "origin", "queue", "skills", "tags", "assignee",
    "requester_email", "requester_name", "requester_phone", "mailbox", "customer_id",
    "interaction_id", "routing_round", "follow_up_of", "created_at", "updated_at",
    "created_by", "sla_policy", "first_response_due", "first_response_warn",
    "first_response_at", "resolution_due", "resolution_warn", "next_response_due",
    "next_response_warn", "next_response_at", "sla_paused_at", "sla_marks", "sla_next_at",
    "merged_into", "split_from", "ticket_type"]
ARTICLE_COLUMNS = [
    "id", "ticket_id", "visibility", "author", "author_name", "author_email", "agent_id",
    "channel", "body_text", "body_html", "message_id", "mail_id", "flags", "created_at"]


def _cum(values: list[float]) -> list[float]:
    total, out = 0.0, []
    for v in values:
        total += v
        out.append(total)
    return out


@contextlib.asynccontextmanager
async def throwaway(server_url: str) -> AsyncIterator[str]:
    """A new database on ``server_url``'s server, dropped afterwards (tests/throwaway_pg.py)."""
    import asyncpg
    from sqlalchemy.engine import make_url
    name = f"bench_tickets_{uuid.uuid4().hex[:8]}"
    admin_dsn = make_url(server_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(admin_dsn)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def raw_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def load(url: str, n: int) -> dict[str, float]:
    import asyncpg

    from contactcenter.storage.database import Database
    from contactcenter.storage.schema import upgrade
    db = Database(url)
    t0 = time.perf_counter()
    await upgrade(db)  # the schema our migrations make
    await db.close()
    progress(f"lists: schema by migrations in {time.perf_counter() - t0:.1f} s; "
             f"generating {n:,} tickets")
    now = time.time()
    tickets, articles = ticket_records(n, now)
    conn = await asyncpg.connect(raw_dsn(url))
    try:
        t1 = time.perf_counter()
        # Indexes built once after the COPY rather than row by row during it (the same
        # definitions, read back from the catalogue).
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('tickets', 'ticket_articles') AND indexname NOT LIKE '%pkey'")
        for ix in indexes:
            await conn.execute(f'DROP INDEX "{ix["indexname"]}"')
        step = 100_000
        for start in range(0, n, step):
            await conn.copy_records_to_table("tickets", records=tickets[start:start + step],
                                             columns=TICKET_COLUMNS)
            await conn.copy_records_to_table("ticket_articles",
                                             records=articles[start:start + step],
                                             columns=ARTICLE_COLUMNS)
            progress(f"lists: loaded {min(n, start + step):,} tickets")
        for table in ("tickets", "ticket_articles"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT max(id) FROM {table}))")
        copy_s = time.perf_counter() - t1
        progress(f"lists: COPY in {copy_s:.0f} s; building {len(indexes)} indexes")
        t2 = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for ix in indexes:
            await conn.execute(ix["indexdef"])
        index_s = time.perf_counter() - t2
        await conn.execute("VACUUM ANALYZE tickets")
        await conn.execute("VACUUM ANALYZE ticket_articles")
        size = await conn.fetchval("SELECT pg_total_relation_size('tickets')")
    finally:
        await conn.close()
    return {"copy_s": copy_s, "rows_per_s": 2 * n / copy_s, "now": now, "index_s": index_s,
            "indexes": len(indexes),
            "tickets_mb": size / 2 ** 20}


class Kinds:
    """The list requests, and each one's raw baseline (same WHERE, id order, no count)."""

    def __init__(self, now: float, seed: int = 99) -> None:
        self.rng = random.Random(seed)
        self.words = Words(random.Random(15))  # the subjects' curve
        self.now = now

    def request(self, kind: str) -> tuple[str, str, str, list[Any]]:
        """(who, path, baseline WHERE, its arguments)."""
        active = "status = ANY($1::text[])"
        if kind == "mine":
            return ("agent", "/api/tickets?view=mine", f"assignee = 'a1' AND {active}",
                    [list(ACTIVE_VIEW)])
        if kind == "unassigned":
            return ("staff", "/api/tickets?view=unassigned",
                    f"assignee IS NULL AND {active}", [list(ACTIVE_VIEW)])
        if kind == "queue":
            q = self.rng.choice(QUEUES)
            return ("staff", f"/api/tickets?view=all&queue={q}", "queue = $1", [q])
        if kind == "overdue":
            return ("staff", "/api/tickets?view=overdue",
                    (f"{active} AND sla_paused_at IS NULL AND ((first_response_due <= $2 AND "
                    "first_response_at IS NULL) OR (next_response_due <= $2 AND "
                    "next_response_at IS NULL) OR resolution_due <= $2)"),
                    [list(ACTIVE_VIEW), time.time()])
        if kind in ("search", "search_common"):
            # The 100 most frequent words play the part of a language's stop words (in 4%
            # to 50% of the subjects): ``search`` draws from the curve without them,
            # ``search_common`` only them (nobody searches "the", but somebody will).
            while True:
                word = self.words.draw(1)[0]
                if (self.words.rank[word] < 100) == (kind == "search_common"):
                    break
            return ("staff", f"/api/tickets?view=all&q={word}",
                    "subject ILIKE $1 OR requester_email ILIKE $1 OR requester_name ILIKE $1",
                    [f"%{word}%"])
        if kind == "page":
            offset = 50 * self.rng.randint(1, 200)
            return ("staff", f"/api/tickets?view=all&offset={offset}", f"$1::int = {offset}",
                    [offset])
        raise ValueError(kind)


KINDS = ("mine", "unassigned", "queue", "overdue", "search", "search_common", "page")


async def measure_lists(url: str, rounds: int, tmp: Path) -> dict[str, Any]:
    import aiohttp
    import asyncpg

    from contactcenter.web.auth import AUTH_KEY, hash_password
    from contactcenter.web.users import UserExists
    t0 = time.perf_counter()
    async with server_on(tmp, url, upgrade=False) as server:
        start_s = time.perf_counter() - t0
        progress(f"lists: server up on the loaded database in {start_s:.1f} s")
        base = f"http://127.0.0.1:{server.settings.web.port}"
        store = server.web_app[AUTH_KEY].store
        clients: dict[str, aiohttp.ClientSession] = {}
        for who, role, agent in (("staff", "supervisor", None), ("agent", "agent", "a1")):
            with contextlib.suppress(UserExists):  # a database kept from an earlier run
                await store.create_user(f"bench-{who}", hash_password(PASSWORD), role, agent,
                                        time.time())
            http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                         headers={"Origin": base})
            async with http.post(f"{base}/api/login", json={
                    "username": f"bench-{who}", "password": PASSWORD}) as r:
                assert r.status == 200, await r.text()
            clients[who] = http
        raw = await asyncpg.connect(raw_dsn(url))
        kinds = Kinds(time.time())
        ours: dict[str, list[float]] = {k: [] for k in KINDS}
        baseline: dict[str, list[float]] = {k: [] for k in KINDS}
        totals: dict[str, list[int]] = {k: [] for k in KINDS}
        try:
            for r in range(-2, rounds):  # two rounds to warm the caches
                for kind in KINDS:
                    who, path, where, args = kinds.request(kind)
                    t = time.perf_counter()
                    async with clients[who].get(base + path) as resp:
                        body = await resp.json()
                        assert resp.status == 200, body
                    took = (time.perf_counter() - t) * 1000
                    sql = f"SELECT * FROM tickets WHERE {where} ORDER BY id DESC LIMIT 50"
                    if kind == "page":
                        sql = "SELECT * FROM tickets ORDER BY id DESC LIMIT 50 OFFSET $1"
                    t = time.perf_counter()
                    await raw.fetch(sql, *args)
                    raw_took = (time.perf_counter() - t) * 1000
                    if r >= 0:
                        ours[kind].append(took)
                        baseline[kind].append(raw_took)
                        totals[kind].append(int(body["total"]))
                if r >= 0 and (r + 1) % max(1, rounds // 5) == 0:
                    progress(f"lists: round {r + 1}/{rounds}; " + ", ".join(
                        f"{k} p95 {pct(ours[k], 0.95):.0f} ms" for k in KINDS))
            plans = {}
            for kind in KINDS:
                plans[kind] = await explain(server, kinds, kind)
        finally:
            await raw.close()
            for http in clients.values():
                await http.close()
    return {"ours": ours, "baseline": baseline, "totals": totals, "start_s": start_s,
            "plans": plans}


async def explain(server: Any, kinds: Kinds, kind: str) -> str:
    """EXPLAIN ANALYZE of the page query the store runs for one request of ``kind``."""
    import sqlalchemy as sa

    from contactcenter.tickets.model import Status
    from contactcenter.tickets.store import TicketQuery
    active = tuple(Status(s) for s in ACTIVE_VIEW)
    q = {"mine": TicketQuery(assignee="a1", statuses=active),
         "unassigned": TicketQuery(unassigned=True, statuses=active),
         "queue": TicketQuery(queue="q03"),
         "overdue": TicketQuery(overdue_at=time.time(), statuses=active),
         "search": TicketQuery(text=kinds.words.words[300]),
         "search_common": TicketQuery(text=kinds.words.words[3]),
         "page": TicketQuery(offset=5000)}[kind]
    captured: list[str] = []
    engine = server.tickets.store.db.engine.sync_engine

    def grab(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
             many: bool) -> None:
        captured.append(cursor.mogrify(statement, params) if hasattr(cursor, "mogrify")
                        else _inline(statement, params))

    sa.event.listen(engine, "before_cursor_execute", grab)
    try:
        await server.tickets.store.query(q)
    finally:
        sa.event.remove(engine, "before_cursor_execute", grab)
    lines = []
    async with server.tickets.store.db.engine.connect() as c:
        for statement in captured:
            plan = (await c.execute(sa.text("EXPLAIN (ANALYZE, BUFFERS OFF) "
                                            + statement.replace(":", "\\:")))).scalars().all()
            lines.append("\n".join(plan))
    return "\n\n".join(lines)


def _inline(statement: str, params: Any) -> str:
    """asyncpg's $n parameters written into the statement (for EXPLAIN only)."""
    values = list(params) if isinstance(params, (list, tuple)) else []
    for n in range(len(values), 0, -1):
        v = values[n - 1]
        if isinstance(v, str):
            lit = "'" + v.replace("'", "''") + "'"
        elif isinstance(v, (list, tuple)):
            lit = "ARRAY[" + ",".join("'" + str(x) + "'" for x in v) + "]::varchar[]"
        elif v is None:
            lit = "NULL"
        else:
            lit = repr(v)
        statement = statement.replace(f"${n}::VARCHAR", lit).replace(f"${n}", lit)
    return statement


async def part_lists(pg: str, n: int, rounds: int, keep: str | None = None
                     ) -> dict[str, Any]:
    if keep:  # development: a database loaded by an earlier run, kept, brought to head
        from contactcenter.storage.database import Database
        from contactcenter.storage.schema import upgrade
        url = raw_url = pg.rsplit("/", 1)[0] + "/" + keep
        db = Database(url)
        await upgrade(db)
        await db.close()
        with tempfile.TemporaryDirectory() as tmp:
            result = await measure_lists(raw_url, rounds, Path(tmp))
        return {"n": n, "rounds": rounds, "load": {"copy_s": 0, "rows_per_s": 0,
                                                   "tickets_mb": 0}, **result,
                "loadavg": load_average()}
    async with throwaway(pg) as url:
        progress(f"lists: throwaway database {url.rsplit('/', 1)[-1]}")
        loaded = await load(url, n)
        progress(f"lists: {n:,} tickets and articles by COPY in {loaded['copy_s']:.0f} s")
        with tempfile.TemporaryDirectory() as tmp:
            result = await measure_lists(url, rounds, Path(tmp))
    return {"n": n, "rounds": rounds, "load": loaded, **result, "loadavg": load_average()}


# ====================================================================== report
def report(mail: dict[str, Any] | None, lists: dict[str, Any] | None, started: str,
           note: str) -> str:
    out = ["# Tickets at volume (issue 15)", "",
           (f"`python bench/tickets.py`, {started} UTC, Python {platform.python_version()}, "
           f"{os.cpu_count()} cores; load average (1/5/15 min) at the end: {load_average()}. "
           "Method: the script's docstring."), ""]
    if note:
        out += [note, ""]
    if mail is not None:
        b, o = mail["base"], mail["ours"]
        n = mail["n"]
        out += [f"## Mail in: {n:,} mails over {mail['connections']} SMTP sessions", "",
                (f"Mix sent: {o['kinds']['new']:,} new ({o['kinds']['attachments']:,} with two "
                f"attachments), {o['kinds']['reply']:,} replies threaded by In-Reply-To. "
                f"Rows after the run: {mail['counts']}. Errors: {o['error_count']} "
                f"(sink {b['error_count']}). Load average before the server's run: "
                f"{mail['load']}."), "",
                "| path | mails/s | end of DATA -> 250, p50 | p95 | p99 | max |",
                "|---|---|---|---|---|---|"]
        for name, r in (("bare aiosmtpd sink (baseline)", b), ("our listener -> ticket", o)):
            lat = r["latencies_ms"]
            out.append(f"| {name} | {n / r['wall_s']:.0f} | {pct(lat, .5):.2f} ms | "
                       f"{pct(lat, .95):.2f} ms | {pct(lat, .99):.2f} ms | {max(lat):.1f} ms |")
        out += ["", (f"Throughput **x{b['wall_s'] / o['wall_s']:.3f}** the sink's "
                f"({n / o['wall_s']:.0f} vs {n / b['wall_s']:.0f} mails/s); "
                f"p99 mail-to-ticket **{pct(o['latencies_ms'], .99):.1f} ms**."), ""]
    if lists is not None:
        ld = lists["load"]
        out += [f"## Lists and search over {lists['n']:,} tickets (PostgreSQL)", "",
                (f"Loaded by COPY in {ld['copy_s']:.0f} s ({ld['rows_per_s']:,.0f} rows/s, "
                f"tickets and one article each), then {ld.get('indexes', 0)} indexes built in "
                f"{ld.get('index_s', 0):.0f} s (the tickets table with its indexes: "
                f"{ld['tickets_mb']:.0f} MB); the server started on it in "
                f"{lists['start_s']:.1f} s. {lists['rounds']} requests per kind, kinds in "
                f"turn, one at a time, each followed by its baseline. Load average at the "
                f"end: {lists['loadavg']}."), "",
                ("| kind | total (median) | HTTP p50 | p95 | p99 | raw SELECT p50 / p95 | "
                "p95 vs raw | goal p95 <= 200 ms |"), "|---|---|---|---|---|---|---|---|"]
        for kind in KINDS:
            o, b = lists["ours"][kind], lists["baseline"][kind]
            out.append(
                f"| {kind} | {statistics.median(lists['totals'][kind]):,.0f} | "
                f"{pct(o, .5):.1f} ms | {pct(o, .95):.1f} ms | {pct(o, .99):.1f} ms | "
                f"{pct(b, .5):.1f} / {pct(b, .95):.1f} ms | x{pct(o, .95) / pct(b, .95):.1f} | "
                f"{'yes' if pct(o, .95) <= GOAL_MS else '**no**'} |")
        out += ["", "### Plans (EXPLAIN ANALYZE of the store's statements, one request each)",
                ""]
        for kind, plan in lists["plans"].items():
            out += [f"`{kind}`:", "", "```", plan, "```", ""]
    return "\n".join(out) + "\n"


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--part", choices=("mail", "lists", "both"), default="both")
    p.add_argument("--mails", type=int, default=10_000)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--tickets", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=100)
    p.add_argument("--pg", default=os.environ.get("CC_TEST_POSTGRES_URL", PG_DEFAULT))
    p.add_argument("--write", action="store_true", help="write the results of a smaller run")
    p.add_argument("--note", default="", help="a paragraph for the top of the results")
    p.add_argument("--out", default=str(ROOT / "bench/results/tickets.md"))
    p.add_argument("--keep-db", help=argparse.SUPPRESS)  # development: reuse a loaded DB
    p.add_argument("--load-only", help=argparse.SUPPRESS)  # development: load into this DB
    p.add_argument("--smtp-client", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.smtp_client:
        result = await smtp_client(args.smtp_client, args.mails, args.connections, 15)
        print(json.dumps(result))
        return
    import logging
    logging.basicConfig(level=logging.WARNING)
    if args.load_only:
        import asyncpg
        admin = await asyncpg.connect(raw_dsn(args.pg))
        await admin.execute(f'CREATE DATABASE "{args.load_only}"')
        await admin.close()
        await load(args.pg.rsplit("/", 1)[0] + "/" + args.load_only, args.tickets)
        return
    started = f"{datetime.now(UTC):%Y-%m-%d %H:%M}"
    progress(f"load average {load_average()}")
    mail = await part_mail(args.mails, args.connections) if args.part != "lists" else None
    lists = (await part_lists(args.pg, args.tickets, args.rounds, args.keep_db)
             if args.part != "mail" else None)
    text = report(mail, lists, started, args.note)
    print(text)
    full = args.mails >= 10_000 and args.tickets >= 1_000_000 and args.part == "both"
    if full or args.write:
        Path(args.out).write_text(text)
        progress(f"written {args.out}")


if __name__ == "__main__":
    try:  # the server's own event loop (``contactcenter serve`` runs on uvloop)
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
