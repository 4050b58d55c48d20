"""``contactcenter serve`` on the test's clock: the server process the kill -9 tests SIGKILL.

It binds its settings exactly as ``serve`` does (the repository's file, ``CC_*`` variables over
it) and runs ``run_until_signalled``; the one difference is its ``Clock``: the test passes its
own clock's speed and origin in ``CC_TEST_CLOCK`` (``speed,monotonic origin,wall origin``), so
the simulator in the test, the killed server and its successor share one sped-up timeline
(``time.monotonic`` is the machine's, the same in every process).

With ``--on-stdin`` it imports everything, says so (``READY``) and waits for a line on stdin
before it starts the server: the test readies the next process while the first one runs, so
that the restart costs the server's start, not seconds of imports on a loaded machine (a caller
the server left in a queue is retried by the dialplan for 60 s only).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

from contactcenter.app import ContactCenter, run_until_signalled
from contactcenter.cli import command_settings
from contactcenter.domain.clock import Clock


def shared_clock(spec: str) -> Clock:
    """The clock described by ``CC_TEST_CLOCK``: the same timeline as the test's."""
    speed, mono0, wall0 = (float(x) for x in spec.split(","))
    clock = Clock(speed=speed)
    clock._mono0, clock._wall0 = mono0, wall0  # the parent's origin, not this process's start
    return clock


def clock_spec(clock: Clock) -> str:
    """What to put in ``CC_TEST_CLOCK`` for a child to share ``clock``."""
    return f"{clock.speed!r},{clock._mono0!r},{clock._wall0!r}"


READY = "kill9_serve: imported, waiting for a line on stdin"


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--on-stdin"]
    settings = command_settings(args[0] if args else None)
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = ContactCenter(settings, clock=shared_clock(os.environ["CC_TEST_CLOCK"]))
    if "--on-stdin" in sys.argv:
        print(READY, flush=True)
        sys.stdin.readline()
    return asyncio.run(run_until_signalled(server))


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[2])  # as `serve` run from the repository
    raise SystemExit(main())
