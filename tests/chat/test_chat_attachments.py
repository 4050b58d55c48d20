"""Files in a chat, over the real sockets: both ways, the type from the bytes, the limits, who
may read a file (the visitor by its token, the agent in the chat, staff; nobody else), the
headers that keep a file from ever being a page, and the files kept with the transcript."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chat_floor import SITE, ChatFloor, Visitor, chat_floor, site_channel

from contactcenter.chat.attachments import AttachmentRefused, classify
from contactcenter.chat.settings import AttachmentSettings

PNG = (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
       b"\x00\x00\x00\x90wS\xde" + b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01"
       b"\x01\x00\xc9\xfe\x92\xef" + b"\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
ON = AttachmentSettings(enabled=True, max_bytes=64 * 1024, types=["png", "jpg", "pdf", "txt"])


def test_the_type_comes_from_the_bytes_not_the_name():
    assert classify(ON, "holiday.jpeg", PNG) == ("image", "image/png", "holiday.png")
    assert classify(ON, "../../etc/report.PDF", PDF)[1:] == ("application/pdf", "report.PDF")
    assert classify(ON, "notes.txt", HTML) == ("file", "text/plain; charset=utf-8", "notes.txt")
    refusals = {"page.html": HTML, "fake.png": b"not an image at all",
                "fake.pdf": b"MZ\x90\x00 an exe", "data.zip": b"PK\x03\x04zip",
                "logo.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>", "empty.txt": b"",
                "big.txt": b"x" * (64 * 1024 + 1), "bin.txt": b"\xff\xfe\x00binary"}
    for name, data in refusals.items():
        with pytest.raises(AttachmentRefused) as refused:
            classify(ON, name, data)
        assert refused.value.status in (400, 413, 415), name
    with pytest.raises(AttachmentRefused) as refused:
        classify(ON, "big.txt", b"x" * (64 * 1024 + 1))
    assert refused.value.status == 413


def channel(**overrides: Any) -> Any:
    return site_channel(auto_accept=True, attachments=ON, **overrides)


async def send_file(v: Visitor, name: str, data: bytes, token: str | None = None,
                    client_id: str | None = None) -> tuple[int, Any]:
    query = {"filename": name, **({"client_id": client_id} if client_id else {})}
    async with v.http.post(f"{v.base}/conversations/{v.conversation_id}/attachments",
                           params=query, data=data,
                           headers={"Authorization": f"Bearer {token or v.token}",
                                    "Content-Type": "application/octet-stream"}) as r:
        return r.status, await r.json()


async def visitor_get(v: Visitor, key: str, token: str | None = None) -> tuple[int, Any, bytes]:
    headers = {"Authorization": f"Bearer {v.token if token is None else token}"}
    async with v.http.get(f"{v.base}/attachments/{key}", headers=headers) as r:
        return r.status, r.headers, await r.read()


async def connected(floor: ChatFloor, name: str = "Vera", active: bool = True) -> Visitor:
    """A visitor whose chat started (and, ``active``, an agent took it)."""
    v = floor.visitor()
    status, _ = await v.start({"name": name, "email": "v@example.com"})
    assert status == 201
    await v.connect()
    if active:
        await v.active()
    return v


async def test_files_both_ways_and_only_for_the_chats_people(tmp_path):
    async with chat_floor(tmp_path, channels=[channel()]) as floor:
        alice = await floor.agent("alice", "a1")
        await alice.listen()
        v = await connected(floor)
        cid = v.conversation_id

        # Visitor -> agent: an image, typed from its bytes whatever its name says.
        status, body = await send_file(v, "photo.jpeg", PNG, client_id="f1")
        assert status == 201, body
        att = body["message"]["attachment"]
        assert (att["kind"], att["content_type"], att["filename"]) == (
            "image", "image/png", "photo.png")
        frame = await v.frame(lambda f: f["type"] == "message" and f.get("client_id") == "f1")
        assert frame["attachment"] == att and frame["text"] == "photo.png"
        event = await alice.next_event(lambda e: e["type"] == "chat-message"
                                       and e["message"].get("attachment"))
        assert event["message"]["attachment"]["key"] == att["key"]
        # A resend (the answer was lost) lands once.
        assert (await send_file(v, "photo.jpeg", PNG, client_id="f1"))[1]["message"][
            "seq"] == body["message"]["seq"]
        async with alice.http.get(f"{floor.url}/api/chat/attachments/{att['key']}") as r:
            assert r.status == 200 and await r.read() == PNG
            assert r.headers["Content-Type"] == "image/png"
            assert r.headers["Content-Disposition"].startswith("inline;")
            assert r.headers["X-Content-Type-Options"] == "nosniff"

        # Agent -> visitor: a text file that is HTML inside: a download, never a page.
        async with alice.http.post(
                f"{floor.url}/api/chat/conversations/{cid}/attachments",
                params={"filename": "notes.txt"}, data=HTML,
                headers={"X-CSRF-Token": alice.csrf}) as r:
            assert r.status == 201, await r.text()
            sent = (await r.json())["message"]
        frame = await v.frame(lambda f: f["type"] == "message" and f.get("attachment")
                              and f["from"] == "agent")
        key = frame["attachment"]["key"]
        assert frame["attachment"]["kind"] == "file" and sent["attachment"]["key"] == key
        status, headers, data = await visitor_get(v, key)
        assert status == 200 and data == HTML
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        assert headers["Content-Disposition"] == "attachment; filename*=UTF-8''notes.txt"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in headers["Content-Security-Policy"]
        assert headers["Access-Control-Allow-Origin"] == SITE
        for who in (alice,):
            async with who.http.get(f"{floor.url}/api/chat/attachments/{key}") as r:
                assert r.headers["Content-Disposition"].startswith("attachment;")

        # Strangers: another visitor (its own token), no token, another agent: not found;
        # another site: refused. A supervisor may read it.
        other = await connected(floor, "Otto", active=False)  # Alice is full
        assert (await visitor_get(other, key))[0] == 404
        assert (await visitor_get(v, key, token=""))[0] == 404
        assert (await send_file(other, "x.png", PNG, token=v.token))[0] == 403
        stranger_site = floor.visitor(origin="http://evil.example")
        stranger_site.conversation_id, stranger_site.token = cid, v.token
        assert (await visitor_get(stranger_site, key))[0] == 403
        bob = await floor.agent("bob", "a2")
        async with bob.http.get(f"{floor.url}/api/chat/attachments/{key}") as r:
            assert r.status == 404
        async with bob.http.post(f"{floor.url}/api/chat/conversations/{cid}/attachments",
                                 params={"filename": "a.txt"}, data=b"hi",
                                 headers={"X-CSRF-Token": bob.csrf}) as r:
            assert r.status == 403
        sue = await floor.agent("sue", None,  # type: ignore[arg-type] # a user, no agent
                                login=False, role="supervisor")
        async with sue.http.get(f"{floor.url}/api/chat/attachments/{key}") as r:
            assert r.status == 200

        # The bytes live under the data directory, named by the random key only.
        on_disk = [p for p in Path(tmp_path, "var", "chat-attachments").rglob("*")
                   if p.is_file()]
        assert sorted(p.name for p in on_disk) == sorted([att["key"], key])
        assert all((p.stat().st_mode & 0o077) == 0 for p in on_disk)

        # The transcript keeps them, after the end and in the backlog of a new socket.
        await v.ws.send_json({"type": "close"})
        await v.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        got = await alice.get(f"/api/chat/conversations/{cid}/messages")
        assert [m["attachment"]["key"] for m in got["messages"] if m.get("attachment")] == [
            att["key"], key]
        await v.connect()
        await v.frame(lambda f: f["type"] == "message" and f["seq"] == sent["seq"])
        assert [m["attachment"]["filename"] for m in v.messages() if m.get("attachment")] == [
            "photo.png", "notes.txt"]
        assert (await visitor_get(v, key))[0] == 200  # its own chat, ended: still its file


async def test_refused_types_sizes_and_counts(tmp_path):
    limited = AttachmentSettings(enabled=True, max_bytes=1024, types=["png", "txt"],
                                 max_per_conversation=2)
    async with chat_floor(tmp_path, channels=[
            site_channel(auto_accept=True, attachments=limited),
            site_channel(name="plain", auto_accept=True)]) as floor:
        await floor.agent("alice", "a1")
        v = await connected(floor)
        status, body = await send_file(v, "page.html", HTML)
        assert (status, body["kind"]) == (415, "unsupported")
        assert "png, txt" in body["error"]
        assert (await send_file(v, "doc.pdf", PDF))[0] == 415  # a type this channel does not take
        assert (await send_file(v, "fake.png", b"GIF89a pretending"))[0] == 415
        status, body = await send_file(v, "big.txt", b"a" * 1025)
        assert (status, body["kind"]) == (413, "too_large")
        assert (await send_file(v, "empty.txt", b""))[0] == 400
        assert (await send_file(v, "one.txt", b"1"))[0] == 201
        assert (await send_file(v, "two.png", PNG))[0] == 201
        status, body = await send_file(v, "three.txt", b"3")
        assert (status, body["kind"]) == (409, "limit")
        # A channel without attachments takes none.
        plain = floor.visitor(channel="plain")
        await plain.start({"name": "P", "email": "p@example.com"})
        assert (await send_file(plain, "one.txt", b"1"))[0] == 404
        # The cross-origin preflight lets the widget send its token.
        async with v.http.options(f"{v.base}/attachments/{'0' * 32}", headers={
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization"}) as r:
            assert r.status == 204
            assert "Authorization" in r.headers["Access-Control-Allow-Headers"]


async def test_the_purge_takes_the_files_with_the_transcript(tmp_path):
    async with chat_floor(tmp_path, channels=[channel()]) as floor:
        await floor.agent("alice", "a1")
        v = await connected(floor)
        status, body = await send_file(v, "a.png", PNG)
        assert status == 201
        root = Path(tmp_path, "var", "chat-attachments")
        assert len([p for p in root.rglob("*") if p.is_file()]) == 1
        await floor.server.chat.attachments.forget([v.conversation_id])
        assert [p for p in root.rglob("*") if p.is_file()] == []
        assert (await visitor_get(v, body["message"]["attachment"]["key"]))[0] == 404


async def test_a_message_keeps_its_file_on_each_database(database):
    """Through the group-commit writer and the plain append, with and without a file."""
    from contactcenter.chat.model import ConversationRecord, ConversationState, Message, Sender
    from contactcenter.chat.store import ChatStore, ChatWriter

    store = ChatStore(database)
    await store.create(ConversationRecord(
        id="c1", channel="site", visitor_id="v1", visitor_name="Vera", answers=(),
        attributes={}, page="", queue="web", state=ConversationState.ACTIVE,
        created_at=1.0), "0" * 64)
    file = {"key": "ab" * 16, "filename": "a.png", "kind": "image",
            "content_type": "image/png", "size": 3}
    writer = ChatWriter(store)
    writer.start()
    try:
        await writer.append(Message("c1", 1, Sender.VISITOR, "hello", 1.0, "Vera"))
        await writer.append(Message("c1", 2, Sender.VISITOR, "a.png", 2.0, "Vera",
                                    attachment=file))
    finally:
        await writer.close()
    await store.append(Message("c1", 3, Sender.AGENT, "b.png", 3.0, "Alice", "a1",
                               attachment={**file, "filename": "b.png"}))
    got = await store.messages_after("c1")
    assert [m.attachment for m in got] == [None, file, {**file, "filename": "b.png"}]
    assert "attachment" not in got[0].as_json() and got[1].as_json()["attachment"] == file
