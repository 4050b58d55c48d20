"""Turn the raw ``agi_*`` block into the typed ``AgiEnvironment`` of the call-control contract."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

from contactcenter.telephony.agi.api import AgiEnvironment

__all__ = ["parse_environment", "split_script"]

# Asterisk writes "unknown" where a caller id / DNID is absent (agi_callerid: unknown).
_ABSENT = {"", "unknown"}


def _optional(value: str | None) -> str | None:
    if value is None or value in _ABSENT:
        return None
    return value


def split_script(network_script: str) -> tuple[str, dict[str, str]]:
    """Split ``ivr?flow=main`` into ``("ivr", {"flow": "main"})``; the last duplicate key wins."""
    path, _, query = network_script.partition("?")
    script = path.strip("/")
    if not query:
        return script, {}
    if "%" not in query and "+" not in query:  # plain "a=1&b=2": skip parse_qsl's overhead
        pairs = (item.partition("=") for item in query.split("&") if item)
        return script, {k: v for k, _, v in pairs}
    return script, dict(parse_qsl(query, keep_blank_values=True))


def _script_source(fields: Mapping[str, str]) -> str:
    script = fields.get("network_script")
    if script is not None:
        return script
    # Without agi_network_script fall back to the path of agi_request (agi://host:port/ivr?x=y).
    request = fields.get("request", "")
    if "://" in request:
        parts = urlsplit(request)
        return parts.path + (("?" + parts.query) if parts.query else "")
    return request


def _args(fields: Mapping[str, str]) -> tuple[str, ...]:
    if "arg_1" not in fields:
        return ()
    numbered: list[tuple[int, str]] = []
    for key, value in fields.items():
        if key.startswith("arg_") and key[4:].isdigit():
            numbered.append((int(key[4:]), value))
    numbered.sort()
    return tuple(value for _, value in numbered)


def parse_environment(fields: Mapping[str, str]) -> AgiEnvironment:
    """Build an AgiEnvironment from ``agi_*`` fields given without their prefix."""
    script, query = split_script(_script_source(fields))
    return AgiEnvironment(
        channel=fields.get("channel", ""),
        uniqueid=fields.get("uniqueid", ""),
        callerid=_optional(fields.get("callerid")),
        calleridname=_optional(fields.get("calleridname")),
        dnid=_optional(fields.get("dnid")),
        extension=fields.get("extension", ""),
        context=fields.get("context", ""),
        language=fields.get("language", ""),
        script=script,
        query=query,
        args=_args(fields),
        raw=fields if isinstance(fields, dict) else dict(fields),  # the parser's dict: no copy
    )
