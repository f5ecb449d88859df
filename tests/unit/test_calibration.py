"""The abstention threshold fit, on hand-made scores."""

from __future__ import annotations

import pytest

from hkai_qa.calibration import fit_threshold


def test_separable_scores_put_the_threshold_in_the_middle_of_the_gap():
    calibration = fit_threshold([0.6, 0.7, 0.8], [0.1, 0.2, 0.3])
    assert calibration.threshold == pytest.approx(0.45)
    assert calibration.answerable_kept == 1.0 and calibration.unanswerable_flagged == 1.0


def test_overlapping_scores_maximise_balanced_accuracy():
    calibration = fit_threshold([0.5, 0.6, 0.7, 0.25], [0.1, 0.2, 0.55])
    assert 0.2 < calibration.threshold <= 0.25
    assert calibration.answerable_kept == 1.0
    assert calibration.unanswerable_flagged == pytest.approx(2 / 3)


def test_needs_both_kinds():
    with pytest.raises(ValueError, match="answerable: false"):
        fit_threshold([0.5], [])
