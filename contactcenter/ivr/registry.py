"""Loaded flow versions, atomic swaps on file changes, and the choice of flow for a call.

Design: the registry holds one immutable mapping ``name -> Flow``. A reload builds a complete
new mapping and replaces the reference in one assignment, so a call that took ``snapshot()``
keeps running the versions it started with (its subflows included), and a new call sees either
all of a reload or none of it. A file that fails validation is refused: its previous version (if
any) keeps serving, its errors stay in ``errors[path]`` and ``reload_errors_total`` counts the
refusals, until a valid edit clears them. Changes are found by polling (mtime + size, then a
content hash to ignore touches) so no extra dependency is needed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from contactcenter.common.yamlfile import SourceErrors
from contactcenter.ivr.loader import (
    RoutingNames,
    check_routing_refs,
    check_subflows,
    is_flow_file,
    load_flow_text,
    read_flow_file,
)
from contactcenter.ivr.model import Flow
from contactcenter.ivr.settings import IvrSettings
from contactcenter.telephony.agi.api import AgiEnvironment

log = logging.getLogger("contactcenter.ivr.registry")


@dataclass(frozen=True, slots=True)
class _Seen:
    mtime_ns: int
    size: int
    digest: str


class FlowRegistry:
    """The flows of one ``flows_dir``; ``poll()`` picks up edits, ``watch()`` polls forever."""

    def __init__(self, settings: IvrSettings,
                 routing_names: Callable[[], RoutingNames] | None = None) -> None:
        self.settings = settings
        # Queues and skills the engine knows now (the composition root passes it in): queue
        # nodes naming others are reported in ``warnings``, by file, with file:line.
        self.routing_names = routing_names
        self.warnings: dict[str, list[str]] = {}
        self.flows_dir = Path(settings.flows_dir)
        self._flows: Mapping[str, Flow] = MappingProxyType({})
        self._seen: dict[Path, _Seen] = {}
        self.errors: dict[str, list[str]] = {}
        self.reload_errors_total = 0
        self.reloads_total = 0

    # --- reading ------------------------------------------------------------------------

    def snapshot(self) -> Mapping[str, Flow]:
        """The current versions, frozen: keep it for the whole call."""
        return self._flows

    def get(self, name: str) -> Flow | None:
        """The current version of flow ``name``."""
        return self._flows.get(name)

    def choose(self, env: AgiEnvironment) -> str:
        """Which flow a call runs: ?flow=, else the first script argument, else the dialled
        number's mapping, else the default flow."""
        if env.query.get("flow"):
            return env.query["flow"]
        if env.args and env.args[0]:
            return env.args[0]
        for number in (env.dnid, env.extension):
            if number and number in self.settings.numbers:
                return self.settings.numbers[number]
        return self.settings.default_flow

    # --- loading --------------------------------------------------------------------------

    def poll(self) -> list[str]:
        """Look for added, changed and removed files once; returns the names swapped in."""
        try:
            files = sorted(p for p in self.flows_dir.iterdir() if p.is_file() and is_flow_file(p))
        except OSError as exc:
            self._record(str(self.flows_dir), [f"{self.flows_dir}: cannot list: {exc.strerror}"])
            return []
        candidates: dict[str, Flow] = dict(self._flows)
        changed: list[str] = []
        refused: set[str] = set()
        present = set(files)
        for path in files:
            seen = self._stat(path)
            if seen is None or self._seen.get(path) == seen:
                continue
            old = self._seen.get(path)
            self._seen[path] = seen
            if old is not None and old.digest == seen.digest:
                continue
            try:
                text, file = read_flow_file(path)
                flow = load_flow_text(text, file)
            except SourceErrors as exc:
                self._record(str(path), [str(e) for e in exc.errors])
                refused.add(str(path))
                continue
            candidates[flow.name] = flow
            changed.append(flow.name)
            self.errors.pop(str(path), None)
        for path in [p for p in self._seen if p not in present]:
            del self._seen[path]
            self.errors.pop(str(path), None)
            name = path.name.removesuffix(".yaml")
            if name in candidates:
                del candidates[name]
                changed.append(name)
        # A changed flow naming a subflow that is not loaded is refused like an invalid file.
        for name, errs in check_subflows(candidates).items():
            self._record(candidates[name].path, [str(e) for e in errs])
            if name in changed:
                changed.remove(name)
                self._seen.pop(Path(candidates[name].path), None)  # retry on the next poll
                previous = self._flows.get(name)
                if previous is None:
                    del candidates[name]
                else:
                    candidates[name] = previous
        if changed:
            self._flows = MappingProxyType(candidates)
            self.check_references()
            self.reloads_total += 1
            for name in changed:
                now_loaded = candidates.get(name)
                log.info("ivr flow %s %s", name,
                         f"loaded, version {now_loaded.version}" if now_loaded else "removed")
        return changed

    def check_references(self) -> None:
        """Recompute ``warnings`` (after a reload, and when the routing configuration changes)."""
        if self.routing_names is None:
            return
        found = check_routing_refs(self._flows, self.routing_names())
        warnings = {self._flows[name].path: [str(e) for e in errs] for name, errs in found.items()}
        for path, msgs in warnings.items():
            if self.warnings.get(path) != msgs:
                for msg in msgs:
                    log.warning("ivr flow %s", msg)
        self.warnings = warnings

    def _stat(self, path: Path) -> _Seen | None:
        try:
            st = path.stat()
            old = self._seen.get(path)
            if old is not None and (old.mtime_ns, old.size) == (st.st_mtime_ns, st.st_size):
                return old
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return None
        return _Seen(st.st_mtime_ns, st.st_size, digest)

    def _record(self, path: str, errors: list[str]) -> None:
        if self.errors.get(path) != errors:
            self.reload_errors_total += 1
            for e in errors:
                log.error("ivr flow refused: %s", e)
        self.errors[path] = errors

    async def watch(self) -> None:
        """Poll ``flows_dir`` every ``reload_interval_s`` (real seconds) until cancelled."""
        while True:
            try:
                self.poll()
            except Exception:  # the watcher must survive anything (a vanished dir, ...)
                log.exception("ivr flow watcher failed")
            await asyncio.sleep(self.settings.reload_interval_s)
