"""Sentence evidence with the real model: a small corpus's build embeds its sentences, and a hybrid
hit's score adds its closest sentence, computed here independently from the model's own vectors."""

from __future__ import annotations

import numpy as np
import pytest

from hkai_qa import QA
from hkai_qa._defaults import SENTENCE_SHARE
from hkai_qa.lexical import bm25_ceiling, bm25_tokenize
from hkai_qa.sentence_vectors import passage_sentences

pytestmark = pytest.mark.slow

HARVEST = (
    "# Tea estate handbook\n\n## Harvest\n\n"
    "The harvest season starts when the first flush appears on the bushes. "
    "Tractors carry the baskets from the upper terraces to the weighing shed. "
    "Baskets are checked for stalks and coarse leaves before they are tipped onto the withering racks. "
    "Pickers are paid by the kilogram of green leaf they bring to the scale. "
    "During the monsoon the paths are slippery and the tractors use chains.\n\n"
    "## Estate life\n\n"
    "Life on the estate is hard, and many young people leave for jobs in the city. "
    "The estate runs a school, a clinic and a canteen for families who stay.\n"
)


@pytest.fixture
def estate(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "estate.md").write_text(HARVEST, encoding="utf-8")
    return QA(tmp_path / "docs", index=tmp_path / "ix")


def test_a_small_corpus_index_holds_each_sentence_embedded_alone(estate):
    sentences = estate._store.sentences
    rows, texts = passage_sentences(estate.passages)
    assert len(texts) >= 7 and sentences.passages.tolist() == rows.tolist()
    np.testing.assert_allclose(sentences.vectors, estate.embedder.encode(texts), atol=1e-5)
    # Loaded again from disk, the same vectors.
    again = QA.load(estate.index_dir)._store.sentences
    np.testing.assert_allclose(again.vectors, sentences.vectors, atol=1e-6)


def test_a_hybrid_hit_scores_its_closest_sentence_beside_its_own_vector(estate):
    question = "How are pickers paid?"
    answer = estate.ask(question, k=2)
    top = answer.hits[0]
    assert "Harvest" in top.section and answer.answerable
    _, texts = passage_sentences(estate.passages)
    owned = [t for t in texts if t in top.text]
    closest = float(np.max(estate.embedder.encode(owned) @ estate.embedder.encode([question])[0]))
    pay = estate.embedder.encode(["Pickers are paid by the kilogram of green leaf they bring to the scale."])[0]
    assert closest == pytest.approx(float(pay @ estate.embedder.encode([question])[0]), abs=1e-5)
    tokens = bm25_tokenize([question])[0]
    coverage = top.bm25_score / bm25_ceiling(estate._store.bm25, tokens)
    alpha = estate.hybrid_alpha
    expected = (alpha - SENTENCE_SHARE) * top.dense_score + SENTENCE_SHARE * closest + (1 - alpha) * coverage
    assert top.score == pytest.approx(expected, abs=1e-4)
    # Abstention judges the passage-level score: the share the closest sentence took is not in it.
    assert answer.best_score == pytest.approx(alpha * top.dense_score + (1 - alpha) * coverage, abs=1e-4)
