"""Retrieval maths against brute force and hand-worked values (no model)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hkai_qa.lexical import bm25_ceiling, bm25_scores, bm25_tokenize, build_bm25, load_bm25
from hkai_qa.ranking import fuse, rank_passages, reciprocal_rank_fusion, top_ids
from hkai_qa.stores import FaissStore
from hkai_qa.stores.faiss import build_faiss_index, dense_search
from tests.conftest import REPO

TEXTS = [
    "Tea plants grow on hillsides with acid soil.",
    "Volcanoes erupt lava and ash.",
    "The government funds startups through grants.",
    "Black tea is oxidised before drying.",
]


def unit_vectors(n, d, seed=0):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_faiss_search_matches_numpy_brute_force():
    vectors, queries = unit_vectors(500, 32), unit_vectors(5, 32, seed=1)
    scores, ids = dense_search(build_faiss_index(vectors), queries, 10)
    expected = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    assert (ids == expected).all()
    np.testing.assert_allclose(scores, np.take_along_axis(queries @ vectors.T, expected, 1), rtol=1e-5)


def test_reciprocal_rank_fusion_hand_values():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[2] == pytest.approx(1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert [c.passage for c in fuse([1, 2, 3], [3, 1])] == [1, 3, 2]


def test_top_ids_breaks_ties_by_lower_id():
    assert top_ids(np.array([0.5, 0.9, 0.5, 0.1]), 3).tolist() == [1, 0, 2]


def test_bm25_tokens_are_stemmed_and_stop_worded():
    assert bm25_tokenize(["What are the growing teas?"]) == [["grow", "tea"]]
    assert bm25_tokenize(["香港人工智能"]) == [["香港", "港人", "人工", "工智", "智能"]]


def test_bm25_coverage_is_below_one_and_ranks_matching_text_first():
    retriever = build_bm25(TEXTS)
    tokens = bm25_tokenize(["tea oxidised"])[0]
    scores = bm25_scores(retriever, tokens)
    ceiling = bm25_ceiling(retriever, tokens)
    assert int(np.argmax(scores)) == 3
    assert 0 < scores.max() / ceiling < 1
    n, df = len(TEXTS), 2
    assert bm25_ceiling(retriever, ["tea"]) == pytest.approx(math.log(1 + (n - df + 0.5) / (df + 0.5)), rel=1e-5)
    assert not bm25_scores(retriever, ["unknownword"]).any()


def test_bm25_saved_and_loaded_ranks_the_same(tmp_path):
    retriever = build_bm25(TEXTS)
    retriever.save(str(tmp_path / "bm25"), allow_pickle=False)
    loaded = load_bm25(tmp_path / "bm25")
    for query in ["tea", "government grants", "lava volcano"]:
        tokens = bm25_tokenize([query])[0]
        np.testing.assert_allclose(bm25_scores(loaded, tokens), bm25_scores(retriever, tokens))


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_rank_passages_orders_by_the_documented_score(mode):
    vectors = unit_vectors(len(TEXTS), 16)
    query = vectors[2] * 0.8 + vectors[0] * 0.2
    query /= np.linalg.norm(query)
    retriever = build_bm25(TEXTS)
    tokens = bm25_tokenize(["tea soil"])[0]
    store = FaissStore(build_faiss_index(vectors), vectors)
    ranked = rank_passages(mode, query, tokens, store, retriever, depth=4, alpha=0.5)
    scores = [r.score for r in ranked]
    assert scores == sorted(scores, reverse=True)
    for r in ranked:
        cosine = float(vectors[r.passage] @ query)
        assert r.dense_score == pytest.approx(cosine, abs=1e-5)
        expected = {"dense": cosine, "bm25": r.bm25_coverage, "hybrid": 0.5 * cosine + 0.5 * r.bm25_coverage}[mode]
        assert r.score == pytest.approx(expected, abs=1e-5)
    if mode == "dense":
        assert ranked[0].passage == 2
    if mode == "bm25":
        assert ranked[0].passage == 0


def test_our_words_are_exactly_bm25s_tokens():
    """Prose tokenizes as bm25s tokenizes it (same words, stopwords and stems); flags, versions
    and dotted names add their whole forms after those words, and change none of them."""
    import bm25s
    import Stemmer

    from hkai_qa.folding import fold
    from hkai_qa.lexical import CJK_RUN, _cjk_bigrams, bm25_tokenize

    texts = [
        "Hong Kong's government supports AI startups through HKSTP and the Innovation and Technology Fund.",
        "Running runners ran; the universities' collaborations are catalyzing growth — naïve café résumé 2018.",
        "What is the capital of France?",
        "",
        "a an the of",  # only stopwords and one-letter words
        "香港的人工智能 AI 生態",
        "Well-known self-driving cars - a 3.5% share of TestClient and kw_only users",  # nothing kept whole
        (REPO / "corpus" / "hong_kong_ai_ecosystem.txt").read_text(encoding="utf-8"),
        "Run bzip2 -L or --license; versions 0.9.0 and 1.0.8 keep app.state.",
    ]
    reference = bm25s.tokenize(
        [CJK_RUN.sub(_cjk_bigrams, fold(t)) for t in texts],
        stopwords="en_plus",
        stemmer=Stemmer.Stemmer("english"),
        return_ids=False,
        show_progress=False,
    )
    tokens = bm25_tokenize(texts)
    assert tokens[:-1] == reference[:-1]
    assert tokens[-1] == reference[-1] + ["-L", "--license", "0.9.0", "1.0.8", "app.state"]
    assert bm25_tokenize(texts[:1]) == reference[:1]  # cached stems give the same answer
