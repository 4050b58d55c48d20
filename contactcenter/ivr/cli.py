"""``contactcenter flows check|test [PATH...]``: validate flows and run their offline tests.

Both commands take files or directories (default ``ivr_flows``), print one ``file:line:col:
message`` per problem and return 0 when everything is fine, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, TextIO

from contactcenter.common.yamlfile import SourceErrors
from contactcenter.ivr.flowtest import load_cases, run_case
from contactcenter.ivr.loader import (
    TEST_SUFFIX,
    check_subflows,
    flow_files,
    flow_name,
    load_flow,
    read_flow_file,
)
from contactcenter.ivr.model import Flow, SayNode
from contactcenter.ivr.settings import IvrSettings
from contactcenter.ivr.tts import installed_voices, voice_installed

DEFAULT_PATH = "ivr_flows"


def _load_all(paths: list[str], out: TextIO) -> tuple[dict[str, Flow], int]:
    """Load every flow under ``paths``; print errors; return (flows by name, error count)."""
    flows: dict[str, Flow] = {}
    errors = 0
    found = flow_files(list(paths or [DEFAULT_PATH]))  # list(): a list[str | Path] for mypy
    files = [f for f in found if not f.name.endswith(TEST_SUFFIX)]
    if not files:
        print(f"no flow files found in {' '.join(paths or [DEFAULT_PATH])}", file=out)
        return flows, 1
    for f in files:
        try:
            flow = load_flow(f)
        except SourceErrors as exc:
            for e in exc.errors:
                print(str(e), file=out)
            errors += len(exc.errors)
            continue
        flows[flow.name] = flow
    for errs in check_subflows(flows).values():
        for e in errs:
            print(str(e), file=out)
        errors += len(errs)
    return flows, errors


def _test_files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths or [DEFAULT_PATH]):
        if p.is_dir():
            out.extend(sorted(p.glob("*" + TEST_SUFFIX)))
        elif p.name.endswith(TEST_SUFFIX):
            out.append(p)
        elif p.with_name(flow_name(p) + TEST_SUFFIX).exists():
            out.append(p.with_name(flow_name(p) + TEST_SUFFIX))
    return out


def speech_warnings(flows: dict[str, Flow], settings: IvrSettings) -> list[str]:
    """``file:line:col: warning: ...`` for each ``say`` text whose voice the engine lacks."""
    nodes = [(f, n) for f in flows.values() for n in f.nodes.values()
             if isinstance(n, SayNode) and n.mode == "text"]
    if not nodes:
        return []
    known = installed_voices(settings.tts.engine)
    if known is None:
        return [f"{n.mark}: warning: {settings.tts.engine} is not installed: this node plays "
                "its fallback prompt" for _, n in nodes]
    return [f"{n.mark}: warning: voice {n.voice or settings.tts.voice!r} is not installed "
            f"in {settings.tts.engine}: this node plays its fallback prompt" for _, n in nodes
            if not voice_installed(n.voice or settings.tts.voice, known)]


def flows_check(paths: list[str], out: TextIO = sys.stdout,
                settings: IvrSettings | None = None) -> int:
    """Validate flows (and their test files); 0 when all are valid (warnings do not count)."""
    flows, errors = _load_all(paths, out)
    for warning in speech_warnings(flows, settings or IvrSettings()):
        print(warning, file=out)
    for tf in _test_files(paths):
        try:
            text, file = read_flow_file(tf)
            load_cases(text, file)
        except SourceErrors as exc:
            for e in exc.errors:
                print(str(e), file=out)
            errors += len(exc.errors)
    if errors:
        print(f"{errors} error(s)", file=out)
        return 1
    print(f"ok: {len(flows)} flow(s) valid", file=out)
    return 0


async def _run_tests(paths: list[str], out: TextIO, settings: IvrSettings) -> int:
    dirs = {str(Path(p).parent if Path(p).is_file() else p) for p in paths or [DEFAULT_PATH]}
    flows, errors = _load_all(sorted(dirs), out)
    passed = failed = 0
    test_files = _test_files(paths)
    if not test_files:
        print("no test files (<flow>.test.yaml) found", file=out)
        return 1
    for tf in test_files:
        try:
            text, file = read_flow_file(tf)
            target, cases = load_cases(text, file)
        except SourceErrors as exc:
            for e in exc.errors:
                print(str(e), file=out)
            errors += len(exc.errors)
            continue
        name = target or flow_name(tf.name[: -len(TEST_SUFFIX)] + ".yaml")
        flow = flows.get(name)
        if flow is None:
            print(f"{tf}:1:1: flow {name!r} is not loaded (missing or invalid)", file=out)
            errors += 1
            continue
        for case in cases:
            res = await run_case(case, flow, flows, settings)
            if res.ok:
                passed += 1
                print(f"PASS {case.mark.file}:{case.mark.line}: {case.name}", file=out)
            else:
                failed += 1
                print(f"FAIL {case.mark.file}:{case.mark.line}: {case.name}", file=out)
                for f in res.failures:
                    print(f"  {case.mark.file}:{case.mark.line}: {f}", file=out)
    print(f"{passed} passed, {failed} failed, {errors} error(s)", file=out)
    return 0 if not failed and not errors else 1


def flows_test(paths: list[str], out: TextIO = sys.stdout,
               settings: IvrSettings | None = None) -> int:
    """Run the offline test cases kept next to the flows; 0 when all pass."""
    return asyncio.run(_run_tests(paths, out, settings or IvrSettings()))


def add_flow_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``flows check`` and ``flows test``; each sets ``func(args) -> exit code``."""
    flows = subparsers.add_parser("flows", help="validate and test IVR flows")
    sub = flows.add_subparsers(dest="flows_command", required=True)
    check = sub.add_parser("check", help="validate flow files (file:line errors)")
    check.add_argument("paths", nargs="*", metavar="PATH", help=f"files or dirs ({DEFAULT_PATH})")
    check.set_defaults(func=lambda a: flows_check(a.paths))
    test = sub.add_parser("test", help="run flow test cases offline, without Asterisk")
    test.add_argument("paths", nargs="*", metavar="PATH", help=f"files or dirs ({DEFAULT_PATH})")
    test.set_defaults(func=lambda a: flows_test(a.paths))
    return flows


def main_flows(argv: list[str]) -> int:
    """Entry point for ``flows ...`` alone: ``main_flows(["check", "ivr_flows"])``."""
    parser = argparse.ArgumentParser(prog="contactcenter")
    add_flow_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["flows", *argv])
    return int(args.func(args))
