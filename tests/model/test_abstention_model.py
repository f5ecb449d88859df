"""Abstention derived when a corpus is built: it flags off-topic questions on corpora nobody calibrated."""

from __future__ import annotations

import pytest

from hkai_qa import QA
from hkai_qa.abstention import off_topic_questions
from hkai_qa.questions import load_questions
from tests.conftest import REPO

pytestmark = pytest.mark.slow
ATTRS = REPO / "benchmarks" / "data" / "attrs"
# Unrelated questions written for this test, none of them in the bundled bank.
UNRELATED = [
    "What is the capital of Australia?",
    "How do I make pancakes without eggs?",
    "Who scored the winning goal in the last Champions League final?",
    "What is the melting point of iron?",
    "Which smartphone has the best camera this year?",
]


@pytest.fixture(scope="module")
def attrs_qa(tmp_path_factory):
    return QA(ATTRS / "docs", index=tmp_path_factory.mktemp("attrs") / "index", progress=False)


def test_a_new_corpus_records_the_rule_derived_from_it(attrs_qa):
    abstention = attrs_qa.manifest["abstention"]
    assert abstention["fitted_on"].startswith("derived from the corpus (")
    assert f"{len(off_topic_questions())} off-topic" in abstention["fitted_on"]
    assert attrs_qa.threshold == pytest.approx(abstention["thresholds"]["hybrid"])


def test_the_derived_rule_flags_unrelated_questions_and_keeps_answerable_ones(attrs_qa):
    assert UNRELATED[0] not in off_topic_questions()
    # The threshold sits at the bank's 95th percentile: an odd unrelated question may pass, most must not.
    assert sum(not a.answerable for a in attrs_qa.ask_many(UNRELATED)) >= len(UNRELATED) - 1
    answerable = [q.question for q in load_questions(ATTRS / "questions.jsonl").questions if q.answerable]
    kept = sum(a.answerable for a in attrs_qa.ask_many(answerable))
    assert kept >= 0.95 * len(answerable)


def test_the_derived_rule_flags_unrelated_questions_on_a_tiny_corpus(tiny_corpus, tmp_path):
    qa = QA(tiny_corpus, index=tmp_path / "index", progress=False)
    assert qa.manifest["abstention"]["fitted_on"].startswith("derived from the corpus")
    assert not any(a.answerable for a in qa.ask_many(UNRELATED))
    assert qa.ask("Which volcano buried Pompeii?").answerable
    assert qa.ask("What soil do tea plants like?").answerable


# On the topic of attrs, but about things its documentation never mentions (written for this test).
NEAR_MISS = {
    "How do I store attrs instances in a Redis cache?": "Redis",
    "How do I send an attrs instance over a Kafka topic?": "Kafka",
    "Can attrs generate GraphQL types from my classes?": "GraphQL",
    "Does attrs support Python 3.99?": "3.99",
}
# Answerable, in words the documentation does not use ("stop ... writing", "in one go").
PARAPHRASES = [
    "How can I stop attrs from writing an __eq__ for me?",
    "Is there a way to make every attribute keyword-only in one go?",
    "How do I keep attrs from adding an __init__ to my class?",
]


def test_a_near_miss_question_is_flagged_naming_the_term_the_documents_never_mention(attrs_qa):
    for question, term in NEAR_MISS.items():
        answer = attrs_qa.ask(question)
        assert answer.best_score >= attrs_qa.threshold, question  # its score alone would have answered it
        assert not answer.answerable and answer.hits, question
        assert any(f"never mention '{term}'" in note for note in answer.notes), (question, answer.notes)


def test_an_answerable_paraphrase_in_other_words_is_not_flagged(attrs_qa):
    for answer in attrs_qa.ask_many(PARAPHRASES):
        assert answer.answerable, (answer.question, answer.notes)
