"""Run the doctor's checks on an Asterisk config directory and print a readable report."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from contactcenter.config.schema import Settings
from contactcenter.doctor.asterisk_conf import read_conf
from contactcenter.doctor.checks import check_dialplan, check_manager
from contactcenter.doctor.finding import Finding
from contactcenter.doctor.folders import GROUP, PASSWD, check_folders

_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def run_doctor(asterisk_dir: Path, settings: Settings, allowed: list[str], out: TextIO, *,
               passwd: Path = PASSWD, group: Path = GROUP,
               agi_nodes: list[str] | None = None) -> int:
    """Print the report; return 0 when nothing failed, 1 otherwise. ``agi_nodes``: every
    server's FastAGI URL, for the dialplan's node list (None: the settings' ``cluster.nodes``)."""
    nodes = settings.cluster.nodes if agi_nodes is None else agi_nodes
    sections: list[tuple[str, list[Finding]]] = []
    manager = asterisk_dir / "manager.conf"
    extensions = asterisk_dir / "extensions.conf"
    if not asterisk_dir.is_dir():
        out.write(f"FAIL {asterisk_dir} is not a directory\n")
        return 1
    sections.append((f"AMI ({manager})", check_manager(read_conf(manager), settings, allowed)))
    sections.append((f"Dialplan ({extensions})", check_dialplan(read_conf(extensions), settings,
                                                                  nodes)))
    asterisk_conf = asterisk_dir / "asterisk.conf"  # runuser, astdatadir: optional here
    conf = read_conf(asterisk_conf) if asterisk_conf.is_file() else None
    sections.append(("Folders Asterisk writes to (as seen from this machine)",
                     check_folders(settings, conf, passwd, group)))
    failed = 0
    for title, findings in sections:
        out.write(f"{title}\n")
        for f in findings:
            failed += f.level == "fail"
            where = f"  ({f.where})" if f.where else ""
            out.write(f"  {_MARK[f.level]} {f.message}{where}\n")
    out.write("\n" + ("All checks passed.\n" if not failed else f"{failed} problem(s) found.\n"))
    return 1 if failed else 0
