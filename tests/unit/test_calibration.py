"""The abstention threshold fit, on hand-made scores."""

from __future__ import annotations

import math

import pytest

from hkai_qa.calibration import fit_threshold


def test_separable_scores_put_the_threshold_in_the_gap():
    calibration = fit_threshold([0.6, 0.7, 0.8], [0.1, 0.2, 0.3])
    assert 0.3 < calibration.threshold < 0.6
    assert calibration.answerable_kept == 1.0 and calibration.unanswerable_flagged == 1.0


def test_overlap_keeps_answerable_questions_first():
    answerable = [0.25] + [0.5 + i / 100 for i in range(19)]  # 20 questions: one weak one may be lost
    calibration = fit_threshold(answerable, [0.1, 0.2, 0.3, 0.55])
    assert calibration.answerable_kept == pytest.approx(0.95)
    assert 0.3 < calibration.threshold <= 0.5
    assert calibration.unanswerable_flagged == pytest.approx(0.75)
    strict = fit_threshold(answerable, [0.1, 0.2, 0.3, 0.55], max_wrongly_flagged=0.0)
    assert strict.threshold <= 0.25 and strict.unanswerable_flagged == pytest.approx(0.5)


def test_needs_both_kinds():
    with pytest.raises(ValueError, match="answerable: false"):
        fit_threshold([0.5], [])


def test_questions_another_rule_flags_count_as_flagged_whatever_the_threshold():
    calibration = fit_threshold([0.6, 0.7, 0.8], [0.1, -math.inf, -math.inf])
    assert 0.1 < calibration.threshold < 0.6
    assert calibration.unanswerable_flagged == 1.0
    wrongly = fit_threshold([-math.inf, 0.7, 0.8], [0.1], max_wrongly_flagged=0.5)
    assert wrongly.answerable_kept == pytest.approx(2 / 3)
