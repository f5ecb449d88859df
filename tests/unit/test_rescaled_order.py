"""A narrow-band model's order (e5: `rank_passages(..., rescaled=True)`), against brute force (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from hkai_qa._defaults import HYBRID_ALPHA_SMALL, LARGE_CORPUS_PASSAGES, embeds_sentences
from hkai_qa.lexical import bm25_tokenize, build_bm25
from hkai_qa.ranking import judged_score, rank_passages, rescaled_order, unit_range
from hkai_qa.sentence_vectors import SentenceVectors
from hkai_qa.stores import FaissStore
from hkai_qa.stores.faiss import build_faiss_index

TEXTS = [
    "Tea plants grow on hillsides with acid soil. Pickers take the top two leaves.",
    "Volcanoes erupt lava and ash. Lava cools into basalt.",
    "The government funds startups through grants. Forms are online.",
    "Black tea is oxidised before drying. Green tea is not.",
]
ALPHA = 0.95  # e5's own weight for the passage-level score


def unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
def narrow_band():
    """Passage vectors all close to one shared direction, as e5's are: cosines within a few hundredths."""
    rng = np.random.default_rng(7)
    shared = rng.normal(size=16)
    vectors = unit(shared + 0.15 * rng.normal(size=(len(TEXTS), 16)))
    owners = np.array([0, 0, 1, 1, 2, 2, 3, 3], dtype=np.int32)
    sentences = SentenceVectors(owners, unit(shared + 0.15 * rng.normal(size=(8, 16))))
    query = unit(shared + 0.15 * rng.normal(size=(1, 16)))[0]
    store = FaissStore(build_faiss_index(vectors), vectors)
    return vectors, sentences, query, store, build_bm25(TEXTS)


def test_unit_range_maps_the_candidates_onto_zero_to_one():
    np.testing.assert_allclose(unit_range(np.array([0.80, 0.82, 0.81])), [0.0, 1.0, 0.5], atol=1e-6)
    assert unit_range(np.array([0.7, 0.7])).tolist() == [0.0, 0.0]
    assert unit_range(np.array([])).size == 0
    empty = np.array([], dtype=np.float32)
    assert rescaled_order("hybrid", empty, empty, empty, empty).size == 0
    single = np.array([0.8], dtype=np.float32)
    assert rescaled_order("hybrid", single, single, np.zeros(1), single).tolist() == single.tolist()


def test_hybrid_fuses_rescaled_meaning_and_coverage_and_judges_the_passage_score(narrow_band):
    vectors, sentences, query, store, retriever = narrow_band
    tokens = bm25_tokenize(["tea lava"])[0]
    plain = rank_passages("hybrid", query, tokens, store, retriever, depth=4, alpha=ALPHA)
    ranked = rank_passages(
        "hybrid", query, tokens, store, retriever, depth=4, alpha=ALPHA, sentences=sentences, rescaled=True
    )
    assert sorted(r.passage for r in ranked) == [0, 1, 2, 3]
    cosine = np.array([float(vectors[r.passage] @ query) for r in ranked])
    closest = sentences.closest(query, len(TEXTS))[[r.passage for r in ranked]]
    coverage = np.array([r.bm25_coverage for r in ranked])
    passage_level = ALPHA * cosine + (1 - ALPHA) * coverage
    meaning = (cosine + closest) / 2
    order = HYBRID_ALPHA_SMALL * (meaning - meaning.min()) / np.ptp(meaning) + (1 - HYBRID_ALPHA_SMALL) * (
        coverage - coverage.min()
    ) / np.ptp(coverage)
    expected = passage_level.min() + np.ptp(passage_level) * order
    np.testing.assert_allclose([r.score for r in ranked], expected, atol=1e-5)
    np.testing.assert_allclose([r.passage_score for r in ranked], passage_level, atol=1e-5)
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)
    # Hit scores stay on the model's scale, and abstention judges what it judged without sentences.
    assert max(r.score for r in ranked) <= judged_score(ranked) + 1e-6
    assert judged_score(ranked) == pytest.approx(plain[0].score, abs=1e-6)


def test_rescaling_lets_meaning_outweigh_a_small_coverage_lead(narrow_band):
    """Raw fusion at e5's weight lets a little coverage decide; rescaled, the clear winner in meaning stays first."""
    vectors, sentences, query, store, retriever = narrow_band
    # Passage 2 (and its first sentence) is the closest in meaning, by a few hundredths as with e5;
    # "lava" gives passage 1, the farthest in meaning, the only lexical match.
    vectors[2] = unit([0.4 * query + 0.6 * vectors[2]])[0]
    sentences.vectors[4] = vectors[2]
    store = FaissStore(build_faiss_index(vectors), vectors)
    tokens = bm25_tokenize(["lava"])[0]
    raw = rank_passages("hybrid", query, tokens, store, retriever, depth=4, alpha=ALPHA)
    ranked = rank_passages(
        "hybrid", query, tokens, store, retriever, depth=4, alpha=ALPHA, sentences=sentences, rescaled=True
    )
    assert raw[0].passage == 1 and raw[0].dense_score == min(r.dense_score for r in raw)
    assert ranked[0].passage == 2


def test_dense_takes_the_closer_of_passage_and_sentence_and_judges_the_cosine(narrow_band):
    vectors, sentences, query, store, retriever = narrow_band
    sentences.vectors[7] = query  # passage 3's second sentence is the question itself
    plain = rank_passages("dense", query, [], store, retriever, depth=4, alpha=ALPHA)
    ranked = rank_passages(
        "dense", query, [], store, retriever, depth=4, alpha=ALPHA, sentences=sentences, rescaled=True
    )
    closest = sentences.closest(query, len(TEXTS))
    for r in ranked:
        assert r.score == pytest.approx(max(float(vectors[r.passage] @ query), float(closest[r.passage])), abs=1e-5)
        assert r.passage_score == pytest.approx(r.dense_score, abs=1e-6)
    assert ranked[0].passage == 3 and ranked[0].score == pytest.approx(1.0, abs=1e-5)
    assert judged_score(ranked) == pytest.approx(plain[0].score, abs=1e-6)


def test_a_dense_candidate_comes_in_through_its_sentence(narrow_band):
    vectors, sentences, query, store, retriever = narrow_band
    plain = rank_passages("dense", query, [], store, retriever, depth=1, alpha=ALPHA)
    outside = next(p for p in range(len(TEXTS)) if p != plain[0].passage)
    sentences.vectors[2 * outside] = query
    ranked = rank_passages(
        "dense", query, [], store, retriever, depth=1, alpha=ALPHA, sentences=sentences, rescaled=True
    )
    assert ranked[0].passage == outside


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_without_sentences_or_in_bm25_mode_rescaled_ranks_as_before(narrow_band, mode):
    vectors, sentences, query, store, retriever = narrow_band
    tokens = bm25_tokenize(["tea lava"])[0]
    before = rank_passages(mode, query, tokens, store, retriever, depth=4, alpha=ALPHA)
    unchanged = [rank_passages(mode, query, tokens, store, retriever, depth=4, alpha=ALPHA, rescaled=True)]
    if mode == "bm25":
        unchanged.append(
            rank_passages(
                mode, query, tokens, store, retriever, depth=4, alpha=ALPHA, sentences=sentences, rescaled=True
            )
        )
    for ranked in unchanged:
        assert [(r.passage, r.score) for r in ranked] == [(r.passage, r.score) for r in before]


def test_only_small_corpora_embed_sentences():
    assert embeds_sentences(LARGE_CORPUS_PASSAGES - 1) and not embeds_sentences(LARGE_CORPUS_PASSAGES)
