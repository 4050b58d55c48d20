"""The doctor's checks: pure functions from parsed Asterisk config + our settings to findings."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from contactcenter.config.schema import Settings
from contactcenter.doctor.agi_nodes import (
    DEFAULT_NODE,
    check_agi_nodes,
    dialplan_nodes,
    node_key,
)
from contactcenter.doctor.asterisk_conf import AsteriskConf
from contactcenter.doctor.finding import Finding
from contactcenter.telephony.ami.event_filters import UNUSED_EVENTS
from contactcenter.voice.answer_stamp import ANSWERED_CONTEXT
from contactcenter.voice.answer_stamp import VARIABLE as ANSWER_STAMP
from contactcenter.voice.queue import OFFER_SUBROUTINE

# Classes the server needs (see dialplan/manager_contactcenter.conf for why each is there).
NEEDED_READ = {"call", "dtmf"}
NEEDED_WRITE = {"call", "originate", "reporting"}
# Classes that would let a leaked secret run shell commands or rewrite config files.
FORBIDDEN = {"system", "command", "config", "all"}


def _classes(value: str) -> set[str]:
    return {c.strip().lower() for c in value.split(",") if c.strip()}


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(value.strip().replace(" ", ""), strict=False)
    except ValueError:
        return None


_EXCLUDED = re.compile(r"eventfilter\((?=[^=]*action\(exclude\))[^=]*name\((\w+)\)")


def _inside(net: ipaddress.IPv4Network | ipaddress.IPv6Network,
            outer: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """``net`` lies within ``outer`` (networks of different IP versions never do)."""
    if isinstance(net, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return net.subnet_of(outer)
    if isinstance(net, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return net.subnet_of(outer)
    return False


def _event_filter_findings(user: str, items: list, where: str) -> list[Finding]:
    excluded = {m.group(1) for i in items if (m := _EXCLUDED.match(i.name.replace(" ", "")))}
    missing = [name for name in UNUSED_EVENTS if name not in excluded]
    if not missing:
        return [Finding("ok", f"[{user}] eventfilter drops the events the server ignores", where)]
    return [Finding("warn", f"[{user}] no eventfilter for {', '.join(missing)}: the PBX sends "
                    "these events and the server ignores them (add the eventfilter lines of "
                    "dialplan/manager_contactcenter.conf; Asterisk 20.7 / 21.2 and later)", where)]


def check_manager(conf: AsteriskConf, settings: Settings, allowed: list[str]) -> list[Finding]:
    """Our AMI users exist, with the classes we need, none we refuse, and a narrow permit."""
    out: list[Finding] = [Finding("fail", e) for e in conf.errors]
    enabled = conf.get("general", "enabled")
    if enabled is None or enabled.value.lower() not in {"yes", "true", "1", "on"}:
        out.append(Finding("fail", "AMI is not enabled ([general] enabled = yes)",
                           f"{enabled.file}:{enabled.line}" if enabled else ""))
    users = settings.asterisk or []
    if not users:
        out.append(Finding("warn", "no asterisk: PBX configured in our settings; nothing to match"))
    allowed_nets = [n for n in (_network(a) for a in allowed) if n is not None]
    for pbx in users:
        items = conf.section(pbx.username)
        if not items:
            out.append(Finding("fail", f"AMI user [{pbx.username}] (PBX {pbx.name}) not found"))
            continue
        where = f"{items[0].file}:{items[0].line - 1}"
        secret = conf.get(pbx.username, "secret")
        if secret is None or (pbx.secret and secret.value != pbx.secret):
            out.append(Finding("fail", f"[{pbx.username}] secret differs from our settings", where))
        for kind, needed in (("read", NEEDED_READ), ("write", NEEDED_WRITE)):
            item = conf.get(pbx.username, kind)
            got = _classes(item.value) if item else set()
            loc = f"{item.file}:{item.line}" if item else where
            bad = sorted(got & FORBIDDEN)
            if bad:
                out.append(Finding("fail", f"[{pbx.username}] {kind} grants {', '.join(bad)}: "
                                   "remove them (least privilege)", loc))
            missing = sorted(needed - got)
            if missing and "all" not in got:
                out.append(Finding("fail", f"[{pbx.username}] {kind} lacks {', '.join(missing)}", loc))
            unused = sorted(got - needed - FORBIDDEN) if kind == "read" else []
            if unused:
                out.append(Finding("warn", f"[{pbx.username}] read grants {', '.join(unused)}: "
                                   "the server ignores these events, and the PBX and the server "
                                   "both pay for each one (dialplan alone doubles the events)", loc))
            elif not bad and not missing:
                out.append(Finding("ok", f"[{pbx.username}] {kind} = {', '.join(sorted(got))}", loc))
        out.extend(_event_filter_findings(pbx.username, items, where))
        permits = [i for i in items if i.name.lower() == "permit"]
        if not permits:
            out.append(Finding("fail", f"[{pbx.username}] has no permit line: any host may log in",
                               where))
        for p in permits:
            net = _network(p.value)
            loc = f"{p.file}:{p.line}"
            if net is None:
                out.append(Finding("fail", f"[{pbx.username}] permit {p.value!r} is not a network", loc))
            elif net.is_loopback or any(_inside(net, a) for a in allowed_nets):
                out.append(Finding("ok", f"[{pbx.username}] permit {net}", loc))
            else:
                out.append(Finding("fail", f"[{pbx.username}] permit {net} is neither loopback nor "
                                   "in --allow", loc))
    return out


_AGI = re.compile(r"AGI\(([^,)]*)", re.IGNORECASE)
_VAR = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def _expand(text: str, globals_: dict[str, str]) -> str:
    return _VAR.sub(lambda m: globals_.get(m.group(1), m.group(0)), text)


def check_dialplan(conf: AsteriskConf, settings: Settings,
                   nodes: list[str] | None = None) -> list[Finding]:
    """Some dialplan hands calls to our FastAGI address (after expanding the globals and the
    node list), and that list has every node of ``nodes`` (the servers' FastAGI URLs; None or
    one: a single server)."""
    out: list[Finding] = [Finding("fail", e) for e in conf.errors]
    globals_ = {i.name: i.value for i in conf.section("globals")}
    globals_.setdefault("CONTACTCENTER_AGI", DEFAULT_NODE)  # AGI(${CONTACTCENTER_AGI}/..) lines
    node_list = dialplan_nodes(conf).urls
    peers = {key for n in nodes or [] if (key := node_key(n)) is not None}
    ours = (settings.fastagi.host, settings.fastagi.port)
    hits: list[tuple[str, str, str]] = []
    others: list[tuple[str, str, str]] = []
    peer_hits: list[tuple[str, str, str]] = []  # another server of cluster.nodes
    for item in conf.items:
        if item.name.lower() not in {"exten", "same"}:
            continue
        for m in _AGI.finditer(item.value):
            arg = m.group(1)
            urls = ([arg.replace("${CC_AGI_URL}", node) for node in node_list]
                    if "${CC_AGI_URL}" in arg else [arg])
            for target in (_expand(u, globals_) for u in urls):
                url = urlsplit(target)
                if url.scheme not in ("agi", "hagi"):
                    continue
                host, port = url.hostname or "", url.port or 4573
                loc = f"{item.file}:{item.line}"
                same_host = ours[0] in {"0.0.0.0", "::", host} or host in {
                    "127.0.0.1", "localhost"} and ours[0] in {"127.0.0.1", "localhost"}
                peer = (url.scheme, host.lower(), port) in peers or \
                    ("agi", host.lower(), port) in peers
                if same_host and port == ours[1]:
                    hits.append((target, loc, item.section))
                else:
                    (peer_hits if peer else others).append((target, loc, item.section))
    for target, loc, section in hits:
        out.append(Finding("ok", f"[{section}] hands calls to {target}", loc))
    for target, loc, section in peer_hits:
        out.append(Finding("ok", f"[{section}] hands calls to {target} (another node)", loc))
    for target, loc, section in others:
        out.append(Finding("warn", f"[{section}] AGI to {target}, not our FastAGI "
                           f"{ours[0]}:{ours[1]}", loc))
    if not hits:
        out.append(Finding("fail", f"no dialplan hands calls to our FastAGI {ours[0]}:{ours[1]}; "
                           "#include dialplan/extensions_contactcenter.conf"))
    out.extend(check_agi_nodes(conf, nodes or []))
    out.append(_offer_subroutine(conf))
    out.append(_answered_subroutine(conf))
    return out


def _offer_subroutine(conf: AsteriskConf) -> Finding:
    """The subroutine every Dial to an agent runs on the caller (voice/queue.py)."""
    context, exten = OFFER_SUBROUTINE
    for item in conf.section(context):
        if item.name.lower() == "exten" and item.value.replace(" ", "").startswith(f"{exten},"):
            loc = f"{item.file}:{item.line}"
            if all(name in item.value for name in ("CC_RESUME=1", "CC_OFFER=${ARG3}")):
                return Finding("ok", f"[{context}] {exten} marks callers dialled to an agent", loc)
            return Finding("warn", f"[{context}] {exten} does not set CC_RESUME=1 and "
                           "CC_OFFER=${ARG3}: copy it from dialplan/extensions_contactcenter.conf",
                           loc)
    return Finding("warn", f"no [{context}] {exten} subroutine: Dial(...,B({context}^{exten}^1(..))) "
                   "finds nothing, so a caller whose agent is ringing when the server restarts is "
                   "hung up; update extensions_contactcenter.conf from dialplan/")


def _answered_subroutine(conf: AsteriskConf) -> Finding:
    """The subroutine every Dial to an agent runs on the agent's answered leg (option U,
    voice/answer_stamp.py): without it an answer made while no server listened counts from
    when a restarted server found it."""
    needed = f"SHARED({ANSWER_STAMP},${{ARG1}})=${{ARG2}}@"
    for item in conf.section(ANSWERED_CONTEXT):
        if item.name.lower() == "exten" and item.value.replace(" ", "").startswith("s,1,"):
            loc = f"{item.file}:{item.line}"
            if needed in item.value.replace(" ", ""):
                return Finding("ok", f"[{ANSWERED_CONTEXT}] s stamps the agent's answer on the "
                               "caller", loc)
            return Finding("warn", f"[{ANSWERED_CONTEXT}] s does not set {needed}<time>: copy "
                           "it from dialplan/extensions_contactcenter.conf", loc)
    return Finding("warn", f"no [{ANSWERED_CONTEXT}] s subroutine: Dial(...,U({ANSWERED_CONTEXT}^..)) "
                   "finds nothing, so a call whose agent answers while the server restarts is "
                   "counted as answered when the new server finds it (its wait too long, its talk "
                   "too short); update extensions_contactcenter.conf from dialplan/")
