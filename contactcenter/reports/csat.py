"""The CSAT figures of the tickets and chats reports (docs/reports.md, CSAT): one definition
for both channels.

Design note. An answer is a score 1..5 (5 best). The **CSAT score** is the share of answers
of 4 or 5 (satisfied) among all answers, with the average score beside it; the **response
rate** is answers to surveys over surveys offered. Each channel counts its own surveys and
answers (a ticket's survey mailed, a chat's form shown to a visitor still connected at the
end); this module only turns the sums into the figures, so the two reports cannot drift.
"""

from __future__ import annotations

from typing import Any

SATISFIED = 4  # this score and above count as satisfied
CSAT_COLUMNS = ("surveys", "csat_response_pct", "ratings", "ratings_satisfied", "csat_pct",
                "csat_avg")


def _share(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) + 0.0 if whole else None


def csat_figures(answered: float, surveys: float, ratings: float, satisfied: float,
                 points: float) -> dict[str, Any]:
    """``CSAT_COLUMNS`` from the sums: surveys offered and answered, answers, answers of 4-5
    and the sum of the scores (None where a share has nothing to divide by)."""
    return {
        "surveys": int(surveys),
        "csat_response_pct": _share(answered, surveys),
        "ratings": int(ratings), "ratings_satisfied": int(satisfied),
        "csat_pct": _share(satisfied, ratings),
        "csat_avg": round(points / ratings, 2) + 0.0 if ratings else None,
    }
