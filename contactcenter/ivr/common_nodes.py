"""The nodes that run the same on a call and in a chat: they only read variables and the time.

``FlowRunner`` (voice) and ``TextFlowRunner`` (chat) both mix this in; each provides ``_eval``,
``clock`` and ``lookups``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from contactcenter.ivr import model as m
from contactcenter.ivr.expressions import Expr, truthy
from contactcenter.ivr.hours import hours_state
from contactcenter.ivr.ports import LookupResult


class CommonNodes:
    """``branch`` and ``hours``, for any runner."""

    clock: Any  # the runner's own clock type; ``time()`` and ``real()`` are read here
    lookups: Any  # a LookupPort

    def _eval(self, expr: Expr) -> Any:
        raise NotImplementedError

    async def _BranchNode(self, flow: m.Flow, n: m.BranchNode, detail: dict) -> str:
        for i, case in enumerate(n.cases):
            if truthy(self._eval(case.condition)):
                detail["case"] = i
                return case.goto
        detail["case"] = "else"
        return n.otherwise

    async def _HoursNode(self, flow: m.Flow, n: m.HoursNode, detail: dict) -> str:
        state = detail["state"] = hours_state(n, self.clock.time())
        return {"open": n.open, "closed": n.closed, "holiday": n.holiday}[state]

    async def _lookup_one(self, source: str, key: str, timeout_s: float) -> LookupResult:
        """One lookup within ``timeout_s`` clock seconds; a failure is a result, not an error
        (a failing CRM is an expected condition: the flow has a branch for it)."""
        try:
            async with asyncio.timeout(self.clock.real(timeout_s)):
                result: LookupResult = await self.lookups.lookup(source, key)
                return result
        except TimeoutError:
            return LookupResult(False, {}, source, "timeout")
        except Exception as exc:  # noqa: BLE001 - see above
            self._lookup_failed(source, exc)
            return LookupResult(False, {}, source, f"{type(exc).__name__}: {exc}")

    def _lookup_failed(self, source: str, exc: Exception) -> None:
        """A hook for the runner's log."""
