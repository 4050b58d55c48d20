"""Fuzzing every JSON endpoint of the real server as an admin: never a 5xx, never a hang.

A whole floor runs (``tests/e2e/floor.py``: the server on an ephemeral port, the PBX simulator);
the operations come from the server's own ``/api/openapi.json`` (every POST, PUT and PATCH,
documented body or not), and each example posts one generated body to one of them with a
generated path: random JSON of any shape, the documented properties with values of the right or
wrong type, or raw bytes (invalid JSON, 100,000-deep arrays, ``NaN``, duplicate keys, a BOM,
another content type). The assertion is on the status only: below 500. A request that never
answers fails on the client's timeout (a hang), and the server must still answer its health
check at the end. The session is renewed when a request logged it out.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from fuzz_budget import FAST, SLOW
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from floor import login, running_floor

JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from([10**20, -(10**20), 2**63, -1, 0, "", " ", "\r\n", "\x00", "a" * 5000,
                     "../../etc/passwd", "${jndi:x}", "'; DROP TABLE users; --", "<script>",
                     "sales", "support", "admin", "agent", "1001", "PJSIP/1001", "en", "main",
                     "\ud83d", "a\udc00b"]),  # lone surrogates: JSON escapes can carry them
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=5),
    max_leaves=15,
)

RAW_BODIES = st.sampled_from([
    (b"", "application/json"),
    (b"{", "application/json"),
    (b"null", "application/json"),
    (b"NaN", "application/json"),
    (b'{"a": NaN, "b": Infinity}', "application/json"),
    (b'{"a": 1, "a": 2}', "application/json"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    (b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "application/json"),
    (b'{"n": 1e999999}', "application/json"),
    (b'{"n": ' + b"9" * 5000 + b"}", "application/json"),
    ("\ufeff{}".encode(), "application/json"),
    (b"\xff\xfe\x00", "application/json"),
    (b'{"yaml": "a: \\u0007"}', "application/json"),
    (b"a=1&b=2", "application/x-www-form-urlencoded"),
    (b"<x/>", "text/xml"),
    (b'{"x": "' + b"y" * 3_000_000 + b'"}', "application/json"),
])

PATH_VALUES: dict[str, list[str]] = {
    "name": ["sales", "support", "operator", "billing", "english", "1001", "main", "demo", "Eve",
             "nosuch", "a" * 300, "__main__"],
    "id": ["1001", "1", "0", "-1", "99999999999999999999", "abc", "sim-1"],
    "locale": ["en", "fr", "xx", "en-US", "../.."],
    "channel": ["default", "web", "nosuch"],
    "version": ["1", "0", "99999999999999999999", "-3"],
}
_GENERIC_PATH = ["1", "2", "3", "0", "-1", "99999999999999999999", "abc", "a" * 200, "%00", "..",
                 "sales", "en", "x y", "é"]


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict | None]]:
    """(method, path template, JSON schema of the body or None) of each write operation."""
    ops = []
    for path, item in sorted(doc["paths"].items()):
        for method, op in sorted(item.items()):
            if method not in ("post", "put", "patch"):
                continue
            if path == "/api/logout":
                continue  # takes no body; logging ourselves out only slows the run down
            content = (op.get("requestBody") or {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            ops.append((method.upper(), path, schema))
    return ops


def _typed(schema: dict) -> st.SearchStrategy[Any]:
    """A value close to what ``schema`` asks for: its enum, its type, or anything."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | JSON_SCALARS
    kinds = schema.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    options: list[st.SearchStrategy[Any]] = [JSON_VALUES]
    for kind in kinds:
        options.append({"string": st.text(max_size=70), "integer": st.integers(-5, 10**6),
                        "number": st.floats(-1e6, 1e6), "boolean": st.booleans(),
                        "null": st.none(), "array": st.lists(JSON_SCALARS, max_size=4),
                        "object": st.dictionaries(st.text(max_size=8), JSON_SCALARS,
                                                  max_size=4)}.get(kind, JSON_VALUES))
    return st.one_of(*options)


@st.composite
def bodies(draw: st.DrawFn, schema: dict | None) -> tuple[bytes, str]:
    """One request body and its content type."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(RAW_BODIES)
    if choice <= 3 or not schema or not schema.get("properties"):
        return json.dumps(draw(JSON_VALUES)).encode(), "application/json"
    props = schema["properties"]
    body = {}
    for key, sub in props.items():
        if draw(st.integers(0, 3)):  # each documented property is there three times in four
            body[key] = draw(_typed(sub if isinstance(sub, dict) else {}))
    if draw(st.booleans()):
        body.update(draw(st.dictionaries(st.text(max_size=8), JSON_SCALARS, max_size=2)))
    return json.dumps(body).encode(), "application/json"


class ApiFuzzer:
    """The floor, an admin session on it, and the operations to fuzz."""

    def __init__(self, floor: Any, ops: list[tuple[str, str, dict | None]]) -> None:
        self.floor = floor
        self.ops = ops
        self.http: aiohttp.ClientSession | None = None
        self.admin_id = ""
        self.renewals = 0
        self.sent = 0
        self.statuses: dict[int, int] = {}

    async def relogin(self) -> None:
        """A new admin user and session (the last one may have been logged out or demoted)."""
        if self.http is not None:
            await self.http.close()
        self.renewals += 1
        self.http = await login(self.floor, f"fuzzadmin{self.renewals}", "admin")
        self.http._timeout = aiohttp.ClientTimeout(total=60)  # a hang fails the example
        async with self.http.get(f"{self.floor.web_url}/api/session") as r:
            self.admin_id = str((await r.json()).get("user", {}).get("id", ""))

    def path_of(self, template: str, draw: st.DrawFn) -> str:
        """``template`` with each ``{param}`` replaced by a drawn, URL-quoted value."""
        out = template
        while "{" in out:
            start, end = out.index("{"), out.index("}")
            name = out[start + 1:end]
            values = PATH_VALUES.get(name, _GENERIC_PATH)
            if name == "user_id":
                values = [v for v in _GENERIC_PATH if v != self.admin_id]
            value = draw(st.sampled_from(values) | st.text(min_size=1, max_size=12))
            out = out[:start] + quote(value, safe="") + out[end + 1:]
        return out

    async def send(self, method: str, path: str, body: bytes, ctype: str) -> int:
        """Post one body; the status (the session is renewed after a 401)."""
        assert self.http is not None
        url = f"{self.floor.web_url}{path}"
        async with self.http.request(method, url, data=body,
                                     headers={"Content-Type": ctype}) as resp:
            await resp.read()
            status = resp.status
        self.sent += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == 401 and path != "/api/login":
            await self.relogin()
        return status


@pytest.fixture
async def api_fuzzer(tmp_path):
    """A running floor with an admin session and the list of write operations."""
    async with running_floor(tmp_path) as floor:
        fuzzer = ApiFuzzer(floor, [])
        await fuzzer.relogin()
        assert fuzzer.http is not None
        async with fuzzer.http.get(f"{floor.web_url}/api/openapi.json") as r:
            assert r.status == 200
            fuzzer.ops = _operations(await r.json())
        assert len(fuzzer.ops) > 40, "the OpenAPI document lost most write operations"
        yield fuzzer
        async with fuzzer.http.get(f"{floor.web_url}/api/health") as r:
            assert r.status < 500  # the server survived the run
        print(f"\nJSON API fuzz: {fuzzer.sent} requests over {len(fuzzer.ops)} operations, "
              f"statuses {dict(sorted(fuzzer.statuses.items()))}, sessions {fuzzer.renewals}")
        await fuzzer.http.close()


async def _one(fuzzer: ApiFuzzer, data: st.DataObject) -> None:
    method, template, schema = data.draw(st.sampled_from(fuzzer.ops), label="operation")
    path = fuzzer.path_of(template, data.draw)
    body, ctype = data.draw(bodies(schema), label="body")
    status = await fuzzer.send(method, path, body, ctype)
    assert status < 500, f"{method} {path} -> {status} for {body[:300]!r}"


@FAST
@given(data=st.data())
async def test_json_endpoints_fuzz(api_fuzzer, data):
    await _one(api_fuzzer, data)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@SLOW
@given(data=st.data())
async def test_json_endpoints_fuzz_10k(api_fuzzer, data):
    await _one(api_fuzzer, data)
