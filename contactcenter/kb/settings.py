"""The ``kb:`` section of the server config.

Example::

    kb:
      locales: [en, fr]             # the help center's languages; the first is the default
      help_center: true             # serve the public pages at /help (false: only the API)
      title: Help center            # the pages' heading
      fuzzy_cutoff: 80              # 0..100: how close a misspelt word must be to a title word
      suggestions: 5                # how many articles agent assist proposes at most
      votes_per_hour: 20            # help-center votes one address may add in an hour
      gaps_per_hour: 20             # content gaps one address's searches may count in an hour
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

LOCALE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")


@dataclass(frozen=True)
class KbSettings:
    """The knowledge base and its help center (docs/kb.md)."""

    locales: list[str] = field(default_factory=lambda: ["en"])
    help_center: bool = True
    title: str = "Help center"
    fuzzy_cutoff: int = 80
    suggestions: int = 5
    votes_per_hour: int = 20
    gaps_per_hour: int = 20

    def __post_init__(self) -> None:
        if not self.locales:
            raise ValueError("kb.locales must name at least one locale")
        bad = [loc for loc in self.locales if not LOCALE.match(loc)]
        if bad:
            raise ValueError(f"kb.locales: {', '.join(bad)} is not a locale such as en or pt-br "
                             "(lowercase)")
        if len(set(self.locales)) != len(self.locales):
            raise ValueError("kb.locales names a locale twice")
        if not 1 <= len(self.title) <= 100:
            raise ValueError("kb.title must be 1 to 100 characters")
        if not 50 <= self.fuzzy_cutoff <= 100:
            raise ValueError(f"kb.fuzzy_cutoff {self.fuzzy_cutoff} is outside 50..100")
        if not 1 <= self.suggestions <= 20:
            raise ValueError(f"kb.suggestions {self.suggestions} is outside 1..20")
        for name in ("votes_per_hour", "gaps_per_hour"):
            if not 1 <= getattr(self, name) <= 100_000:
                raise ValueError(f"kb.{name} {getattr(self, name)} is outside 1..100000")

    @property
    def default_locale(self) -> str:
        """The help center's first language (``/help`` leads there)."""
        return self.locales[0]
