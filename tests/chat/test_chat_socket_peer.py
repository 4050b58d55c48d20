"""A visitor socket's writer (``chat/visitor_socket.py``, ``SocketPeer``) over a real socket:
frames are written at once while the socket takes them and queued behind the first one that
has to wait, in order either way; a visitor who stops reading fills the queue and is closed
with 4008 ("too slow; reconnect") instead of holding the server's memory."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web

from contactcenter.chat import protocol
from contactcenter.chat.visitor_socket import SocketPeer

FRAME = 60_000  # characters: a few frames fill the transport's buffer and make writes wait
T = 30.0


@asynccontextmanager
async def peer_server(push: Callable[[SocketPeer], Any],
                      limit: int) -> AsyncIterator[tuple[str, asyncio.Future[None]]]:
    """A server whose one websocket route runs ``push(peer)``, then ``peer.finish()``; the
    future is done once ``push`` has returned."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        peer = SocketPeer(ws, limit=limit)
        try:
            await push(peer)
        finally:
            if not done.done():
                done.set_result(None)
        await peer.finish()
        return ws

    app = web.Application()
    app.router.add_get("/ws", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/ws", done
    finally:
        await runner.cleanup()


def small_buffer_socket(addr_info: Any) -> socket.socket:
    """The client's socket, with a small receive buffer: a client that stops reading makes
    the server's writes wait after a few frames, not after megabytes."""
    family, kind, proto, _name, _addr = addr_info
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


async def test_frames_written_at_once_or_queued_arrive_all_in_order(tmp_path):
    frames = [f"{i:05d}" + "x" * FRAME for i in range(40)]

    async def push(peer: SocketPeer) -> None:
        for text in frames:  # no pause: the later ones find the first wait and queue behind
            peer.send(text)

    async with peer_server(push, limit=len(frames)) as (url, _done), \
            aiohttp.ClientSession() as http:
        got = []
        async with http.ws_connect(url, max_msg_size=0) as ws:
            while True:
                msg = await asyncio.wait_for(ws.receive(), T)
                if msg.type != WSMsgType.TEXT:
                    break
                got.append(msg.data)
            assert ws.close_code == 1000
    assert got == frames


async def test_a_visitor_who_stops_reading_is_closed_as_too_slow(tmp_path):
    queued = 5
    sent = 400  # far more than the socket's buffers and the queue hold

    async def push(peer: SocketPeer) -> None:
        for i in range(sent):
            peer.send(f"{i:05d}" + "x" * FRAME)
            await asyncio.sleep(0)  # a turn of the loop: a waiting write could go on

    connector = aiohttp.TCPConnector(socket_factory=small_buffer_socket)
    async with peer_server(push, limit=queued) as (url, done), \
            aiohttp.ClientSession(connector=connector) as http, \
            http.ws_connect(url, max_msg_size=0) as ws:
        # Not reading while the server sends: its handler's pushing ends all the same.
        while not done.done():
            await asyncio.sleep(0.05)
        got = []
        while True:
            msg = await asyncio.wait_for(ws.receive(), T)
            if msg.type != WSMsgType.TEXT:
                break
            got.append(int(msg.data[:5]))
        assert ws.close_code == protocol.CLOSE_TOO_SLOW
    # What was in flight arrives, in order and without a gap; the rest was dropped.
    assert got == list(range(len(got)))
    assert len(got) < sent
