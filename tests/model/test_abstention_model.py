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
