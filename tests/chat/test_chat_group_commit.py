"""The chat writer's group commit (``chat/store.py``, ``ChatWriter``): many messages at once
are each stored once, in order, then relayed once; a batch the database refuses is stored not
at all, every caller in it told; a resend in a batch settles alone. They hold for any faster
write path put under the writer (issue #14: one round trip to SQLite's thread per batch)."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import sqlalchemy as sa
from chat_floor import T, chat_floor, site_channel

from contactcenter.chat.model import ConversationRecord, ConversationState, Message, Sender
from contactcenter.chat.store import ChatStore, ChatWriter

VISITORS = 3  # a1 takes one chat, a2 two (chat_floor's agents)
EACH = 25


async def test_many_messages_at_once_are_stored_once_in_order_and_relayed_once(tmp_path):
    async with chat_floor(tmp_path, channels=[site_channel(auto_accept=True)],
                          messages_per_minute=10_000) as floor:
        alice, bob = await floor.agent("alice", "a1"), await floor.agent("bob", "a2")
        await alice.listen()
        await bob.listen()
        visitors = []
        for _ in range(VISITORS):
            v = floor.visitor()
            await v.start()
            if (await v.connect())["state"] != "active":
                await v.active()
            visitors.append(v)
        # Every frame written before any is answered: the writer gets them in a few batches.
        for i in range(EACH):
            for n, v in enumerate(visitors):
                await v.say(f"v{n} m{i}", client_id=f"v{n}-m{i}")
        await visitors[0].say("v0 m0", client_id="v0-m0")  # a resend: acked, not stored again
        for n, v in enumerate(visitors):
            want = {f"v{n}-m{i}" for i in range(EACH)}
            acks: dict[str, int] = {}
            while set(acks) != want or (n == 0 and len([f for f in v.frames if f["type"] == "ack"
                                                        and f["client_id"] == "v0-m0"]) < 2):
                ack = await v.frame(lambda f: f["type"] in ("ack", "error"))
                assert ack["type"] == "ack", ack
                acks[ack["client_id"]] = ack["seq"]
            seqs = [acks[f"v{n}-m{i}"] for i in range(EACH)]
            assert seqs == sorted(seqs) and len(set(seqs)) == EACH  # numbered in sending order

        # The agents see each message once, in number order per conversation.
        agents = (alice, bob)
        events = await _visitor_messages(agents, VISITORS * EACH)
        for n, v in enumerate(visitors):
            got = [(e["message"]["seq"], e["message"]["client_id"]) for e in events
                   if e["conversation_id"] == v.conversation_id]
            assert [c for _, c in got] == [f"v{n}-m{i}" for i in range(EACH)]
            assert [s for s, _ in got] == sorted(s for s, _ in got)
            stored = [m for m in await floor.chat.store.messages_after(v.conversation_id)
                      if m.sender is Sender.VISITOR]
            assert [m.client_id for m in stored] == [f"v{n}-m{i}" for i in range(EACH)]
            assert [m.seq for m in stored] == [s for s, _ in got]
            record = (await floor.chat.store.get(v.conversation_id))[0]
            assert record.last_seq == floor.chat.live_of(v.conversation_id).record.last_seq
        # Nothing more came for those messages (a repeat would be ahead of this one).
        await visitors[0].say("last", client_id="v0-last")
        later = await _visitor_messages(agents, 1)
        assert [e["message"]["client_id"] for e in later] == ["v0-last"]


def _is_visitor_message(event: dict[str, Any]) -> bool:
    return event["type"] == "chat-message" and event["message"]["from"] == "visitor"


async def _visitor_messages(agents: tuple[Any, ...], count: int) -> list[dict[str, Any]]:
    """The visitors' messages the agents' panels got, until there are ``count`` of them,
    and any more already there."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(T):
        while True:
            for agent in agents:
                while not agent.events.empty():
                    event = agent.events.get_nowait()
                    if _is_visitor_message(event):
                        got.append(event)
            if len(got) >= count:
                return got
            await asyncio.sleep(0.02)


async def _refuse_text(db: Any, text: str) -> None:
    """The database itself refuses a message with ``text`` (not as a constraint)."""
    async with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            # json() of a text that is not JSON: "malformed JSON", an OperationalError.
            await conn.execute(sa.text(
                f"CREATE TRIGGER refuse BEFORE INSERT ON chat_messages WHEN NEW.text = '{text}' "
                "BEGIN SELECT json(NEW.text); END"))
        else:
            await conn.execute(sa.text(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.text = '{text}' THEN RAISE EXCEPTION 'refused'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"))
            await conn.execute(sa.text(
                "CREATE TRIGGER refuse BEFORE INSERT ON chat_messages "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"))


async def _one_batch(db: Any, calls: list[Any]) -> list[Any]:
    """Run the writer's ``calls`` as one batch; their results, exceptions included.

    Started in one turn of the loop, before the writer's task runs, they are one batch. On
    SQLite an idle writer commits a message at once, alone, when the write lock is free; so
    another connection holds the lock until every call is queued."""
    holder = None
    if db.dialect == "sqlite":
        holder = sqlite3.connect(db.engine.url.database, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
    try:
        tasks = [asyncio.ensure_future(call) for call in calls]
        if holder is not None:
            await asyncio.sleep(0.1)
            assert not any(t.done() for t in tasks)  # all of them waiting for the lock
    finally:
        if holder is not None:
            holder.rollback()
            holder.close()
    return await asyncio.gather(*tasks, return_exceptions=True)


async def _sqlite_writer(path: Any) -> tuple[Any, ChatStore, ChatWriter]:
    """A new SQLite file with one conversation (``c0``) and a started writer on it."""
    from contactcenter.storage.database import Database

    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.create_all()
    store = ChatStore(db)
    await _conversations(store, 1)
    writer = ChatWriter(store)
    writer.start()
    return db, store, writer


async def _conversations(store: ChatStore, n: int) -> None:
    for i in range(n):
        await store.create(ConversationRecord(
            id=f"c{i}", channel="site", visitor_id=f"v{i}", visitor_name="Vera", answers=(),
            attributes={}, page="", queue="web", state=ConversationState.ACTIVE,
            created_at=1.0), "0" * 64)


async def test_a_refused_batch_stores_nothing_and_every_caller_gets_the_error(database):
    store = ChatStore(database)
    await _conversations(store, 3)
    await _refuse_text(database, "boom")
    writer = ChatWriter(store)
    writer.start()
    try:
        await writer.append(Message("c0", 1, Sender.VISITOR, "first", 1.0, "Vera", None, "k0"))
        results = await _one_batch(database, [
            writer.append(Message("c0", 2, Sender.VISITOR, "fine", 2.0, "Vera", None, "k1")),
            writer.append(Message("c1", 1, Sender.VISITOR, "boom", 2.0, "Vera", None, "k2")),
            writer.append(Message("c2", 1, Sender.AGENT, "hello", 2.0, "Alice", "a1"))])
        assert all(isinstance(r, Exception) for r in results), results
        assert not any(isinstance(r, (sa.exc.IntegrityError, sqlite3.IntegrityError))
                       for r in results)
        for cid, want in (("c0", ["first"]), ("c1", []), ("c2", [])):
            assert [m.text for m in await store.messages_after(cid)] == want
            assert (await store.get(cid))[0].last_seq == len(want)
        # The writer goes on: the same numbers are free, the next batch is stored.
        again = await writer.append(Message("c0", 2, Sender.VISITOR, "fine", 3.0, "Vera",
                                            None, "k1"))
        assert again.seq == 2
        assert [m.text for m in await store.messages_after("c0")] == ["first", "fine"]
    finally:
        await writer.close()


async def test_a_resend_in_a_batch_settles_alone_and_the_others_are_stored(database):
    store = ChatStore(database)
    await _conversations(store, 2)
    writer = ChatWriter(store)
    writer.start()
    try:
        first = await writer.append(Message("c0", 1, Sender.VISITOR, "hi", 1.0, "Vera", None,
                                            "k0"))
        # The resend of k0 (its number given again, as after a restart that forgot it) and
        # two new messages, in one batch: the unique client id refuses the batch as a whole.
        resend, other, state = await _one_batch(database, [
            writer.append(Message("c0", 2, Sender.VISITOR, "hi", 2.0, "Vera", None, "k0")),
            writer.append(Message("c1", 1, Sender.VISITOR, "hello", 2.0, "Vera", None, "k1")),
            writer.save_state(ConversationRecord(
                id="c1", channel="site", visitor_id="v1", visitor_name="Vera", answers=(),
                attributes={}, page="", queue="web", state=ConversationState.CLOSED,
                created_at=1.0, closed_at=3.0, closed_by="visitor"))])
        assert resend == first and other.seq == 1 and state is None
        assert [m.text for m in await store.messages_after("c0")] == ["hi"]
        assert [m.text for m in await store.messages_after("c1")] == ["hello"]
        record = (await store.get("c1"))[0]
        assert (record.state, record.closed_by, record.last_seq) == \
            (ConversationState.CLOSED, "visitor", 1)
    finally:
        await writer.close()


async def test_a_batch_behind_another_writers_lock_waits_without_stopping_the_loop(tmp_path):
    """SQLite commits a batch on the event loop's thread only when the write lock is free at
    once: held by another connection (a long transaction elsewhere in the server), the batch
    waits for it in aiosqlite's thread, and the loop goes on serving meanwhile."""
    path = tmp_path / "cc.sqlite3"
    db, store, writer = await _sqlite_writer(path)
    other = sqlite3.connect(path, check_same_thread=False)
    try:
        await writer.append(Message("c0", 1, Sender.VISITOR, "before", 1.0, "Vera"))
        other.execute("BEGIN IMMEDIATE")  # the write lock, held
        other.execute("UPDATE chat_conversations SET page = 'elsewhere' WHERE id = 'c0'")
        pending = asyncio.create_task(
            writer.append(Message("c0", 2, Sender.VISITOR, "behind", 2.0, "Vera")))
        await asyncio.sleep(0.2)
        # Waiting on the loop's thread would have stopped the loop until SQLite's busy
        # timeout (5 s) ended the batch with an error; failing there is no better.
        assert not pending.done()
        other.commit()
        stored = await asyncio.wait_for(pending, T)
        assert stored.seq == 2
        assert [m.text for m in await store.messages_after("c0")] == ["before", "behind"]
        assert (await store.get("c0"))[0].page == "elsewhere"  # the other write kept too
        # And the writer's next batch, the lock free again, is stored as before.
        await writer.append(Message("c0", 3, Sender.VISITOR, "after", 3.0, "Vera"))
        assert [m.seq for m in await store.messages_after("c0")] == [1, 2, 3]
    finally:
        other.close()
        await writer.close()
        await db.close()


async def test_the_pools_connections_keep_their_checkpoint_limit(tmp_path):
    """Whatever the writer does to SQLite's checkpoints for its own commits (a faster path may
    leave them to a background one) and to its busy timeout, the pool's connections keep
    them: a limit left at 0 would stop the checkpoints of every other writer of the file, a
    timeout left at 0 would make them fail on any lock."""
    db, store, writer = await _sqlite_writer(tmp_path / "cc.sqlite3")
    try:
        for i in range(1, 51):
            await writer.append(Message("c0", i, Sender.VISITOR, f"m{i}", 1.0, "Vera"))
    finally:
        await writer.close()  # gives its connection back to the pool
    try:
        limits = []
        conns = [await db.engine.connect() for _ in range(3)]  # the writer's one among them
        for conn in conns:
            limits.append(((await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar(),
                           (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()))
            await conn.close()
        # The writer's commits on the loop's thread never wait on a lock (busy timeout 0);
        # the pool's connections, its own among them, keep waiting up to SQLite's 5 s.
        assert limits == [(1000, 5000)] * 3
        assert [m.seq for m in await store.messages_after("c0")] == list(range(1, 51))
    finally:
        await db.close()
