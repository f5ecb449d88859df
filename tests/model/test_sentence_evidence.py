"""Sentence evidence with the real model: a small corpus's build embeds its sentences, and a hybrid
hit's score adds its closest sentence, computed here independently from the model's own vectors."""

from __future__ import annotations

import numpy as np
import pytest

from hkai_qa import QA
from hkai_qa._defaults import SENTENCE_SHARE, passage_budget
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


def lifespan_docs(folder):
    code = "\n".join(f"    client_{i} = await stack.enter_async_context(make_client({i}))" for i in range(11))
    text = (
        "# Lifespan\n\n## Lifespan state\n\n"
        "The lifespan has a state dictionary that shares objects between the lifespan and the requests:\n\n"
        f"```python\n@contextlib.asynccontextmanager\nasync def lifespan(app):\n{code}\n    yield {{}}\n```\n\n"
        "The state each request receives is a shallow copy of the state the lifespan handler yields.\n\n"
        "## Shutdown\n\n"
        "When the server stops, the code after the yield runs and closes every client it opened.\n"
    )
    folder.mkdir()
    (folder / "lifespan.md").write_text(text, encoding="utf-8")
    return folder


def test_a_section_past_the_models_window_is_one_passage_whose_tail_still_ranks(tmp_path):
    qa = QA(lifespan_docs(tmp_path / "docs"), index=tmp_path / "ix")
    tokens = qa.embedder.count_tokens([p.searchable_text for p in qa.passages])
    assert qa.embedder.max_tokens < max(tokens) <= passage_budget(qa.embedder.max_tokens, len(qa.passages))
    state = [p for p in qa.passages if "shallow copy" in p.text]
    # The sentence that introduces the code, the code and the sentence after it stay together ...
    assert len(state) == 1 and "shares objects" in state[0].text
    # ... and the tail the passage vector cannot see is found through its own sentence vector.
    answer = qa.ask("Is the lifespan state copied deeply into each request?")
    assert answer.answerable and "shallow copy" in answer.hits[0].text
