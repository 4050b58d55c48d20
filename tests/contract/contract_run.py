"""Running schemathesis (its CLI, in a child process) against a running floor, and its figures.

The floor's server runs in the test's event loop; schemathesis is a blocking program, so it
runs as ``python -m schemathesis.cli`` next to it and the loop keeps serving. A role's session
reaches it the way the document declares it: the ``session`` cookie scheme (``auth.openapi``)
and the CSRF header as a fixed parameter value; an anonymous run gets neither. The figures come
from its JSON report (failures, errors) and its HAR file (every request and its status).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

CSRF_HEADER = "X-CSRF-Token"
COOKIE_NAME = "cc_session"


@dataclass
class ContractRun:
    """What one schemathesis run found."""

    role: str
    exit_code: int
    operations: int
    requests: int
    statuses: Counter[int]
    failures: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    phases: dict[str, str]
    output: str = field(repr=False)

    def summary(self) -> str:
        """One line for the test log (and docs/reliability.md)."""
        codes = Counter(f["code"] for f in self.failures for _ in range(f.get("count", 1)))
        return (f"{self.role}: {self.requests} requests over {self.operations} operations, "
                f"phases {self.phases}, statuses {dict(sorted(self.statuses.items()))}, "
                f"failures {dict(codes)}, errors {len(self.errors)}")


def session_auth(http: aiohttp.ClientSession | None) -> tuple[str, str]:
    """The session cookie and CSRF token of a logged-in client session ("" when anonymous)."""
    if http is None:
        return "", ""
    cookie = next((c.value for c in http.cookie_jar if c.key == COOKIE_NAME), "")
    return cookie, str(http.headers.get(CSRF_HEADER, ""))


# Statuses that count as refusing a request that breaks the document: the defaults and 413 (a
# body longer than the server reads at all, before its fields' maxLength could be checked).
NEGATIVE_OK = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428",
               "429", "5xx"]
# Statuses that count as serving a request the document allows: the defaults and 422, which the
# server answers only for a body of the declared shape whose content it refuses with located
# errors (the YAML of an entry or a flow, a form's answers): what no JSON Schema can say.
POSITIVE_OK = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
# ...and per operation, where a body of the declared form may be refused for what it holds:
# an article's upload is any non-empty bytes, and bytes of no type the server stores (the type
# comes from the bytes themselves, which no schema of a binary body can say) are a 415.
POSITIVE_OK_MORE = {("POST", "/api/kb/articles/{article_id}/media"): ["415"],
                    ("POST", "/api/tickets/{ticket_id}/replies/files"): ["415"]}


def websocket_paths(doc: dict[str, Any]) -> list[str]:
    """The paths of the operations that only upgrade to a websocket (``x-websocket``)."""
    return sorted(path for path, item in doc["paths"].items()
                  if any(op.get("x-websocket") for op in item.values()))


def _toml(cookie: str, csrf: str, extra: str, pinned: dict[str, dict[str, str]]) -> str:
    lines = ["[checks.negative_data_rejection]", f"expected-statuses = {json.dumps(NEGATIVE_OK)}",
             "", "[checks.positive_data_acceptance]",
             f"expected-statuses = {json.dumps(POSITIVE_OK)}", ""]
    for (method, path), more in POSITIVE_OK_MORE.items():
        # one include-name: include-path and include-method would be two rules, either enough
        lines += ["[[operations]]", f"include-name = {json.dumps(f'{method} {path}')}",
                  "[operations.checks.positive_data_acceptance]",
                  f"expected-statuses = {json.dumps(POSITIVE_OK + more)}", ""]
    for path, values in pinned.items():
        lines += ["[[operations]]", f"include-path = {json.dumps(path)}",
                  "[operations.parameters]",
                  *(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in values.items()), ""]
    if cookie:
        lines += ["[auth.openapi.session]", f"api_key = {json.dumps(cookie)}", ""]
    if csrf:
        lines += ["[parameters]", f'"header.{CSRF_HEADER}" = {json.dumps(csrf)}', ""]
    return "\n".join(lines) + extra


async def run_contract(base_url: str, http: aiohttp.ClientSession | None, role: str,
                       out_dir: Path, args: list[str], config_extra: str = "",
                       pinned: dict[str, dict[str, str]] | None = None) -> ContractRun:
    """Run schemathesis with every check against ``base_url``'s document as ``http``'s user;
    ``pinned``: fixed parameter values of some paths (``{"path.user_id": "7"}``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cookie, csrf = session_auth(http)
    config = out_dir / "schemathesis.toml"
    config.write_text(_toml(cookie, csrf, config_extra, pinned or {}))
    report = out_dir / "report"
    cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
           f"{base_url}/api/openapi.json", "--checks", "all", "--no-color",
           # the Origin rule is the browser's; a same-origin client sends it
           "-H", f"Origin: {base_url}",
           "--generation-database", "none",
           # "all" includes max_response_time (10 s): no timing decides a test here; a hang
           # is the test's own timeout
           "--max-response-time", "3600", "--request-timeout", "600",
           # a timing too: generation "too slow" for a long pattern (printable's) on a loaded
           # machine is the machine's state, not the server's
           "--suppress-health-check", "too_slow",
           "--report", "json,har", "--report-dir", str(report), *args]
    # cwd: schemathesis keeps a .schemathesis/ folder in its working directory
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT, cwd=out_dir)
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    (out_dir / "output.txt").write_text(text)
    data = json.loads(next(report.glob("json-*.json")).read_text())
    har = json.loads(next(report.glob("har-*.json")).read_text())
    statuses = Counter(int(e["response"]["status"]) for e in har["log"]["entries"])
    return ContractRun(
        role=role, exit_code=proc.returncode or 0,
        operations=data["operations"]["tested"], requests=sum(statuses.values()),
        statuses=statuses, failures=data["failures"], errors=data["errors"],
        phases={k: v["status"] for k, v in data["phases"].items()}, output=text)
