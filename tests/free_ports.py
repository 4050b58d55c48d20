"""A TCP port on loopback for a server whose port a test must know before it starts (its
public origin goes into its settings first).

Why not bind port 0 and close: the kernel hands out one of its ephemeral ports, the same range
the outgoing connections of every process take, so with parallel test workers another one's
client socket can hold it by the time the server binds it ("address already in use"). Ports
are drawn below that range instead, where only another listener can collide, and checked free.
"""

from __future__ import annotations

import random
import socket

LOWEST = 10_000
_DRAW = random.SystemRandom()  # not the module's generator: tests may seed that one


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def free_port() -> int:
    """A port below the ephemeral range that nothing listens on now."""
    highest = max(LOWEST + 1_000, _ephemeral_low()) - 1
    for _ in range(200):
        port = _DRAW.randint(LOWEST, highest)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port between {LOWEST} and {highest}")
