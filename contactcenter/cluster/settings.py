"""The ``cluster:`` section of the server settings.

Example::

    cluster:
      enabled: true
      node: cc-a                  # shown by /api/health and in the leadership row
      nodes: [agi://10.0.0.1:4573, agi://10.0.0.2:4573]   # every node's FastAGI, for doctor
      web_url: http://10.0.0.1:8080   # where the other nodes pass panel requests when this leads

The timings keep one order (checked here): the leader gives up within ``check_s + timeout_s``
of its last good round trip to PostgreSQL, and PostgreSQL frees the lock of a vanished leader
only after ``keepalive_idle_s + keepalive_interval_s * keepalive_count`` without a sign of it;
the first must be shorter, so the old leader has stopped before a standby can start.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

# An advisory lock key of our own (any 64-bit number; "cc-leader" in ASCII, truncated).
DEFAULT_LOCK_KEY = 0x63632D6C6561


@dataclass(frozen=True)
class ClusterSettings:
    """Leader election over a PostgreSQL advisory lock; off by default (one node)."""

    enabled: bool = False
    node: str = ""  # empty: the host name
    nodes: list[str] = field(default_factory=list)
    web_url: str = ""  # this node's web server as the other nodes reach it; empty: derived
    lock_key: int = DEFAULT_LOCK_KEY
    poll_s: float = 0.5  # how often a standby tries the lock
    check_s: float = 1.0  # how often the leader proves its session is alive
    timeout_s: float = 2.0  # a proof slower than this is a lost session
    keepalive_idle_s: int = 3
    keepalive_interval_s: int = 1
    keepalive_count: int = 3

    def __post_init__(self) -> None:
        for name in ("poll_s", "check_s", "timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"cluster.{name} must be positive")
        for name in ("keepalive_idle_s", "keepalive_interval_s", "keepalive_count"):
            if getattr(self, name) < 1:
                raise ValueError(f"cluster.{name} must be at least 1")
        if not -(2**63) <= self.lock_key < 2**63:
            raise ValueError("cluster.lock_key must fit in 64 bits (signed)")
        if self.give_up_s >= self.freed_after_s:
            raise ValueError(
                f"cluster: the leader gives up after {self.give_up_s:g} s but PostgreSQL may "
                f"free its lock after {self.freed_after_s:g} s; raise keepalive_idle_s or "
                "lower check_s/timeout_s, or two leaders could route at once")

    def own_web_url(self, host: str, port: int, tls: bool) -> str:
        """``web_url``, else the web server's address (the host name when it listens on all)."""
        if self.web_url:
            return self.web_url.rstrip("/")
        if host in ("", "0.0.0.0", "::"):
            host = socket.getfqdn()
        elif ":" in host:
            host = f"[{host}]"
        return f"{'https' if tls else 'http'}://{host}:{port}"

    @property
    def give_up_s(self) -> float:
        """The longest a leader cut off from PostgreSQL keeps routing."""
        return self.check_s + self.timeout_s

    @property
    def freed_after_s(self) -> float:
        """The soonest PostgreSQL frees the lock of a leader it no longer hears."""
        return float(self.keepalive_idle_s + self.keepalive_interval_s * self.keepalive_count)
