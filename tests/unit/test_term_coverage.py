"""The word-level parts of the near-miss rule (hkai_qa.term_coverage), without a model."""

from __future__ import annotations

from hkai_qa.passages import Passage
from hkai_qa.term_coverage import (
    CorpusTerms,
    _phrase_around,
    missing_words,
    unheld_pairs,
    unmentioned_version,
    without,
    written_as_names,
)

TEXTS = [
    ("Installation", "Supports Python 3.12.1 and 2.7. Universities collaborate with industry."),
    ("Hong Kong > Finance", "Banks use algorithmic trading and fraud detection in Hong Kong."),
]
TERMS = CorpusTerms.of([Passage(f"d#{i}", "d", "d.md", h, t, 0, len(t)) for i, (h, t) in enumerate(TEXTS)])


def test_a_word_counts_as_mentioned_as_written_stemmed_or_in_a_heading():
    assert TERMS.mentions("Banks") and TERMS.mentions("bank") and TERMS.mentions("collaborating")
    assert TERMS.mentions("installation") and TERMS.mentions("Finance")
    assert not TERMS.mentions("unicorns")


def test_a_misspelling_of_a_corpus_word_is_no_missing_word():
    assert TERMS.misspells("univercities") and TERMS.misspells("industy")
    assert not TERMS.misspells("visa")


def test_missing_words_skip_stopwords_short_words_typos_and_repeats_keeping_the_question_spelling():
    question = "Which Hong Kong banks have become unicorns, and are the unicorns in the univercities' AI labs?"
    assert missing_words(question, TERMS) == ["become", "unicorns", "labs"]


def test_a_version_counts_when_the_documents_never_mention_it_or_a_longer_one_it_starts():
    assert unmentioned_version("Does it support Python 3.14?", TERMS) == "3.14"
    assert unmentioned_version("Does it support Python 3.12?", TERMS) is None  # 3.12.1 is mentioned
    assert unmentioned_version("Does it run on Python 2.7?", TERMS) is None
    assert unmentioned_version("Who won in 2018 with 3 goals?", TERMS) is None  # plain numbers are no versions


def test_the_reason_names_the_key_word_with_the_words_beside_it_that_also_pull_away():
    question = "What is the minimum wage in Hong Kong?"
    assert _phrase_around(question, "wage", {"minimum", "wage"}) == "minimum wage"
    assert _phrase_around(question, "wage", {"wage"}) == "wage"
    assert without(question, "wage") == "What is the minimum in Hong Kong?"
    assert without("Kubernetes or kubernetes?", "Kubernetes") == "or ?"


def test_names_are_words_written_with_capitals_after_the_first_unless_the_question_is_in_title_case():
    assert written_as_names("How do I cache attrs instances in Redis or GraphQL?") == ["Redis", "GraphQL"]
    assert written_as_names("Which TLS version does it use?") == ["TLS"]
    assert written_as_names("How Do I Stop Tracebacks Showing Secrets?") == []
    assert written_as_names("Redis caching of instances") == []  # the first word is capitalised anyway


def test_two_words_count_as_held_together_when_a_passage_has_them_next_to_each_other_in_either_order():
    assert TERMS.holds_together("fraud", "detection") and TERMS.holds_together("detection", "frauds")
    assert TERMS.holds_together("algorithmic", "trading")
    assert TERMS.holds_together("universities", "collaborate")
    assert TERMS.holds_together("trading", "fraud")  # "trading and fraud": stopwords between are skipped
    assert TERMS.holds_together("Kong", "Finance")  # in a heading ("Hong Kong > Finance")
    assert not TERMS.holds_together("banks", "fraud")  # both used, never side by side
    assert not TERMS.holds_together("industry", "banks")  # not across passages either


def test_unheld_pairs_are_words_the_question_writes_side_by_side_that_no_passage_holds_together():
    assert unheld_pairs("Do banks use fraud detection?", TERMS) == [("use", "fraud")]
    assert unheld_pairs("Which banks-fraud rules?", TERMS) == [("banks", "fraud"), ("fraud", "rules")]
    # A stopword, a short word, a number or punctuation between two words keeps them apart.
    assert unheld_pairs("banks and fraud, industry: banks", TERMS) == []
    assert unheld_pairs("banks 2 fraud", TERMS) == []
