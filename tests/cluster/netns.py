"""A network namespace of the test's own, for a node that can be cut off from PostgreSQL.

The namespace gets two links to the test's namespace, each a veth pair with a /30 of its own:
``control`` carries AMI, FastAGI and the web (the node keeps reaching the PBX), ``database``
carries PostgreSQL. Taking the database link down drops every packet on it, both ways, with
no FIN or RST: a partition, as when a switch port dies.

PostgreSQL listens on loopback only, which another namespace cannot reach, so the test relays
TCP from the database link's address to it (``TcpRelay``). A relay ends the TCP connection
the node sees, so it takes PostgreSQL's part in noticing a vanished client: its sockets keep
the same keep-alive timings the node asks PostgreSQL for (``tcp_keepalives_*``), and when the
kernel gives up on the node it closes its side to PostgreSQL, which ends that session (and
frees a lock held by it), as PostgreSQL does after its own keep-alive gives up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass


def can_make_namespaces() -> str | None:
    """Why the test cannot make namespaces here (None: it can)."""
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is missing"
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass
class Namespace:
    """The namespace and the addresses on both ends of its links."""

    name: str
    tag: str
    control_host: str  # the test's end of the control link
    control_node: str  # the node's end
    database_host: str
    database_node: str

    def set_database_link(self, up: bool) -> None:
        """Cut (down) or heal (up) the database link, on the test's side."""
        _ip("link", "set", f"{self.tag}d0", "up" if up else "down")


@contextlib.contextmanager
def namespace(subnet: int):
    """A namespace with its two links (10.231.<subnet>.0/30 and 10.232.<subnet>.0/30); all of
    it deleted on the way out."""
    tag = f"cc{uuid.uuid4().hex[:6]}"
    ns = Namespace(tag, tag, f"10.231.{subnet}.1", f"10.231.{subnet}.2",
                   f"10.232.{subnet}.1", f"10.232.{subnet}.2")
    try:
        _ip("netns", "add", tag)
        _ip("-n", tag, "link", "set", "lo", "up")
        for link, host, peer in (("c", ns.control_host, ns.control_node),
                                 ("d", ns.database_host, ns.database_node)):
            ours, theirs = f"{tag}{link}0", f"{tag}{link}1"
            _ip("link", "add", ours, "type", "veth", "peer", "name", theirs)
            _ip("link", "set", theirs, "netns", tag)
            _ip("addr", "add", f"{host}/30", "dev", ours)
            _ip("link", "set", ours, "up")
            _ip("-n", tag, "addr", "add", f"{peer}/30", "dev", theirs)
            _ip("-n", tag, "link", "set", theirs, "up")
        yield ns
    finally:
        for link in ("c", "d"):
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("link", "del", f"{tag}{link}0")
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("netns", "del", tag)


class TcpRelay:
    """Accepts on ``host:port`` and relays each connection to ``target``; see the module doc."""

    def __init__(self, target: tuple[str, int], keepalive: tuple[int, int, int]) -> None:
        self.target = target
        self.keepalive = keepalive
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed_by_keepalive = 0

    async def start(self, host: str) -> None:
        self._server = await asyncio.start_server(self._relay, host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        idle, interval, count = self.keepalive
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, interval)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, count)
        # Data the node never acknowledges gives up as soon as the keep-alive would.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT,
                        (idle + interval * count) * 1000)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        pumps = [asyncio.ensure_future(self._pump(reader, up_writer)),
                 asyncio.ensure_future(self._pump(up_reader, writer))]
        done, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            if isinstance(task.exception(), TimeoutError | ConnectionError | OSError):
                self.closed_by_keepalive += 1
        for w in (writer, up_writer):
            w.close()

    @staticmethod
    async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@contextlib.asynccontextmanager
async def relay_to_postgres(host: str, port: int, on: str,
                            keepalive: tuple[int, int, int]) -> AsyncIterator[TcpRelay]:
    """A ``TcpRelay`` on ``on`` to PostgreSQL at ``host:port``."""
    relay = TcpRelay((host, port), keepalive)
    await relay.start(on)
    try:
        yield relay
    finally:
        await relay.stop()
