"""The API contract: schemathesis against the real server's own ``/api/openapi.json``.

A whole floor runs (``tests/e2e/floor.py``: the server on an ephemeral port, the PBX simulator).
For each audience (anonymous, an agent linked to agent 1001, a supervisor, an admin)
schemathesis generates requests from the document with every check it has (server errors,
status codes, content types, response schemas and headers, schema-violating requests accepted,
schema-valid requests refused, missing required headers, unsupported methods, the Allow header,
use after free, resources that vanish, ignored auth, object-level authorization) in every
phase: examples, coverage, fuzzing and stateful (the links schemathesis infers from the
document). The session reaches it as the document declares it: the ``session`` cookie scheme,
and the CSRF header as a fixed parameter; Origin is the server's own, as a browser sends it.

The fast variant checks a few operations with a few examples each; the full run is slow.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from contract_run import ContractRun, run_contract, websocket_paths
from floor import PASSWORD, login, running_floor

from contactcenter.web.auth import hash_password
from contactcenter.web.users import UserStore

ROLES = ("anonymous", "agent", "supervisor", "admin")
# Logging out (or renaming oneself) in the middle would leave the rest of the run anonymous.
EXCLUDED = ["--exclude-path", "/api/logout"]


# Errors inside schemathesis itself, not answers of the server: its coverage phase gives up on
# some oneOf bodies ("Unsatisfiable ... nothing()" then "Inconsistent results"), and hypothesis
# sometimes trips on its own regex compiler. They are printed, not counted as the server's.
TOOL_ERRORS = ("Inconsistent results: An example failed on the first run",
               "AST constructor recursion depth mismatch")


def _error_blocks(output: str) -> list[str]:
    """The blocks of schemathesis' ERRORS section, one per error."""
    section = output.partition("= ERRORS =")[2].partition("= FAILURES =")[0]
    section = section.partition("= WARNINGS =")[0].partition("= SUMMARY =")[0]
    return [b for b in re.split(r"\n_{3,} .+? _{3,}\n", section)[1:] if b.strip()]


def _problems(run: ContractRun) -> list[str]:
    """Every failure and error of ``run``, one line each, for the assertion message."""
    out = []
    for f in run.failures:
        out.append(f"{f['code']} {f['title']}: {', '.join(f['operations'])}")
    blocks = _error_blocks(run.output)
    tool = [b for b in blocks if any(marker in b for marker in TOOL_ERRORS)]
    if tool:
        print(f"\n{run.role}: {len(tool)} schemathesis-internal error(s), not counted")
    if len(tool) < sum(e.get("count", 1) for e in run.errors):
        out += [f"error {e['title']} x{e.get('count', 1)}" for e in run.errors]
    if run.exit_code and not run.failures and not run.errors:
        out.append(f"exit code {run.exit_code}:\n{run.output[-3000:]}")
    return out


async def _run_all(tmp_path: Path, roles: tuple[str, ...], args: list[str],
                   sockets: bool = True) -> list[ContractRun]:
    """Each role's run (and, with ``sockets``, its run over the websocket endpoints)."""
    runs = []
    async with running_floor(tmp_path) as floor:
        # PATCH /api/users/{user_id} with the session's own id would demote or disable it and
        # leave the rest of the run logged out: those paths get a user of their own.
        target = await UserStore(floor.server.db).create_user(
            "contract-target", hash_password(PASSWORD), "agent", None, 0.0)
        pinned = {"/api/users/{user_id}": {"path.user_id": str(target.id)}}
        async with (await login(floor, "contract-reader", "admin")) as http, \
                http.get(f"{floor.web_url}/api/openapi.json") as r:
            ws_paths = websocket_paths(await r.json())
        for role in roles:
            http = None
            if role != "anonymous":
                http = await login(floor, f"contract-{role}", role,
                                   "1001" if role == "agent" else None)
            try:
                runs.append(await run_contract(
                    floor.web_url, http, role, tmp_path / f"st-{role}",
                    [*EXCLUDED, *(a for p in ws_paths for a in ("--exclude-path", p)), *args],
                    pinned=pinned))
                if sockets:
                    # A plain HTTP request to a websocket endpoint is rightly refused (400, no
                    # handshake), so "valid data accepted" cannot hold there; every other
                    # check does.
                    runs.append(await run_contract(
                        floor.web_url, http, f"{role} (websockets)", tmp_path / f"ws-{role}",
                        [*(a for p in ws_paths for a in ("--include-path", p)),
                         "--exclude-checks", "positive_data_acceptance", *args]))
            finally:
                if http is not None:
                    await http.close()
        async with (await login(floor, "contract-after", "admin")) as http, \
                http.get(f"{floor.web_url}/api/health") as r:
            assert r.status < 500  # the server survived the run
    for run in runs:
        print(f"\nAPI contract {run.summary()}")
    return runs


# A few operations of several kinds: a read, a write with a body and its path-parameter twin
# (the stateful phase links them), query parameters with enums and dates. The coverage phase
# (the slowest: every boundary of every parameter) is left to the full run.
FAST_OPERATIONS = "^/api/(session|users|users/\\{user_id\\}|reports/queues)$"


@pytest.mark.timeout(300)
async def test_api_contract_fast(tmp_path):
    runs = await _run_all(tmp_path, ("admin",), [
        "--include-path-regex", FAST_OPERATIONS, "--max-examples", "3",
        "--phases", "fuzzing,stateful", "--workers", "2", "--seed", "20"], sockets=False)
    for run in runs:
        assert run.requests > 20, run.output[-3000:]
        assert not _problems(run), "\n".join(_problems(run))


@pytest.mark.contract  # random inputs each run: its own suite, not CI's (docs/reliability.md)
@pytest.mark.timeout(3600)
async def test_api_contract_full(tmp_path):
    runs = await _run_all(tmp_path, ROLES, [
        "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", "20",
        "--workers", "2", "--continue-on-failure"])
    problems = [f"{run.role}: {p}" for run in runs for p in _problems(run)]
    for run in runs:
        assert run.operations > (1 if "websockets" in run.role else 150), run.output[-3000:]
        assert not any(status >= 500 for status in run.statuses), run.summary()
    assert not problems, "\n".join(problems)
