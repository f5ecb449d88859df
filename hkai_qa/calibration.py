"""Fitting the abstention threshold: when is the best hit too weak to answer?

The rule is one number per retrieval mode: a question is answerable when its
best hit's `score` reaches the threshold. Wrongly hiding an answer costs more
than showing weak passages (which are shown anyway, marked), so the fit keeps
at least 95% of the answerable questions and, within that, flags as many
out-of-scope questions as it can. Among equally good thresholds it takes the
middle of their range, so small score shifts do not flip decisions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MAX_WRONGLY_FLAGGED = 0.05


@dataclass(frozen=True)
class Calibration:
    """A fitted threshold and how it does on the questions it was fitted on."""

    threshold: float
    answerable_kept: float
    unanswerable_flagged: float
    n_answerable: int
    n_unanswerable: int


def fit_threshold(
    answerable: Sequence[float], unanswerable: Sequence[float], max_wrongly_flagged: float = MAX_WRONGLY_FLAGGED
) -> Calibration:
    """The threshold flagging most unanswerable questions while flagging at most `max_wrongly_flagged` answerable."""
    if not answerable or not unanswerable:
        raise ValueError("calibration needs both answerable and unanswerable questions (answerable: false).")
    # -inf marks a question another rule (the answer type) flags whatever the threshold.
    points = sorted(s for s in set(answerable) | set(unanswerable) if s > -math.inf) or [0.0]
    candidates = [points[0] - 1e-6] + [(a + b) / 2 for a, b in zip(points, points[1:], strict=False)]

    def kept(threshold: float) -> float:
        return sum(s >= threshold for s in answerable) / len(answerable)

    def flagged(threshold: float) -> float:
        return sum(s < threshold for s in unanswerable) / len(unanswerable)

    allowed = [t for t in candidates if kept(t) >= 1 - max_wrongly_flagged - 1e-12]
    best = max((flagged(t), kept(t)) for t in allowed)
    winners = [t for t in allowed if (flagged(t), kept(t)) == best]
    middle = (winners[0] + winners[-1]) / 2
    threshold = middle if (flagged(middle), kept(middle)) == best else winners[len(winners) // 2]
    return Calibration(
        threshold=round(threshold, 6),
        answerable_kept=kept(threshold),
        unanswerable_flagged=flagged(threshold),
        n_answerable=len(answerable),
        n_unanswerable=len(unanswerable),
    )
