"""AMI drop storm: simulated calls through the real server while the AMI link is cut again and again.

Usage: python bench/ami_storm.py [--calls 200] [--drops 50] [--seed 20] [--speed 10]

The storm and its checks (lost and ghost calls) are tests/faults/ami_storm.py, shared with
tests/faults/test_ami_storm.py. Results go to bench/results/faults.md (the AMI section; the
SQLite section, from bench/kill_cycles.py, is kept).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "faults"))  # the storm, shared with the tests

from ami_storm import StormResult, storm
from results_section import replace_section

RESULTS = ROOT / "bench" / "results" / "faults.md"
START, END = "<!-- ami_storm -->", "<!-- /ami_storm -->"


def section(r: StormResult, args: argparse.Namespace) -> str:
    """The AMI part of faults.md."""
    ok = not r.lost and not r.ghosts and r.drops == args.drops
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r.outcomes.items()))
    lines = [
        START,
        "## AMI drop storm",
        "",
        (f"`python bench/ami_storm.py --calls {args.calls} --drops {args.drops} --seed "
         f"{args.seed} --speed {args.speed:g}` - the PBX simulator and the real server "
         f"(SQLite file) in one process on one clock at x{args.speed:g}, 10 agents with "
         "simulated phones, callers through the demo menu (sales, support with an account "
         "number, billing, operator), 10% of them impatient (they hang up by script after "
         "10-120 s). Each drop waits for the link to be up, then 0-12 clock s, then closes "
         "every AMI session (half after half an event, half with a reset); the server "
         f"reconnects with its own backoff and resyncs. Python {platform.python_version()}, "
         f"{platform.machine()}."),
        "",
        "| figure | value |",
        "|---|---:|",
        f"| calls | {r.calls} |",
        f"| AMI drops (live session closed) | {r.drops} ({r.drops_mid_message} mid-message) |",
        f"| reconnects / resyncs by the server | {r.reconnects} / {r.resyncs} |",
        f"| served (connect + complete, bridged on the PBX) | {r.served} |",
        (f"| abandoned, caller hung up by script | {r.abandoned_by_script} "
        f"(of {r.impatient} impatient) |"),
        f"| **lost calls** | **{len(r.lost)}** |",
        f"| **ghost calls after the final resync** | **{len(r.ghosts)}** |",
        (f"| channels a resync found gone (Hangup missed while down) | "
        f"{r.resync_channels_ended} |"),
        f"| ring-no-answer offers (every phone answers in 1-3 s) | {r.ring_no_answer} |",
        f"| clock seconds / wall seconds | {r.clock_seconds:.0f} / {r.seconds:.0f} |",
        "",
        f"PBX outcomes: {outcomes}.",
        "",
        (f"**Result**: {'0 lost and 0 ghost calls' if ok else 'FAILED'} over {r.calls} calls "
         f"and {r.drops} drops."),
    ]
    for what, items in (("Lost", r.lost), ("Ghosts", r.ghosts)):
        if items:
            lines += ["", f"{what}:", *(f"- {x}" for x in items[:50])]
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_results(text: str) -> None:
    """Replace this script's section of faults.md, keeping the rest."""
    replace_section(RESULTS, START, END, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--drops", type=int, default=50)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--no-write", action="store_true", help="print, do not write results")
    args = parser.parse_args()
    with TemporaryDirectory() as tmp:
        result = asyncio.run(storm(Path(tmp), calls=args.calls, drops=args.drops,
                                   seed=args.seed, speed=args.speed))
    text = section(result, args)
    print(text)
    if not args.no_write:
        write_results(text)
    return 0 if not result.lost and not result.ghosts and result.drops == args.drops else 1


if __name__ == "__main__":
    sys.exit(main())
