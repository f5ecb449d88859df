"""Sentence evidence in hybrid ranking, against brute force (no model): vectors in, scores out."""

from __future__ import annotations

import numpy as np
import pytest

from hkai_qa._defaults import LARGE_CORPUS_PASSAGES, SENTENCE_SHARE, sentence_share
from hkai_qa.errors import IndexStoreError
from hkai_qa.index_store import SENTENCE_PASSAGES, read_index, write_index
from hkai_qa.lexical import bm25_tokenize, build_bm25
from hkai_qa.passages import Passage
from hkai_qa.ranking import judged_score, rank_passages
from hkai_qa.sentence_vectors import SentenceVectors, embed_sentences, passage_sentences, vectors_by_text
from hkai_qa.stores import FaissStore
from hkai_qa.stores.faiss import build_faiss_index

TEXTS = [
    "Tea plants grow on hillsides with acid soil. Pickers take the top two leaves.",
    "Volcanoes erupt lava and ash.",
    "The government funds startups through grants. Forms are online. Ok.",
    "Black tea is oxidised before drying.",
]


def passages(texts=TEXTS):
    return [Passage(f"d#{i}", "d", "d.txt", "d", t, 0, len(t)) for i, t in enumerate(texts)]


def unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_passage_sentences_skip_pieces_too_short_to_say_anything():
    rows, texts = passage_sentences(passages())
    assert texts == [
        "Tea plants grow on hillsides with acid soil.",
        "Pickers take the top two leaves.",
        "Volcanoes erupt lava and ash.",
        "The government funds startups through grants.",
        "Forms are online.",
        "Black tea is oxidised before drying.",
    ]  # not "Ok."
    assert rows.tolist() == [0, 0, 1, 2, 2, 3]


def test_closest_is_the_best_sentence_cosine_of_each_passage_by_brute_force():
    rng = np.random.default_rng(0)
    owners = np.array([0, 0, 0, 2, 2, 3], dtype=np.int32)  # passage 1 has no sentence
    sentences = SentenceVectors(owners, unit(rng.normal(size=(6, 8))))
    query = unit(rng.normal(size=(1, 8)))[0]
    closest = sentences.closest(query, 4)
    cosine = sentences.vectors @ query
    expected = [max(cosine[owners == p]) if (owners == p).any() else 0.0 for p in range(4)]
    np.testing.assert_allclose(closest, expected, rtol=1e-6)


def test_hybrid_adds_the_closest_sentence_and_abstention_judges_the_passage_score():
    vectors = np.eye(len(TEXTS), 16, dtype=np.float32)
    query = unit([vectors[2] * 0.55 + vectors[0] * 0.45])[0]
    # Passage 0's second sentence is the question itself: it must win on its sentence alone.
    owners = np.array([0, 0, 1, 2, 3], dtype=np.int32)
    sentence_rows = np.eye(5, 16, k=8, dtype=np.float32)  # unrelated to the question
    sentence_rows[1] = query
    sentences = SentenceVectors(owners, sentence_rows)
    store = FaissStore(build_faiss_index(vectors), vectors)
    retriever = build_bm25(TEXTS)
    tokens = bm25_tokenize(["lava"])[0]
    alpha, share = 0.8, 0.2
    plain = rank_passages("hybrid", query, tokens, store, retriever, depth=4, alpha=alpha)
    ranked = rank_passages(
        "hybrid", query, tokens, store, retriever, depth=4, alpha=alpha, sentences=sentences, sentence_share=share
    )
    closest = sentences.closest(query, len(TEXTS))
    for r in ranked:
        cosine = float(vectors[r.passage] @ query)
        assert r.passage_score == pytest.approx(alpha * cosine + (1 - alpha) * r.bm25_coverage, abs=1e-5)
        assert r.sentence_score == pytest.approx(float(closest[r.passage]), abs=1e-5)
        expected = (alpha - share) * cosine + share * closest[r.passage] + (1 - alpha) * r.bm25_coverage
        assert r.score == pytest.approx(expected, abs=1e-5)
    assert plain[0].passage == 2 and ranked[0].passage == 0
    # "Not in the documents" is judged as without sentences: the best passage-level score.
    assert judged_score(ranked) == pytest.approx(plain[0].score, abs=1e-6)
    assert judged_score([]) == 0.0
    # Dense and BM25 modes ignore sentences.
    for mode in ("dense", "bm25"):
        with_sentences = rank_passages(
            mode, query, tokens, store, retriever, depth=4, alpha=alpha, sentences=sentences, sentence_share=share
        )
        without = rank_passages(mode, query, tokens, store, retriever, depth=4, alpha=alpha)
        assert [(r.passage, r.score) for r in with_sentences] == [(r.passage, r.score) for r in without]


def test_a_passage_outside_both_top_lists_comes_in_through_its_sentence():
    rng = np.random.default_rng(2)
    vectors = unit(rng.normal(size=(len(TEXTS), 16)))
    query = vectors[1]
    sentences = SentenceVectors(np.array([0, 1, 2, 3], dtype=np.int32), unit(rng.normal(size=(4, 16))))
    sentences.vectors[3] = query
    store = FaissStore(build_faiss_index(vectors), vectors)
    retriever = build_bm25(TEXTS)
    ranked = rank_passages(
        "hybrid", query, ["lava"], store, retriever, depth=1, alpha=0.8, sentences=sentences, sentence_share=0.2
    )
    assert {r.passage for r in ranked} == {1, 3}


def test_only_small_corpora_with_the_default_weights_get_sentence_evidence():
    assert sentence_share(LARGE_CORPUS_PASSAGES - 1) == SENTENCE_SHARE > 0
    assert sentence_share(LARGE_CORPUS_PASSAGES) == 0.0
    assert sentence_share(10, alphas=(0.7, 0.5)) == 0.0


def test_embed_sentences_reuses_known_vectors_by_text():
    calls = []

    def encode(texts):
        calls.append(list(texts))
        return unit(np.ones((len(texts), 4)) + np.arange(len(texts))[:, None])

    first = embed_sentences(passages(), encode, 4)
    assert len(first.vectors) == len(first.passages) == 6
    known = vectors_by_text(passages(), first)
    changed = passages([TEXTS[0], "Volcanoes erupt lava and ash. Some are under the sea.", TEXTS[2], TEXTS[3]])
    calls.clear()
    second = embed_sentences(changed, encode, 4, known)
    assert calls == [["Some are under the sea."]]
    np.testing.assert_array_equal(second.vectors[0], first.vectors[0])
    # Vectors of other passages than these (other chunking) are not reused.
    assert vectors_by_text(passages()[:2], first) == {}


def test_sentence_vectors_round_trip_through_the_index_folder_and_are_checked(tmp_path):
    ps = passages()
    vectors = unit(np.random.default_rng(3).normal(size=(len(ps), 8)))
    sentences = SentenceVectors(np.array([0, 0, 2, 3], dtype=np.int32), unit(np.ones((4, 8))))
    manifest = {"passage_count": len(ps), "dimension": 8, "model": {"name": "m", "dimension": 8}}
    write_index(tmp_path / "ix", manifest, ps, vectors, build_faiss_index(vectors), build_bm25(TEXTS), sentences)
    loaded = read_index(tmp_path / "ix").sentences
    assert loaded.passages.tolist() == [0, 0, 2, 3]
    np.testing.assert_allclose(loaded.vectors, sentences.vectors)
    # Without sentences (a large corpus) nothing is written and nothing is read.
    write_index(tmp_path / "iy", manifest, ps, vectors, build_faiss_index(vectors), build_bm25(TEXTS))
    assert read_index(tmp_path / "iy").sentences is None
    # Sentence rows pointing past the passages are damage, named as such.
    bad = np.array([0, 9, 2, 3], dtype=np.int32)
    np.save(tmp_path / "ix" / SENTENCE_PASSAGES, bad, allow_pickle=False)
    with pytest.raises(IndexStoreError, match="sentence_passages.npy"):
        read_index(tmp_path / "ix")
