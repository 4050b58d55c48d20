"""SLA escalations exactly once across kill -9: the real server (``python -m contactcenter
serve`` on a settings file of the test's) as its own OS process on a SQLite file, a real SMTP
relay (aiosmtpd) on loopback in the test.

Each round starts the server, makes a few tickets whose first response is due within seconds,
and sends the server SIGKILL as soon as the first escalation of that round is committed (its
``sla`` history row, read from the database file): in some rounds at the first warning, in
others at the first breach, so the kill lands in the middle of a sweep over the round's
tickets, or between it and the mails it queued. A last start lets everything due fire, then
every ticket must show each of its stages exactly once: one history row per stage, one
priority raise (normal -> high), one escalation mail queued per escalation and, at the relay,
exactly one Message-ID per escalation. (The outbox sends at least once: a kill between the
relay's 250 and the "sent" mark sends the same message again, same Message-ID; the test
counts those resends and says so, it does not hide them.)
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from free_ports import free_port
from tickets_floor import AGENTS, QUEUES, Relay

from contactcenter.storage.database import Database
from contactcenter.storage.schema import ensure_schema
from contactcenter.web.auth import hash_password
from contactcenter.web.users import UserStore

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "sla kill9 test password"
BOSS = "boss@example.com"
ROUNDS = ("warning", "breach", "warning", "breach")
PER_ROUND = 4
HANG = 120.0  # real seconds: only catches hangs

SETTINGS = """
web: {{host: 127.0.0.1, port: {web}}}
fastagi: {{host: 127.0.0.1, port: {agi}}}
database: {{url: "sqlite+aiosqlite:///{db}"}}
routing: {{queues_file: "{dir}/queues.yaml", agents_file: "{dir}/agents.yaml"}}
flows_dir: "{dir}/flows"
recordings_dir: "{dir}/recordings"
qa: {{transcribe: false}}
tickets:
  queue: email
  mailboxes: [{{address: support@example.com, name: Support, queue: email}}]
  smtp: {{host: 127.0.0.1, port: {relay}, starttls: false, retry_s: 0.05, max_attempts: 5,
          timeout_s: 5}}
  sla:
    policies: [{{name: fast, first_response_s: 2, resolution_s: 360000}}]
    warn_at: 0.5
    check_s: 0.5
    escalation: {{raise_priority: true, notify: {boss}}}
"""


class Server:
    """``contactcenter serve`` as a process of its own."""

    def __init__(self, tmp_path: Path, relay_port: int) -> None:
        self.web = free_port()
        self.db = tmp_path / "cc.sqlite3"
        self.config = tmp_path / "cc.yaml"
        self.config.write_text(SETTINGS.format(web=self.web, agi=free_port(), db=self.db,
                                               dir=tmp_path, relay=relay_port, boss=BOSS))
        (tmp_path / "flows").mkdir()
        (tmp_path / "queues.yaml").write_text(QUEUES.format(ring=30))
        (tmp_path / "agents.yaml").write_text(AGENTS.format(capacity=2))
        self.log_path = tmp_path / "server.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CC_")}
        self.env["PYTHONUNBUFFERED"] = "1"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "contactcenter", "serve", "--config", str(self.config)],
                env=self.env, stdout=log, stderr=log, cwd=REPO)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    async def session(self) -> tuple[aiohttp.ClientSession, str]:
        """Logged in as the admin once the server answers."""
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     headers={"Origin": self.url})
        deadline = time.monotonic() + HANG
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                await http.close()
                raise AssertionError(f"the server exited:\n{self.log()}")
            try:
                async with http.post(f"{self.url}/api/login",
                                     json={"username": "admin", "password": PASSWORD}) as r:
                    if r.status == 200:
                        return http, (await r.json())["csrf_token"]
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                await http.close()
                raise AssertionError(f"the server never answered:\n{self.log()}")
            await asyncio.sleep(0.1)


def rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """A query on the server's database file, from outside the server."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return conn.execute(sql, args).fetchall()


async def until(condition: Any, what: str, server: Server) -> None:
    deadline = time.monotonic() + HANG
    while not condition():
        if server.process is not None and server.process.poll() is not None:
            raise AssertionError(f"the server exited while waiting for {what}:\n{server.log()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}\n{server.log()}")
        await asyncio.sleep(0.01)


def fired_since(db: Path, before: int, stage: str) -> Callable[[], bool]:
    """Whether a ``stage`` (warning, breach) was committed after the first ``before`` ones."""
    def check() -> bool:
        news = rows(db, "SELECT new FROM ticket_history WHERE field='sla' ORDER BY id")
        return any(f'{stage}"' in str(new) for (new,) in news[before:])
    return check


async def prepare(db: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{db}")
    try:
        await ensure_schema(database)
        await UserStore(database).create_user("admin", hash_password(PASSWORD), "admin", None,
                                              time.time())
    finally:
        await database.close()


async def test_each_escalation_happens_once_across_kill9(tmp_path):
    relay = Relay()
    await relay.start()
    server = Server(tmp_path, relay.port)
    await prepare(server.db)
    made: list[int] = []
    try:
        for n, stage in enumerate(ROUNDS):
            server.start()
            http, csrf = await server.session()
            try:
                before = len(rows(server.db, "SELECT id FROM ticket_history WHERE field='sla'"))
                for i in range(PER_ROUND):
                    async with http.post(f"{server.url}/api/tickets", headers={
                            "X-CSRF-Token": csrf}, json={
                            "subject": f"Round {n} ticket {i}", "text": "Help.",
                            "requester": {"email": f"c{n}{i}@customer.test", "name": "C"}}
                            ) as r:
                        assert r.status == 201, await r.text()
                        made.append((await r.json())["id"])
            finally:
                await http.close()
            # SIGKILL as soon as this round's first stage of that kind is committed.
            await until(fired_since(server.db, before, stage), f"round {n}'s first {stage}",
                        server)
            server.kill()

        # The last start: everything due fires (once) and the mails go out.
        server.start()
        http, _csrf = await server.session()
        await http.close()

        def settled() -> bool:
            breached = {t for (t,) in rows(server.db, "SELECT ticket_id FROM ticket_history "
                                           "WHERE field='sla' AND new LIKE '%breach%'")}
            queued = rows(server.db, "SELECT count(*) FROM ticket_mails WHERE "
                          "kind='escalation' AND status != 'sent'")[0][0]
            return breached >= set(made) and queued == 0
        await until(settled, "every breach fired and mailed", server)
        server.stop()
    finally:
        server.kill()
        server.stop()

    received: list[Any] = []
    while not relay.mails.empty():
        received.append(relay.mails.get_nowait()[1])
    await relay.close()

    history = rows(server.db, "SELECT ticket_id, field, old, new FROM ticket_history "
                   "WHERE actor='sla' ORDER BY id")
    mails = rows(server.db, "SELECT message_id, flags FROM ticket_mails "
                 "WHERE kind='escalation'")
    by_ticket: dict[int, list[tuple[str, Any, Any]]] = {t: [] for t in made}
    for ticket_id, field, old, new in history:
        by_ticket[ticket_id].append((field, old, new))
    for ticket_id, changes in by_ticket.items():
        stages = Counter(new for field, _old, new in changes if field == "sla")
        breaches = [s for s in stages if "first_response:breach" in s]
        warnings = [s for s in stages if "first_response:warning" in s]
        assert len(breaches) == 1 and stages[breaches[0]] == 1, (ticket_id, changes)
        assert len(warnings) <= 1 and all(stages[w] == 1 for w in warnings), (ticket_id, changes)
        raises = [(old, new) for field, old, new in changes if field == "priority"]
        assert raises == [('"normal"', '"high"')], (ticket_id, changes)
    priorities = dict(rows(server.db, "SELECT id, priority FROM tickets"))
    assert all(priorities[t] == "high" for t in made)

    # One queued mail per escalation (a sweep's stages of one ticket share one mail).
    escalations = sum(1 for (_t, field, _o, _n) in history if field == "sla")
    assert len(mails) <= escalations and len(mails) >= len(made)
    ids = [m for m, _ in mails]
    assert len(set(ids)) == len(ids)
    # At the relay: every escalation mail arrived, none under a second Message-ID.
    got = Counter(str(m["Message-ID"]).strip("<>") for m in received
                  if str(m["Subject"]).startswith("SLA "))
    assert set(got) == set(ids)
    resent = {m: n for m, n in got.items() if n > 1}
    print(f"{len(made)} tickets, {escalations} escalations, {len(ids)} mails, "
          f"resent by the outbox after a kill: {resent or 'none'}")
    distinct_breach: Counter[tuple[str, str]] = Counter()
    for m in received:
        if str(m["Subject"]).startswith("SLA breach"):
            distinct_breach[(str(m["Subject"]).split(":")[1], str(m["Message-ID"]))] += 1
    assert len({k[0] for k in distinct_breach}) == len(made)
    assert len(distinct_breach) == len(made)  # one breach message per ticket
