"""Fitting the abstention threshold: when is the best hit too weak to answer?

The rule is one number per retrieval mode: a question is answerable when its
best hit's `score` reaches the threshold. Wrongly hiding an answer costs more
than showing weak passages (which are shown anyway, marked), so the fit keeps
at least 95% of the answerable questions and, within that, flags as many
out-of-scope questions as it can. Among equally good thresholds it takes the
middle of their range, so small score shifts do not flip decisions. A question
that another rule declines whatever its score (a missing answer type, a key term
the documents never mention) counts as flagged at every threshold, so the fit's
figures are what asking then does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._defaults import ANSWER_TYPE_WINDOW
from .errors import QuestionError

if TYPE_CHECKING:
    from .qa import QA
    from .questions import QuestionSet

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


def calibrate(
    qa: QA, questions: str | Path | QuestionSet, modes: Sequence[str]
) -> tuple[dict[str, Calibration], dict[str, Any]]:
    """Fit each mode's threshold on labelled questions; returns the fits and the manifest's `abstention` entry.

    Asks through `QA.retrieve` only, so it scores what a user would get.
    """
    from .questions import QuestionSet, load_questions

    question_set = questions if isinstance(questions, QuestionSet) else load_questions(questions)
    if question_set.is_beir:
        raise QuestionError(
            f"{question_set.source} is a BEIR folder; calibration needs a question file with some "
            'rows marked "answerable": false.'
        )
    texts = [q.question for q in question_set.questions]
    labels = [q.answerable for q in question_set.questions]
    if all(labels) or not any(labels):
        raise QuestionError(
            f"{question_set.source}: calibration needs both answerable questions and questions the corpus "
            'does not answer (marked "answerable": false).'
        )
    fitted: dict[str, Calibration] = {}
    for mode in modes:
        # Judged against -inf, an answer is declined only by a rule that declines whatever the threshold
        # (a missing answer type, a key term the documents never mention): -inf says so to the fit.
        answers = qa.with_mode(mode).retrieve(texts, ANSWER_TYPE_WINDOW, evidence_for=0, threshold=-math.inf)
        best = [a.best_score if a.answerable else -math.inf for a in answers]
        fitted[mode] = fit_threshold(
            [s for s, ok in zip(best, labels, strict=True) if ok],
            [s for s, ok in zip(best, labels, strict=True) if not ok],
        )
    abstention = {
        "thresholds": {mode: c.threshold for mode, c in fitted.items()},
        "fitted_on": str(question_set.source),
        "questions": len(texts),
    }
    return fitted, abstention
