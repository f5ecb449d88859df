"""Answer assembly without a model: abstention, answer types, notes, evidence and reranking from ranked passages."""

from __future__ import annotations

import numpy as np
import pytest

from hkai_qa import QuestionError
from hkai_qa.answer import ENGLISH_ONLY_NOTE, UNMENTIONED_NOTE, assemble, check_k, check_mode, rerank, threshold_for
from hkai_qa.lexical import bm25_tokenize
from hkai_qa.passages import Passage
from hkai_qa.ranking import Ranked

TEXTS = [
    "Tea grows on hillsides. It needs acid soil and rain.",
    "Leaves are withered and rolled. Then they are dried.",
    "Volcanoes erupt lava and ash.",
]
PASSAGES = [Passage(f"d#{i}", "d", "d.txt", f"H{i}", t, 0, len(t)) for i, t in enumerate(TEXTS)]


def ranked(*scores: float) -> list[Ranked]:
    return [Ranked(i, s, s, 0.0, 0.0, i + 1, None) for i, s in enumerate(scores)]


def build(question: str, scores=(0.5, 0.4, 0.1), threshold=0.3, **options):
    options = {"k": 3, "threshold": threshold, "best_score": scores[0], **options}
    return assemble(
        question, ranked(*scores), PASSAGES, tokens=bm25_tokenize([question])[0], weight=lambda t: 1.0, **options
    )


def test_the_best_score_against_the_threshold_decides_abstention():
    assert build("Where does tea grow?").answerable
    answer = build("Where does tea grow?", scores=(0.2, 0.1, 0.0))
    assert not answer.answerable and answer.best_score == 0.2 and len(answer.hits) == 3


def test_a_question_asking_for_a_number_none_of_the_first_passages_gives_abstains_with_a_note():
    answer = build("How many tea plants are there?")
    assert not answer.answerable
    assert answer.notes == ["The question asks for a number, and none of the best passages gives one."]


def test_a_question_whose_key_term_the_documents_never_mention_abstains_saying_which():
    asked = []

    def unmentioned():
        asked.append(True)
        return "minimum wage"

    answer = build("What is the minimum wage?", unmentioned_term=unmentioned)
    assert not answer.answerable and len(answer.hits) == 3
    assert answer.notes == [UNMENTIONED_NOTE.format(term="minimum wage")]
    assert "'minimum wage'" in answer.notes[0] and "\n" not in answer.notes[0]
    assert build("Where does tea grow?", unmentioned_term=lambda: None).answerable
    # Already declined by its score: the rule, which encodes, is not asked.
    asked.clear()
    assert not build("What is the minimum wage?", scores=(0.2, 0.1, 0.0), unmentioned_term=unmentioned).answerable
    assert asked == []


def test_evidence_marks_the_matching_sentence_only_for_the_first_hits():
    answer = build("Which soil does tea need?", evidence_for=1)
    first = answer.hits[0]
    assert first.evidence_text == ["It needs acid soil and rain."]
    assert all(hit.evidence == () for hit in answer.hits[1:])


def test_cjk_questions_get_the_english_only_note_with_the_default_model():
    assert ENGLISH_ONLY_NOTE in build("茶 tea", english_only=True).notes
    assert build("茶 tea", english_only=False).notes == []


def test_rerank_reorders_the_head_and_keeps_its_scores():
    order, scores = rerank("q", ranked(0.5, 0.4, 0.1), PASSAGES, lambda q, texts: np.array([0.1, 0.9]), depth=2)
    assert [r.passage for r in order] == [1, 0, 2] and scores == {0: pytest.approx(0.1), 1: pytest.approx(0.9)}
    answer = build("tea", scores=(0.5, 0.4, 0.1), rerank_scores=scores)
    assert answer.hits[1].rerank_score == pytest.approx(0.9)


def test_thresholds_modes_and_k_are_checked():
    assert threshold_for({"abstention": {"fitted_on": "q.jsonl", "thresholds": {"dense": 0.25}}}, "dense") == 0.25
    assert threshold_for({"abstention": {"fitted_on": "built-in defaults", "thresholds": {"dense": 9}}}, "dense") < 1
    with pytest.raises(QuestionError, match='Did you mean "dense"'):
        check_mode("dens")
    assert check_k(500) == 100 and check_k(500, limit=None) == 500
    with pytest.raises(QuestionError, match="k must be"):
        check_k(0)


def test_the_cli_names_the_evidence_page_of_a_passage_over_two_pages():
    from hkai_qa.answer import Answer, Hit
    from hkai_qa.cli import _format_answer

    def hit(rank: int, page: int, page_end: int, evidence_page: int | None) -> Hit:
        return Hit(
            rank,
            "Spec › Part",
            "Some text.",
            0.5,
            "d",
            f"p{rank}",
            "spec.pdf",
            0,
            10,
            page=page,
            page_end=page_end,
            evidence_page=evidence_page,
        )

    answer = Answer("q", [hit(1, 34, 35, 35), hit(2, 7, 7, 7), hit(3, 8, 9, None)], answerable=True)
    lines = [line for line in _format_answer(answer, 0.3).splitlines() if line.startswith("[")]
    assert lines[0].startswith("[1] Spec › Part, pp. 34–35, evidence on p. 35  (score 0.500")
    assert lines[1].startswith("[2] Spec › Part, p. 7  (score")  # one page: nothing to choose
    assert lines[2].startswith("[3] Spec › Part, pp. 8–9  (score")  # no evidence sentence
