"""Skills and skill requirements: names, levels, and the canonical form the router indexes.

A requirement is a sorted tuple of ``(skill, minimum level)`` pairs so that equal requirements
hash and compare equal; the router groups waiting interactions by it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

MIN_LEVEL = 1
MAX_LEVEL = 10
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")

Requirement = tuple[tuple[str, int], ...]


def check_skill_name(name: object) -> str:
    """Return ``name`` if it is a valid skill name (lower-case word), else raise ValueError."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"invalid skill name {name!r} (lower-case letters, digits, _ . -)")
    return name


def check_level(level: object) -> int:
    """Return ``level`` if it is an int in MIN_LEVEL..MAX_LEVEL, else raise ValueError."""
    if isinstance(level, bool) or not isinstance(level, int) or not MIN_LEVEL <= level <= MAX_LEVEL:
        raise ValueError(f"skill level must be an integer {MIN_LEVEL}..{MAX_LEVEL}, got {level!r}")
    return level


def check_skills(skills: Mapping[str, int]) -> dict[str, int]:
    """Validate a ``{skill: level}`` mapping and return a plain copy."""
    return {check_skill_name(k): check_level(v) for k, v in skills.items()}


def requirement(*parts: Mapping[str, int]) -> Requirement:
    """Merge skill mappings (highest minimum wins) into the canonical requirement tuple."""
    merged: dict[str, int] = {}
    for part in parts:
        for skill, level in part.items():
            if level > merged.get(skill, 0):
                merged[skill] = level
    return tuple(sorted(merged.items()))


def relax(req: Requirement, lower_by: int, drop: Iterable[str] = ()) -> Requirement:
    """``req`` with listed skills removed and every minimum lowered by ``lower_by`` (floor 1)."""
    dropped = set(drop)
    return tuple(
        (skill, max(MIN_LEVEL, level - lower_by)) for skill, level in req if skill not in dropped
    )


def satisfies(skills: Mapping[str, int], req: Requirement) -> bool:
    """True when ``skills`` meet every minimum level of ``req``."""
    get = skills.get
    for skill, level in req:
        if get(skill, 0) < level:
            return False
    return True
