"""A real IMAP server for tests: Debian's Dovecot, run by the test with a throwaway
configuration in its tmp folder (loopback, a free port, no TLS, one user from a passwd file,
maildir in tmp), and a blocking imaplib client (in a thread) to append mail and read flags.

As root, Dovecot's own unprivileged users run its processes and mail belongs to ``nobody``;
as anybody else, everything runs as that user.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import imaplib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from free_ports import free_port as _free_port

DOVECOT = "/usr/sbin/dovecot"
USER = "support"
PASSWORD = "imap test password"
T = 15.0

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {run}
state_dir = {run}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
# Refused logins would slow every login from loopback (Dovecot's auth penalty) otherwise.
login_trusted_networks = 127.0.0.0/8
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Dovecot:
    """One Dovecot of a test: ``start()``, ``stop()`` (connections drop), ``append()``;
    ``remove()`` at the end deletes its files."""

    def __init__(self, root: Path) -> None:
        if os.geteuid() == 0:
            # Dovecot's own users must reach its files: pytest's tmp folders are 0700.
            root = Path(tempfile.mkdtemp(prefix="cc-dovecot-"))
            os.chmod(root, 0o755)
        self.root = root
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        run = root / "run"
        (run / "state").mkdir(parents=True, exist_ok=True)
        (root / "home").mkdir(exist_ok=True)
        (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        if os.geteuid() == 0:
            internal, login, mail_user, mail_group = "dovecot", "dovenull", "nobody", "nogroup"
            os.chmod(root / "home", 0o777)
        else:
            me = getpass.getuser()
            internal = login = mail_user = me
            mail_group = str(os.getegid())
        (root / "dovecot.conf").write_text(CONFIG.format(
            run=run, root=root, internal=internal, login=login, mail_user=mail_user,
            mail_group=mail_group, port=self.port))

    async def start(self) -> None:
        """Start the server; returns once it accepts connections."""
        self.process = self._spawn()
        async with asyncio.timeout(T):
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError("dovecot exited: " + self.log())
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.02)
                    continue
                writer.close()
                await writer.wait_closed()
                return

    def _spawn(self) -> subprocess.Popen[bytes]:
        # In the foreground (-F): the test owns the process; its log goes to log_path.
        with (self.root / "stderr.log").open("ab") as errors:
            return subprocess.Popen([DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
                                    stdout=subprocess.DEVNULL, stderr=errors)

    async def stop(self) -> None:
        """Stop the server and every process it started: connections drop at once (a stopped
        master alone lets a session's imap process serve on until its client leaves)."""
        process, self.process = self.process, None
        if process is None:
            return
        for pid in _descendants(process.pid):
            with contextlib.suppress(OSError):  # the sessions only: the rest stops with it
                if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"dovecot/imap"):
                    os.kill(pid, signal.SIGKILL)
        process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait, T)
        # Its imap processes end when their master does; wait until the port is free again.
        async with asyncio.timeout(T):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    return
                writer.close()
                await writer.wait_closed()
                await asyncio.sleep(0.02)

    def remove(self) -> None:
        """Delete its folder (after ``stop()``) when it lives outside the test's tmp."""
        if self.root.name.startswith("cc-dovecot-"):
            shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        parts = [self.root / "dovecot.log", self.root / "stderr.log"]
        return "\n".join(p.read_text(errors="replace") for p in parts if p.exists())

    def _client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=T)
        client.login(USER, PASSWORD)
        return client

    async def append(self, raw: bytes, folder: str = "INBOX") -> int:
        """Append a mail as a delivering server would; returns its UID."""
        def run() -> int:
            client = self._client()
            try:
                status, data = client.append(folder, None, None, raw)
                assert status == "OK", data
                found = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
                assert found, data
                return int(found.group(1))
            finally:
                client.logout()
        return await asyncio.to_thread(run)

    async def flags(self, folder: str = "INBOX") -> dict[int, str]:
        """UID -> flags of every mail in ``folder``."""
        def run() -> dict[int, str]:
            client = self._client()
            try:
                status, _ = client.select(folder)
                assert status == "OK"
                status, data = client.uid("FETCH", "1:*", "(UID FLAGS)")
                found: dict[int, str] = {}
                for item in data:
                    line = item if isinstance(item, bytes) else b""
                    m = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", line) or re.search(
                        rb"FLAGS \(([^)]*)\) UID (\d+)", line)
                    if m and m.re.pattern.startswith(rb"UID"):
                        found[int(m.group(1))] = m.group(2).decode()
                    elif m:
                        found[int(m.group(2))] = m.group(1).decode()
                return found
            finally:
                client.logout()
        return await asyncio.to_thread(run)

    async def unsee(self, uid: int, folder: str = "INBOX") -> None:
        """Take ``\\Seen`` off a mail, as if our server had stopped before marking it."""
        def run() -> None:
            client = self._client()
            try:
                client.select(folder)
                status, data = client.uid("STORE", str(uid), "-FLAGS", r"(\Seen)")
                assert status == "OK", data
            finally:
                client.logout()
        await asyncio.to_thread(run)
