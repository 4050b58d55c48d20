"""Example counts and hypothesis settings shared by the fuzz targets.

FAST runs in the main suite (a couple of seconds per target); SLOW is the CI figure the
reliability program promises: at least 10,000 generated inputs per target per run. A hang
shows up as the test's pytest-timeout, never as a timing assertion.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

FAST_EXAMPLES = 200
SLOW_EXAMPLES = 10_000

_COMMON = {
    "deadline": None,
    "database": None,  # no example database on a machine several people share
    # no "explain" phase: its line tracer makes a failing run ten times slower to report
    "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                              HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
}

FAST = settings(max_examples=FAST_EXAMPLES, **_COMMON)  # type: ignore[arg-type]
SLOW = settings(max_examples=SLOW_EXAMPLES, **_COMMON)  # type: ignore[arg-type]
