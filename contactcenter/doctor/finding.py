"""One line of the doctor's report."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the report: ok / warn / fail, what, and where."""

    level: str
    message: str
    where: str = ""
