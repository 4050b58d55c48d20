"""The dialplan's FastAGI node list (several servers, docs/deploy.md) against the settings' nodes.

dialplan/extensions_contactcenter.conf tries CONTACTCENTER_AGI_NODES ('&' between URLs, no
spaces, each ``agi://host:port`` without a path: the dialplan appends ``/ivr``), else
CONTACTCENTER_AGI, else ``agi://127.0.0.1:4573``, in order; a refused node sends the call to the
next at once. ``check_agi_nodes`` reads that list from ``[globals]`` and compares it with the
nodes the server is told about (``cluster.nodes``, passed in): a node missing from the dialplan
never gets a call, and a dialplan still on one URL cannot reach a standby that took over.
``hagi://name`` (no port) is Asterisk's SRV form: its targets live in DNS, not checked here.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from contactcenter.doctor.asterisk_conf import AsteriskConf
from contactcenter.doctor.finding import Finding

DEFAULT_NODE = "agi://127.0.0.1:4573"
SUBS = "contactcenter-subs"


@dataclass(frozen=True, slots=True)
class DialplanNodes:
    """The nodes the dialplan tries, where they are set, and whether it loops over a list."""

    urls: list[str]
    source: str  # the global that set them, or "default"
    where: str
    loops: bool  # [contactcenter-subs] agi-nodes exists (the node list is used)


def node_key(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an ``agi://`` / ``hagi://`` URL, None when it is not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("agi", "hagi") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or 4573


def dialplan_nodes(conf: AsteriskConf) -> DialplanNodes:
    """The node list of the dialplan as Asterisk would build it (globals, then the default)."""
    loops = any(i.name.lower() == "exten" and i.value.replace(" ", "").startswith("agi-nodes,")
                for i in conf.section(SUBS))
    names = ("CONTACTCENTER_AGI_NODES", "CONTACTCENTER_AGI") if loops else ("CONTACTCENTER_AGI",)
    for name in names:
        item = conf.get("globals", name)
        if item is not None and item.value:
            urls = item.value.split("&") if name.endswith("_NODES") else [item.value]
            return DialplanNodes(urls, name, f"{item.file}:{item.line}", loops)
    return DialplanNodes([DEFAULT_NODE], "default", "", loops)


def _format_findings(nodes: DialplanNodes) -> list[Finding]:
    out: list[Finding] = []
    for url in nodes.urls:
        key = node_key(url)
        if url != url.strip() or " " in url:
            out.append(Finding("fail", f"{nodes.source}: {url!r} has spaces; write the URLs "
                                   "with '&' between them and nothing else", nodes.where))
        elif not url:
            out.append(Finding("fail", f"{nodes.source} has an empty entry ('&&', or '&' at "
                                   "an end): AGI() would run a local script named /ivr",
                                   nodes.where))
        elif key is None:
            out.append(Finding("fail", f"{nodes.source}: {url!r} is not an agi:// or hagi:// "
                                   "URL", nodes.where))
        elif urlsplit(url).path not in ("", "/") or urlsplit(url).query:
            out.append(Finding("fail", f"{nodes.source}: {url!r} has a path; the dialplan "
                                   "appends /ivr and /callback itself (agi://host:port only)",
                                   nodes.where))
        elif key[0] == "hagi" and urlsplit(url).port is not None:
            out.append(Finding("warn", f"{nodes.source}: {url} names a port, which turns "
                                   "Asterisk's SRV lookup off (it is then a plain agi:// URL)",
                                   nodes.where))
    return out


def check_agi_nodes(conf: AsteriskConf, nodes: list[str]) -> list[Finding]:
    """The dialplan's node list against ``nodes`` (the settings' FastAGI URLs of every server;
    empty: one server, nothing to compare)."""
    have = dialplan_nodes(conf)
    out = _format_findings(have)
    listed = ", ".join(have.urls)
    srv = [u for u in have.urls if (k := node_key(u)) is not None and k[0] == "hagi"
           and urlsplit(u).port is None]
    if len(nodes) < 2:
        if have.source == "CONTACTCENTER_AGI_NODES" and not out:
            out.append(Finding("ok", f"the dialplan tries {listed} in order", have.where))
        return out
    if not have.loops:
        return out + [Finding(
            "fail", f"{len(nodes)} nodes are configured (cluster.nodes) but the dialplan is an "
            "older extensions_contactcenter.conf that tries one URL "
            f"({have.urls[0]}): a call never reaches a standby that took over; update it from "
            "dialplan/ and set CONTACTCENTER_AGI_NODES", have.where)]
    if srv:
        return out + [Finding(
            "warn", f"the dialplan uses {', '.join(srv)}: the targets of its SRV record "
            f"(_agi._tcp.<name>) are not checked here; they should be {', '.join(nodes)}",
            have.where)]
    if have.source != "CONTACTCENTER_AGI_NODES":
        joined = "&".join(_base(n) for n in nodes)
        return out + [Finding(
            "fail", f"{len(nodes)} nodes are configured (cluster.nodes) but the dialplan points "
            f"at one URL ({have.source} = {have.urls[0]}): set CONTACTCENTER_AGI_NODES = "
            f"{joined} in [globals]", have.where)]
    keys = {node_key(u) for u in have.urls}
    for node in nodes:
        key = node_key(node)
        if key is None:
            out.append(Finding("fail", f"cluster.nodes: {node!r} is not an agi:// URL"))
        elif key not in keys and ("agi", key[1], key[2]) not in keys:
            out.append(Finding("fail", f"node {_base(node)} (cluster.nodes) is missing from "
                                   "CONTACTCENTER_AGI_NODES: it never gets a call when it leads",
                                   have.where))
    settings_keys = {node_key(n) for n in nodes}
    for url in have.urls:
        key = node_key(url)
        if key is not None and key not in settings_keys and \
                ("agi", key[1], key[2]) not in settings_keys:
            out.append(Finding("warn", f"CONTACTCENTER_AGI_NODES lists {url}, which is not "
                                   "in cluster.nodes (each try of it costs a refused connection, "
                                   "or 2 s if the host is down)", have.where))
    if not any(f.level != "ok" for f in out):
        out.append(Finding("ok", f"the dialplan tries every configured node: {listed}",
                               have.where))
    return out


def _base(url: str) -> str:
    key = node_key(url)
    return f"{key[0]}://{key[1]}:{key[2]}" if key else url
