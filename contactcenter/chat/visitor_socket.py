"""The visitor's websocket (``GET /api/chat/widget/{channel}/ws``): the I/O around ``protocol``.

Design note: the Origin is checked against the channel's allowed origins before the upgrade.
A frame is written at once when the socket takes it; once a write has to wait, the frames
after it go to a small outbox drained by a task of the socket's own, so the service's sends
never wait on a visitor's network: a visitor who stops reading fills the outbox and is closed
(code 4008), and comes back with the last number it saw, losing nothing (every message is
stored first). A task per socket that woke for every frame cost a loop turn per send, and
its memory while idle (issue #14's benchmark).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable

from aiohttp import WSMsgType, web

from contactcenter.chat import origins, protocol
from contactcenter.chat.errors import ChatError
from contactcenter.chat.live import LiveConversation
from contactcenter.chat.service import ChatService
from contactcenter.web.live import send_now
from contactcenter.web.openapi import api_doc
from contactcenter.web.roles import PUBLIC, requires
from contactcenter.web.security import json_error

log = logging.getLogger(__name__)
OUTBOX_FRAMES = 512  # a whole backlog page (1,000 messages) goes out in pieces as it drains
HEARTBEAT_S = 25.0


class SocketPeer:
    """One visitor socket: ``send`` writes a frame at once when nothing waits before it, else
    queues it for a task that writes the queue in order (made only while a write waits)."""

    def __init__(self, ws: web.WebSocketResponse, limit: int = OUTBOX_FRAMES) -> None:
        self.ws = ws
        self.limit = limit
        self._outbox: deque[str] = deque()
        self._close: tuple[int, str] | None = None
        self._task: asyncio.Task[None] | None = None  # writing the outbox, or closing

    def send(self, text: str) -> None:
        if self._close is not None:
            return
        if self._task is None:
            try:
                rest = send_now(self.ws, text.encode())
            except (ConnectionError, RuntimeError):
                return  # the socket went: the handler's loop ends on its own
            if rest is not None:  # the transport asked to pause: what follows waits for it
                self._task = asyncio.create_task(self._pump(rest), name="chat-visitor-out")
            return
        if len(self._outbox) >= self.limit:
            self._outbox.clear()
            self.close(protocol.CLOSE_TOO_SLOW, "too slow; reconnect")
            return
        self._outbox.append(text)

    def close(self, code: int, reason: str) -> None:
        if self._close is None:
            self._close = (code, reason)
            if self._task is None:
                self._task = asyncio.create_task(self._pump(None), name="chat-visitor-out")

    async def finish(self) -> None:
        """Write what is queued, close the socket, end the task."""
        self.close(1000, "")
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task

    async def _pump(self, rest: Awaitable[None] | None) -> None:
        try:
            if rest is not None:
                await rest
            while self._close is None or self._outbox:
                if self.ws.closed:
                    break
                if not self._outbox:
                    self._task = None  # drained, not closing: ``send`` writes at once again
                    return
                await self.ws.send_str(self._outbox.popleft())
        except (ConnectionError, RuntimeError):
            pass  # the socket went: the handler's loop ends on its own
        code, reason = self._close or (1000, "")
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, message=reason.encode())


class VisitorSockets:
    """The websocket endpoint of every chat channel."""

    def __init__(self, service: ChatService) -> None:
        self.service = service

    @requires(PUBLIC)
    @api_doc(websocket=True)
    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The visitor's live socket (wire protocol: docs/chat.md); Origin must be allowed."""
        channel, _origin = origins.widget_channel(request, self.service.channel)
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=protocol.MAX_FRAME_BYTES,
                                   compress=False)
        if not ws.can_prepare(request).ok:
            raise json_error(web.HTTPBadRequest, "websocket upgrade expected")
        await ws.prepare(request)
        peer = SocketPeer(ws)
        live: LiveConversation | None = None
        try:
            live = await self._hello(ws, peer, channel.name)
            if live is not None:
                await self._serve(ws, peer, live)
        finally:
            if live is not None:
                self.service.detach(live, peer)
            await peer.finish()
        return ws

    async def _hello(self, ws: web.WebSocketResponse, peer: SocketPeer,
                     channel: str) -> LiveConversation | None:
        try:
            async with asyncio.timeout(protocol.HELLO_TIMEOUT_S):
                msg = await ws.receive()
        except TimeoutError:
            peer.close(protocol.CLOSE_PROTOCOL, "hello expected")
            return None
        if msg.type != WSMsgType.TEXT:
            return None
        try:
            hello = protocol.parse(msg.data)
        except protocol.ProtocolError as exc:
            peer.close(protocol.CLOSE_PROTOCOL, str(exc))
            return None
        if not isinstance(hello, protocol.Hello):
            peer.close(protocol.CLOSE_PROTOCOL, "hello expected")
            return None
        try:
            return await self.service.attach(channel, hello.conversation_id, hello.token,
                                             hello.after, peer)
        except ChatError as exc:
            peer.close(protocol.CLOSE_REFUSED if exc.status == 403 else protocol.CLOSE_PROTOCOL,
                       str(exc))
            return None

    async def _serve(self, ws: web.WebSocketResponse, peer: SocketPeer,
                     live: LiveConversation) -> None:
        service = self.service
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            try:
                frame = protocol.parse(msg.data)
            except protocol.ProtocolError as exc:
                peer.close(protocol.CLOSE_PROTOCOL, str(exc))
                break
            try:
                if isinstance(frame, protocol.Say):
                    await service.visitor_says(live, peer, frame.text, frame.client_id)
                elif isinstance(frame, protocol.Typing):
                    service.visitor_typing(live, frame.typing)
                elif isinstance(frame, protocol.Seen):
                    service.visitor_seen(live, frame.delivered, frame.read)
                elif isinstance(frame, protocol.Leave):
                    await service.visitor_leaves(live)
                elif isinstance(frame, protocol.Ping):
                    peer.send(protocol.encode(protocol.pong()))
                else:
                    raise protocol.FrameRefused("protocol", "already said hello")
            except protocol.FrameRefused as exc:
                # A limit's refusal says which message and when to retry (visitor_limits.py).
                peer.send(protocol.encode({**protocol.error(exc.code, str(exc)),
                                           **getattr(exc, "detail", {})}))
