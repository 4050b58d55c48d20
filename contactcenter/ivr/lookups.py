"""Customer lookup sources for ``lookup`` nodes: the local table and an HTTP CRM.

``LookupRouter`` is the ``LookupPort`` the runner gets; it maps a flow's ``source:`` name to a
source object with ``find(key)``. Sources report failures as ``LookupResult.error`` (the node's
``on_error`` / ``fallback_source`` decide what happens), never as exceptions.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp

from contactcenter.ivr.ports import LookupResult
from contactcenter.storage.customers import CustomerStore

log = logging.getLogger("contactcenter.ivr.lookups")

MAX_BODY = 64 * 1024
_FIELD = re.compile(r"[A-Za-z0-9_]{1,40}")


class LookupSource(Protocol):
    """One place customers can be found."""

    async def find(self, key: str) -> LookupResult:
        """Look ``key`` up."""
        ...


class LocalCustomerLookup:
    """The customers table: by phone first, then by account number."""

    def __init__(self, store: CustomerStore, name: str = "customers") -> None:
        self.store, self.name = store, name

    async def find(self, key: str) -> LookupResult:
        """Find a customer by phone or account."""
        try:
            rec = await self.store.find_by_phone(key) or await self.store.find_by_account(key)
        except Exception as exc:  # noqa: BLE001 - a database hiccup is an error result
            return LookupResult(False, {}, self.name, f"{type(exc).__name__}: {exc}")
        if rec is None:
            return LookupResult(False, {}, self.name)
        return LookupResult(True, rec.fields(), self.name)


class HttpCrmLookup:
    """``GET url_template.format(key=<quoted key>)``: 200 + JSON object = found, 404 = not found.

    Scalar JSON fields become lookup fields; anything else (other statuses, bad JSON, a timeout,
    a body over 64 KiB) is an error result so the flow can fall back.
    """

    def __init__(self, url_template: str, *, timeout_s: float = 2.0,
                 headers: Mapping[str, str] | None = None, name: str = "crm") -> None:
        if "{key}" not in url_template:
            raise ValueError("CRM url template needs '{key}'")
        self.url_template, self.timeout_s, self.name = url_template, timeout_s, name
        self.headers = dict(headers or {})
        self._session: aiohttp.ClientSession | None = None

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s), headers=self.headers)
        return self._session

    async def find(self, key: str) -> LookupResult:
        """Ask the CRM about ``key``."""
        url = self.url_template.format(key=quote(key, safe=""))
        try:
            client = await self._client()
            async with client.get(url, allow_redirects=False) as resp:
                if resp.status == 404:
                    return LookupResult(False, {}, self.name)
                if resp.status != 200:
                    return LookupResult(False, {}, self.name, f"HTTP {resp.status}")
                body = await resp.content.read(MAX_BODY + 1)
                if len(body) > MAX_BODY:
                    return LookupResult(False, {}, self.name, "response too large")
                data: Any = json.loads(body.decode("utf-8"))
        except TimeoutError:
            return LookupResult(False, {}, self.name, "timeout")
        except (aiohttp.ClientError, ValueError, UnicodeDecodeError) as exc:
            return LookupResult(False, {}, self.name, f"{type(exc).__name__}: {exc}")
        if not isinstance(data, dict):
            return LookupResult(False, {}, self.name, "response is not a JSON object")
        if data.get("found") is False:
            return LookupResult(False, {}, self.name)
        fields = {k: _text(v) for k, v in data.items()
                  if isinstance(k, str) and _FIELD.fullmatch(k) and k != "found"
                  and (v is None or isinstance(v, (str, int, float, bool)))}
        return LookupResult(True, fields, self.name)

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)[:1000]


class LookupRouter:
    """The ``LookupPort``: routes ``lookup(source, key)`` to the named source."""

    def __init__(self, sources: Mapping[str, LookupSource]) -> None:
        self.sources = dict(sources)

    async def lookup(self, source: str, key: str) -> LookupResult:
        """Look ``key`` up in ``source``; an unknown source is an error result."""
        src = self.sources.get(source)
        if src is None:
            return LookupResult(False, {}, source, f"unknown lookup source {source!r}")
        return await src.find(key)
