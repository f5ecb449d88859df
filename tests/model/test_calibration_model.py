"""Calibrated abstention on the team's question set, stored in the index manifest."""

from __future__ import annotations

import json

import pytest

from hkai_qa import QA
from hkai_qa.cli import main
from hkai_qa.questions import load_questions
from tests.conftest import PACKAGED_ARTICLE, REPO

pytestmark = pytest.mark.slow
TEAM_SET = REPO / "tests" / "data" / "hk_questions.jsonl"


def test_default_threshold_keeps_every_answerable_team_question_and_flags_france(bundled_qa):
    questions = load_questions(TEAM_SET).questions
    answers = bundled_qa.ask_many([q.question for q in questions if q.answerable])
    assert all(a.answerable for a in answers)
    assert not bundled_qa.ask("What is the capital of France?").answerable


def test_calibrate_stores_thresholds_that_survive_a_reload(tmp_path, tiny_corpus):
    questions = tmp_path / "q.jsonl"
    rows = [
        {"question": "How is black tea made?"},
        {"question": "Which volcano buried Pompeii?"},
        {"question": "What soil do tea plants like?"},
        {"question": "What is an eruption?"},
        {"question": "Who won the 2018 FIFA World Cup?", "answerable": False},
        {"question": "How do I reset my iPhone password?", "answerable": False},
    ]
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    qa = QA(tiny_corpus, tmp_path / "ix")
    fitted = qa.calibrate(questions)
    assert set(fitted) == {"hybrid", "dense", "bm25"}
    assert fitted["dense"].answerable_kept == 1.0 and fitted["dense"].unanswerable_flagged == 1.0
    reloaded = QA(tiny_corpus, tmp_path / "ix", mode="dense")
    assert reloaded.threshold == pytest.approx(fitted["dense"].threshold)
    assert reloaded.manifest["abstention"]["fitted_on"] == str(questions)
    assert not reloaded.ask("Who won the 2018 FIFA World Cup?").answerable
    assert reloaded.ask("How is black tea made?").answerable


def test_calibrate_cli_needs_unanswerable_rows(tmp_path, tiny_corpus, capsys):
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "How is black tea made?"}\n')
    assert main(["calibrate", str(questions), "--corpus", str(tiny_corpus), "--index", str(tmp_path / "ix")]) == 2
    assert 'marked "answerable": false' in capsys.readouterr().err


def test_a_question_asking_for_a_number_the_article_lacks_is_flagged_with_the_reason(bundled_qa):
    answer = bundled_qa.ask("How many people live in Hong Kong?")
    assert answer.best_score >= bundled_qa.threshold  # the topic matches ...
    assert not answer.answerable  # ... but no passage holds a number
    assert any("asks for a number" in note for note in answer.notes)
    when = bundled_qa.ask("When did Hong Kong return to Chinese sovereignty?")
    assert not when.answerable and any("asks for a date" in note for note in when.notes)


def test_calibration_counts_answer_type_flags_and_keeps_every_answerable_team_question(bundled_qa, tmp_path):
    qa = QA(PACKAGED_ARTICLE, index=tmp_path / "ix")
    fitted = qa.calibrate(TEAM_SET)
    assert fitted["hybrid"].answerable_kept == 1.0
    assert fitted["hybrid"].unanswerable_flagged >= 10 / 17


def test_calibration_reports_what_asking_then_does_near_miss_rule_included(tmp_path):
    """The fit counts every rule that declines whatever the score, so its figures are the answers' own."""
    qa = QA(PACKAGED_ARTICLE, index=tmp_path / "ix")
    fitted = qa.calibrate(TEAM_SET)["hybrid"]
    questions = load_questions(TEAM_SET).questions
    answerable = qa.ask_many([q.question for q in questions if q.answerable])
    unanswerable = qa.ask_many([q.question for q in questions if not q.answerable])
    assert fitted.answerable_kept == sum(a.answerable for a in answerable) / len(answerable)
    assert fitted.unanswerable_flagged == sum(not a.answerable for a in unanswerable) / len(unanswerable)
    assert any("never mention" in note for a in unanswerable for note in a.notes)
