"""The commands a newcomer runs: ``serve`` stops cleanly on SIGTERM, ``demo`` runs with no PBX."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
