"""The commands a newcomer runs: `serve` and `demo` start (next to a real Asterisk, from a config
file of their own), stop cleanly on SIGTERM, and explain a port they cannot have in one line."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from free_ports import free_port

from contactcenter.storage.database import Database
from contactcenter.web.auth import hash_password
from contactcenter.web.demo_passwords import DEMO_PASSWORD
from contactcenter.web.users import UserStore

REPO = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, web: int, agi: int, ami: int, speed: float = 1.0) -> Path:
    cfg = tmp_path / "cc.yaml"
    cfg.write_text(f"""
asterisk:
  - {{name: pbx1, host: 127.0.0.1, port: {ami}, username: contactcenter, secret: x}}
fastagi: {{port: {agi}}}
web: {{port: {web}}}
database: {{url: "sqlite+aiosqlite:///{tmp_path}/cc.sqlite3"}}
routing: {{queues_file: {REPO}/config/queues.yaml, agents_file: {REPO}/config/agents.yaml}}
flows_dir: {REPO}/ivr_flows
recordings_dir: {tmp_path}/rec
simulator: {{ami_port: {ami}, speed: {speed}, calls_per_minute: 120}}
""")
    return cfg


def get_json(url: str, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return json.loads(r.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_serve_reports_health_and_stops_on_sigterm(tmp_path):
    web, agi, ami = free_port(), free_port(), free_port()  # nothing listens on the AMI port
    cfg = write_config(tmp_path, web, agi, ami)
    proc = subprocess.Popen([sys.executable, "-m", "contactcenter", "serve", "--config", str(cfg)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        health = get_json(f"http://127.0.0.1:{web}/api/health")
        # No Asterisk: the server runs, and says the AMI link is not up.
        assert health["status"] == "degraded"
        assert health["ami"][0]["name"] == "pbx1" and health["ami"][0]["state"] != "connected"
        assert health["fastagi"]["active"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "stopping" in out and "Traceback" not in out


@pytest.mark.slow  # in the slow suite (.ci/run runs it after the main one)
def test_demo_places_calls_with_no_pbx_installed(tmp_path):
    web, agi, ami = free_port(), free_port(), free_port()
    cfg = write_config(tmp_path, web, agi, ami, speed=10.0)
    proc = subprocess.run(
        [sys.executable, "-m", "contactcenter", "demo", "--config", str(cfg), "--duration", "90"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("calls placed")]
    assert lines, proc.stdout
    placed = int(lines[-1].split("|")[0].split()[-1])
    answered = int(lines[-1].split("|")[3].split()[-1])
    assert placed > 0 and answered > 0, lines[-1]
    assert "/login as admin, supervisor, agent1001" in proc.stdout
    # The config names database.url; the demo's users (published password) are not put there.
    assert (tmp_path / "var" / "demo.sqlite3").exists()
    assert not (tmp_path / "cc.sqlite3").exists()


@contextlib.contextmanager
def running(command: str, cfg: Path, cwd: Path, log: Path) -> Iterator[subprocess.Popen[str]]:
    """``contactcenter <command> --config cfg`` in the background, its output into ``log``;
    stopped with SIGTERM (and waited for) on the way out."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "contactcenter", command, "--config", str(cfg)],
            cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            yield proc
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def hold_port(port: int) -> socket.socket:
    """A listening socket on ``port``: what a local Asterisk or a second server looks like."""
    held = socket.socket()
    held.bind(("127.0.0.1", port))
    held.listen()
    return held


def plain_config(tmp_path: Path, web: int, agi: int, extra: str = "") -> Path:
    """A config file of a user's own, outside the checkout: ports, and nothing about routing."""
    cfg = tmp_path / "cc.yaml"
    cfg.write_text(f"fastagi: {{port: {agi}}}\nweb: {{port: {web}}}\n{extra}")
    return cfg


@pytest.mark.parametrize("command, setting", [
    ("serve", "fastagi.port"), ("serve", "web.port"),
    ("demo", "fastagi.port"), ("demo", "web.port"), ("demo", "simulator.ami_port"),
])
def test_a_port_in_use_is_one_line_naming_the_setting(tmp_path, command, setting):
    ports = {"web.port": free_port(), "fastagi.port": free_port(),
             "simulator.ami_port": free_port()}
    cfg = plain_config(tmp_path, ports["web.port"], ports["fastagi.port"],
                       f"simulator: {{ami_port: {ports['simulator.ami_port']}}}\n")
    env_var = "CC_" + setting.upper().replace(".", "__")
    with hold_port(ports[setting]):
        proc = subprocess.run(
            [sys.executable, "-m", "contactcenter", command, "--config", str(cfg)],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    expected = (f"cannot listen on 127.0.0.1:{ports[setting]} (address already in use): "
                f"set {setting} in the config file or {env_var}")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[-1] == expected, proc.stderr
    assert proc.stderr.count("cannot listen") == 1
    assert "Traceback" not in proc.stderr + proc.stdout


def test_demo_starts_while_something_holds_5038(tmp_path):
    web, agi = free_port(), free_port()
    cfg = plain_config(tmp_path, web, agi, f"routing: {{queues_file: {REPO}/config/queues.yaml, "
                                           f"agents_file: {REPO}/config/agents.yaml}}\n"
                                           f"flows_dir: {REPO}/ivr_flows\n")
    try:
        held: socket.socket | None = hold_port(5038)
    except OSError as exc:  # a real Asterisk (or another demo) holds it already: as good
        assert exc.errno == errno.EADDRINUSE, exc
        held = None
    log = tmp_path / "demo.log"
    try:
        with running("demo", cfg, tmp_path, log) as proc:
            health = get_json(f"http://127.0.0.1:{web}/api/health")
            deadline = time.monotonic() + 20
            while health["ami"][0]["state"] != "connected" and time.monotonic() < deadline:
                time.sleep(0.2)
                health = get_json(f"http://127.0.0.1:{web}/api/health")
    finally:
        if held is not None:
            held.close()
    text = log.read_text()
    assert proc.returncode == 0, text
    assert health["ami"][0]["state"] == "connected", health  # to the simulator, not to 5038
    banner = next(line for line in text.splitlines() if line.startswith("demo: PBX simulator"))
    assert "127.0.0.1:5038," not in banner, banner
    assert "Traceback" not in text


def test_serve_starts_from_a_config_outside_the_checkout(tmp_path):
    # No routing: section, and no config/queues.yaml next to the file: a fresh install.
    web, agi = free_port(), free_port()
    cfg = plain_config(tmp_path, web, agi)
    log = tmp_path / "serve.log"
    with running("serve", cfg, REPO, log) as proc:
        health = get_json(f"http://127.0.0.1:{web}/api/health")
    text = log.read_text()
    assert proc.returncode == 0, text
    assert health["fastagi"]["active"] == 0 and health["ami"] == []
    assert f"INFO contactcenter.config.routing_files: no queues file at " \
           f"{tmp_path}/config/queues.yaml" in text, text
    assert (tmp_path / "var" / "contactcenter.sqlite3").exists()  # base_dir is the file's dir
    assert "Traceback" not in text


def _add_users(url: str, users: dict[str, str]) -> None:
    async def add() -> None:
        db = Database(url)
        try:
            await db.create_all()
            for name, password in users.items():
                await UserStore(db).create_user(name, hash_password(password), "admin", None,
                                                time.time())
        finally:
            await db.close()

    asyncio.run(add())


def test_serve_warns_about_users_with_the_demo_password(tmp_path):
    web, agi = free_port(), free_port()
    database = tmp_path / "cc.sqlite3"
    _add_users(f"sqlite+aiosqlite:///{database}",
               {"demoadmin": DEMO_PASSWORD, "realadmin": "a real long password"})
    cfg = plain_config(tmp_path, web, agi, f'database: {{url: "sqlite+aiosqlite:///{database}"}}\n')
    log = tmp_path / "serve.log"
    with running("serve", cfg, tmp_path, log) as proc:
        get_json(f"http://127.0.0.1:{web}/api/health")
        deadline = time.monotonic() + 20  # the check runs once the server is up
        while "demo password" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    warnings = [line for line in log.read_text().splitlines() if "demo password" in line]
    assert proc.returncode == 0
    assert len(warnings) == 1 and " WARNING " in warnings[0], warnings
    assert "user demoadmin " in warnings[0] and "realadmin" not in warnings[0]
