"""The derived abstention rule on plain numbers and passages, without a model."""

from __future__ import annotations

import pytest

from hkai_qa.abstention import (
    MAX_PSEUDO_QUESTIONS,
    is_calibrated,
    off_topic_questions,
    pseudo_questions,
    threshold_between,
)
from hkai_qa.passages import Passage


def test_threshold_is_the_off_topic_95th_percentile_when_the_corpus_scores_far_above():
    # np.quantile interpolates: position 0.95 * 4 = 3.8 of [0.1 .. 0.5] is 0.4 + 0.8 * 0.1.
    assert threshold_between([0.5, 0.1, 0.3, 0.2, 0.4], [0.9, 1.0]) == pytest.approx(0.48)


def test_threshold_stops_halfway_when_the_two_kinds_overlap():
    # Headings' 10th percentile: position 0.5 of [0.5 .. 1.0] is 0.55; halfway from the median 0.3 is 0.425.
    assert threshold_between([0.1, 0.2, 0.3, 0.4, 0.5], [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]) == pytest.approx(0.425)


def test_threshold_without_headings_is_the_off_topic_percentile():
    assert threshold_between([0.1, 0.2, 0.3, 0.4, 0.5], []) == pytest.approx(0.48)


def _passage(i: int, heading: str) -> Passage:
    return Passage(f"p{i}", "doc", "doc.md", heading, "text", 0, 4)


def test_pseudo_questions_are_distinct_section_titles_in_order():
    passages = [
        _passage(0, "Guide > Install"),
        _passage(1, "Guide > Install"),
        _passage(2, "Guide > Usage"),
        _passage(3, ""),
    ]
    assert pseudo_questions(passages) == ["Install", "Usage"]


def test_pseudo_questions_spread_evenly_when_there_are_too_many():
    passages = [_passage(i, f"Doc > Section {i}") for i in range(3 * MAX_PSEUDO_QUESTIONS)]
    titles = pseudo_questions(passages)
    assert len(titles) == MAX_PSEUDO_QUESTIONS
    assert titles[0] == "Section 0" and titles[-1] == f"Section {3 * MAX_PSEUDO_QUESTIONS - 1}"


def test_the_bundled_off_topic_bank_is_many_distinct_questions():
    bank = off_topic_questions()
    assert len(bank) >= 50
    assert len(set(bank)) == len(bank)
    assert not any(q.startswith("#") for q in bank)


def test_only_a_rule_fitted_on_labelled_questions_counts_as_calibrated():
    assert is_calibrated({"thresholds": {}, "fitted_on": "questions.jsonl"})
    assert not is_calibrated({"thresholds": {}, "fitted_on": "built-in defaults (tests/data/hk_questions.jsonl)"})
    assert not is_calibrated({"thresholds": {}, "fitted_on": "derived from the corpus (12 pseudo-questions)"})
    assert not is_calibrated(None)
