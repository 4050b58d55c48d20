"""Finished IVR sessions made by hand for the IVR reports' tests."""

from __future__ import annotations

from contactcenter.ivr.ports import IvrResult, Step


def session(call: str, flow: str, path: list[str], outcome: str, at: float,
            error: str | None = None, kinds: dict[str, str] | None = None) -> IvrResult:
    """A finished session: one node entered per second from ``at`` (``kinds``: node -> its
    kind, ``play`` by default)."""
    kinds = kinds or {}
    steps = tuple(Step(flow, n.rpartition(":")[2], kinds.get(n, "play"), at + i + 1)
                  for i, n in enumerate(path))
    return IvrResult(call, flow, "v1", outcome, tuple(path), {}, steps, error, at,
                     at + len(path), tuple(at + i for i in range(len(path))))
