"""Fitting the abstention threshold: when is the best hit too weak to answer?

The rule is one number per retrieval mode: a question is answerable when its
best hit's `score` reaches the threshold. The threshold is fitted on labelled
questions (answerable or not) by maximising balanced accuracy, and placed in
the middle of the widest gap that achieves it, so small score shifts do not
flip decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Calibration:
    """A fitted threshold and how it does on the questions it was fitted on."""

    threshold: float
    answerable_kept: float
    unanswerable_flagged: float
    n_answerable: int
    n_unanswerable: int


def fit_threshold(answerable: Sequence[float], unanswerable: Sequence[float]) -> Calibration:
    """The threshold that best separates best-hit scores of answerable from unanswerable questions."""
    if not answerable or not unanswerable:
        raise ValueError("calibration needs both answerable and unanswerable questions (answerable: false).")
    points = sorted(set(answerable) | set(unanswerable))
    candidates = [points[0] - 1e-6] + [(a + b) / 2 for a, b in zip(points, points[1:], strict=False)]
    candidates.append(points[-1] + 1e-6)

    def balanced_accuracy(threshold: float) -> float:
        kept = sum(s >= threshold for s in answerable) / len(answerable)
        flagged = sum(s < threshold for s in unanswerable) / len(unanswerable)
        return (kept + flagged) / 2

    best = max(balanced_accuracy(t) for t in candidates)
    winners = [t for t in candidates if balanced_accuracy(t) == best]
    # Among equally good thresholds, take the middle of the widest run of them.
    low, high = winners[0], winners[-1]
    threshold = (low + high) / 2 if balanced_accuracy((low + high) / 2) == best else winners[len(winners) // 2]
    return Calibration(
        threshold=round(threshold, 6),
        answerable_kept=sum(s >= threshold for s in answerable) / len(answerable),
        unanswerable_flagged=sum(s < threshold for s in unanswerable) / len(unanswerable),
        n_answerable=len(answerable),
        n_unanswerable=len(unanswerable),
    )
