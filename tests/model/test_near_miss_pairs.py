"""Near-miss questions that turn on two words the documents never write together (hkai_qa.term_coverage)."""

from __future__ import annotations

import pytest

from hkai_qa.answer import UNMENTIONED_NOTE
from hkai_qa.term_coverage import CorpusTerms, unheld_pairs

pytestmark = pytest.mark.slow


def test_a_question_is_flagged_naming_two_words_the_documents_never_write_together(bundled_qa):
    # On the article's topic, written for this test: neither word alone pulls the question away from
    # the best passages enough to count; the two together do.
    answer = bundled_qa.ask("What are school fees like in Hong Kong?")
    assert answer.best_score >= bundled_qa.threshold  # its score alone would have answered it
    assert not answer.answerable and answer.hits
    assert answer.notes == [UNMENTIONED_NOTE.format(term="school fees")]


def test_answerable_questions_with_words_the_article_writes_apart_are_still_answered(bundled_qa):
    questions = [
        "Do lenders use computers to catch scams?",
        "Can a young company get public money for building smart software?",
        "academia industry collaboration",
        "Is there a shortage of trained people for these jobs?",
    ]
    terms = CorpusTerms.of(bundled_qa.passages)
    for answer in bundled_qa.ask_many(questions):
        assert unheld_pairs(answer.question, terms), answer.question  # the rule is asked, and says no
        assert answer.answerable, (answer.question, answer.notes)
