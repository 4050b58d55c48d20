"""Turn the raw ``agi_*`` block into the typed ``AgiEnvironment`` of the call-control contract."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

from contactcenter.telephony.agi.api import AgiEnvironment

__all__ = ["parse_environment", "split_script"]

# Asterisk writes "unknown" where a caller id / DNID is absent (agi_callerid: unknown).
_ABSENT = frozenset(("", "unknown", None))


def split_script(network_script: str) -> tuple[str, dict[str, str]]:
    """Split ``ivr?flow=main`` into ``("ivr", {"flow": "main"})``; the last duplicate key wins."""
    path, _, query = network_script.partition("?")
    script = path.strip("/")
    if not query:
        return script, {}
    if "%" not in query and "+" not in query:  # plain "a=1&b=2": skip parse_qsl's overhead
        if "&" not in query:  # one pair, the usual "flow=main"
            key, _, value = query.partition("=")
            return script, {key: value}
        fields: dict[str, str] = {}
        for item in query.split("&"):
            if item:
                key, _, value = item.partition("=")
                fields[key] = value
        return script, fields
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
    get = fields.get
    callerid, calleridname, dnid = get("callerid"), get("calleridname"), get("dnid")
    return AgiEnvironment(
        channel=get("channel", ""),
        uniqueid=get("uniqueid", ""),
        callerid=None if callerid in _ABSENT else callerid,
        calleridname=None if calleridname in _ABSENT else calleridname,
        dnid=None if dnid in _ABSENT else dnid,
        extension=get("extension", ""),
        context=get("context", ""),
        language=get("language", ""),
        script=script,
        query=query,
        args=_args(fields),
        raw=fields if isinstance(fields, dict) else dict(fields),  # the parser's dict: no copy
    )
