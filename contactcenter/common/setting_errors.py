"""Start-up failures that one setting fixes, reported as that setting, on one line.

A port held by another program (a local Asterisk on 5038, a second server on 8080) or a file a
setting names that is not there is an everyday situation, not a bug: the command line prints
``str(SettingError)`` as one line and exits, instead of a traceback that hides the setting's name.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

# These say the host is wrong (not a local address, not resolvable), not the port.
_HOST_ERRNOS = frozenset({errno.EADDRNOTAVAIL})


def env_name(setting: str) -> str:
    """The ``CC_*`` variable that overrides a dotted setting (``web.port`` -> ``CC_WEB__PORT``)."""
    return "CC_" + setting.upper().replace(".", "__")


class SettingError(Exception):
    """The server cannot start as configured; changing ``setting`` fixes it."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{problem}: set {setting} in the config file or {env_name(setting)}")


class PortUnavailable(SettingError):
    """``host:port`` could not be bound."""

    def __init__(self, setting: str, host: str, port: int, reason: str) -> None:
        self.host = host
        self.port = port
        self.reason = reason
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        super().__init__(setting, f"cannot listen on {where} ({reason})")


def _reason(exc: OSError) -> str:
    # asyncio rewraps bind errors with the whole address in strerror; the errno's own text is
    # the part a user needs.
    text = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else (exc.strerror or str(exc))
    return text[:1].lower() + text[1:]


@contextmanager
def listening(port_setting: str, host: str, port: int,
              host_setting: str | None = None) -> Iterator[None]:
    """Turn an ``OSError`` from binding inside the block into ``PortUnavailable``."""
    try:
        yield
    except OSError as exc:
        wrong_host = isinstance(exc, socket.gaierror) or exc.errno in _HOST_ERRNOS
        setting = host_setting if wrong_host and host_setting else port_setting
        raise PortUnavailable(setting, host, port, _reason(exc)) from exc


def check_can_listen(port_setting: str, host: str, port: int,
                     host_setting: str | None = None) -> None:
    """Raise ``PortUnavailable`` now if ``host:port`` cannot be bound.

    The server checks its ports before it starts anything: a port held by another program is
    then refused before a database is migrated, AMI links connect or background work starts,
    all of which would only be undone again. The real bind later can still lose a race; it is
    wrapped in ``listening`` too.
    """
    if port == 0:
        return
    with listening(port_setting, host, port, host_setting):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # As asyncio's servers do: a port in TIME_WAIT after our own restart is not "in use".
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))

