"""The folders Asterisk writes into: the recordings root and the IVR's voice-messages folder.

Why: Asterisk makes no folder for ``RECORD FILE`` (main/file.c ``ast_writefile`` only opens the
file), so a missing or read-only messages folder fails every voice message and sends each
caller to the fallback; recordings are lost the same way when MixMonitor cannot write under
``recordings_dir``. Folders are checked as this machine sees them: run the doctor where
Asterisk runs, or where the shared folder is mounted at the same path (docs/recording.md).

"Writable" means by the user Asterisk runs as: ``runuser`` of asterisk.conf ``[options]``,
else a user named ``asterisk`` in /etc/passwd, judged from the owner, group and mode bits of
the folder and of its parents (ACLs and read-only mounts are not seen). When neither is
found, the current user is checked instead and the finding says so.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

from contactcenter.common.yamlfile import SourceErrors
from contactcenter.config.loader import resolve
from contactcenter.config.schema import Settings
from contactcenter.doctor.asterisk_conf import AsteriskConf
from contactcenter.doctor.finding import Finding
from contactcenter.ivr.loader import flow_files, load_flow
from contactcenter.ivr.model import MessageNode

PASSWD = Path("/etc/passwd")
GROUP = Path("/etc/group")
DEFAULT_DATA_DIR = "/var/lib/asterisk"  # asterisk.conf [directories] astdatadir
MAX_NAMED_NODES = 4


@dataclass(frozen=True, slots=True)
class RunUser:
    """The account Asterisk runs as, with the groups whose permission bits apply to it."""

    name: str
    uid: int
    gids: frozenset[int]
    source: str  # where it was found, for the report


def _entries(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def _account(passwd: Path, name: str) -> tuple[int, int] | None:
    for parts in _entries(passwd):
        if len(parts) >= 4 and parts[0] == name and parts[2].isdigit() and parts[3].isdigit():
            return int(parts[2]), int(parts[3])
    return None


def _group_ids(group: Path, user: str, rungroup: str | None) -> set[int]:
    out: set[int] = set()
    for parts in _entries(group):
        if len(parts) >= 4 and parts[2].isdigit() and (
                user in parts[3].split(",") or parts[0] == rungroup):
            out.add(int(parts[2]))
    return out


def asterisk_user(conf: AsteriskConf | None, passwd: Path = PASSWD,
                  group: Path = GROUP) -> tuple[RunUser | None, str]:
    """Asterisk's account, or None and why it was not found."""
    runuser = conf.get("options", "runuser") if conf is not None else None
    rungroup = conf.get("options", "rungroup") if conf is not None else None
    if runuser is not None and runuser.value:
        name, source = runuser.value, f"runuser in {runuser.file}:{runuser.line}"
    else:
        name, source = "asterisk", f"from {passwd}"
    account = _account(passwd, name)
    if account is None:
        if runuser is not None and runuser.value:
            return None, f"runuser {name!r} ({source}) is not in {passwd}"
        return None, f"no runuser in asterisk.conf and no 'asterisk' user in {passwd}"
    uid, gid = account
    gids = {gid} | _group_ids(group, name, rungroup.value if rungroup else None)
    return RunUser(name, uid, frozenset(gids), source), ""


def writable_by(folder: Path, user: RunUser) -> bool:
    """Whether ``user`` may create files in ``folder``: write and search on it, search on each
    parent, by the mode bits that apply to that user (owner, then group, then others)."""
    if user.uid == 0:
        return True
    folder = folder.resolve()
    for depth, path in enumerate([folder, *folder.parents]):
        try:
            st = path.stat()
        except OSError:  # the doctor itself cannot look: nor can it vouch for Asterisk
            return False
        if st.st_uid == user.uid:
            bits = st.st_mode >> 6
        elif st.st_gid in user.gids:
            bits = st.st_mode >> 3
        else:
            bits = st.st_mode
        need = 0o3 if depth == 0 else 0o1
        if bits & need != need:
            return False
    return True


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment nor in passwd
        return f"uid {os.getuid()}"


def check_folder(what: str, folder: Path, user: RunUser | None, why: str) -> Finding:
    """One folder: it exists and the user can write to it, or a warning with a fix."""
    owner = user.name if user is not None else "<Asterisk's user>"
    if user is not None:
        who = f"Asterisk's user {user.name!r} ({user.source})"
    else:
        who = (f"the current user {_current_user()!r}, checked instead of Asterisk's ({why}; "
               "set runuser in asterisk.conf or run the doctor as Asterisk's user)")
    if not folder.is_dir():
        state = "is not a folder" if folder.exists() else "does not exist"
        return Finding("warn", f"{what} {folder} {state}: Asterisk will not create it; "
                       f"mkdir -p {folder} && chown {owner}: {folder}")
    ok = writable_by(folder, user) if user is not None else os.access(folder, os.W_OK | os.X_OK)
    if ok:
        return Finding("ok", f"{what} {folder} is writable by {who}")
    return Finding("warn", f"{what} {folder} is not writable by {who}: "
                   f"chown {owner}: {folder} (or give that user write access to it)")


def messages_folder(settings: Settings, conf: AsteriskConf | None) -> Path:
    """Where Asterisk writes the message nodes' files: a relative ``ivr.messages_dir`` is under
    Asterisk's sounds folder, as RECORD FILE resolves it (main/file.c build_filename)."""
    folder = Path(settings.ivr.messages_dir)
    if folder.is_absolute():
        return folder
    data = conf.get("directories", "astdatadir") if conf is not None else None
    return Path(data.value if data is not None else DEFAULT_DATA_DIR) / "sounds" / folder


def message_nodes(flows_dir: Path) -> list[str]:
    """``flow:node`` of every message node of the valid flows in ``flows_dir``."""
    out: list[str] = []
    for path in flow_files([flows_dir]) if flows_dir.is_dir() else []:
        try:
            flow = load_flow(path)
        except SourceErrors:
            continue  # `contactcenter flows check` reports those
        out += [f"{flow.name}:{node.id}" for node in flow.nodes.values()
                if isinstance(node, MessageNode)]
    return out


def check_folders(settings: Settings, conf: AsteriskConf | None, passwd: Path = PASSWD,
                  group: Path = GROUP) -> list[Finding]:
    """The recordings folder and, when some flow records messages, the messages folder."""
    out = [Finding("warn", e) for e in conf.errors] if conf is not None else []
    user, why = asterisk_user(conf, passwd, group)
    out.append(check_folder("recordings folder (recordings_dir)",
                            resolve(settings, settings.recordings_dir), user, why))
    nodes = message_nodes(resolve(settings, settings.flows_dir))
    if not nodes:
        out.append(Finding("ok", "no flow records voice messages: ivr.messages_dir is not used"))
        return out
    named = ", ".join(nodes[:MAX_NAMED_NODES]) + (", ..." if len(nodes) > MAX_NAMED_NODES else "")
    out.append(check_folder(f"voice-messages folder (ivr.messages_dir, for {named})",
                            messages_folder(settings, conf), user, why))
    return out
