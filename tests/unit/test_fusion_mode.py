"""Which questions hybrid fuses, and which it leaves to the dense side (a language the corpus does not use)."""

from __future__ import annotations

import numpy as np
import pytest

from hkai_qa.lexical import bm25_tokenize, build_bm25
from hkai_qa.ranking import fusion_mode, rank_passages

ENGLISH = [
    "Hong Kong's 香港AI infrastructure includes high-speed internet and data centers.",
    "The government funds AI startups through HKSTP and the Innovation and Technology Fund.",
    "Banks use AI for fraud detection and chatbots.",
]
CHINESE = ["香港政府透過創新及科技基金支持人工智能初創企業。", "銀行用人工智能偵測詐騙。"]


@pytest.mark.parametrize(
    ("question", "corpus", "expected"),
    [
        ("How does the government support AI startups?", ENGLISH, "hybrid"),
        ("What is the capital of France?", ENGLISH, "dense"),  # no word of it in the corpus
        ("香港政府點樣支持人工智能發展？", ENGLISH, "dense"),  # 香港 is known, the other bigrams are not
        ("香港嘅AI初創點樣攞資助？", ENGLISH, "dense"),  # "ai" is known, but the question is Chinese
        ("香港政府點樣支持人工智能初創企業？", CHINESE, "hybrid"),  # a Chinese corpus reads it
        ("HKSTP 係咩？", ENGLISH, "hybrid"),  # mostly Latin: BM25 has its say
    ],
)
def test_hybrid_leaves_unreadable_questions_to_the_dense_side(question, corpus, expected):
    retriever = build_bm25(corpus)
    assert fusion_mode("hybrid", bm25_tokenize([question])[0], retriever) == expected


@pytest.mark.parametrize("mode", ["dense", "bm25"])
def test_other_modes_are_kept(mode):
    retriever = build_bm25(ENGLISH)
    assert fusion_mode(mode, bm25_tokenize(["香港政府點樣支持人工智能發展？"])[0], retriever) == mode


class ArrayStore:
    """The two calls rank_passages makes of a vector store, over a numpy matrix (exact search)."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.matrix = vectors

    def search(self, queries: np.ndarray, depth: int):
        scores = queries @ self.matrix.T
        ids = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
        return np.take_along_axis(scores, ids, axis=1), ids

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        return self.matrix[ids]


def test_a_dense_question_scores_its_cosine_not_a_share_of_it():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(ENGLISH), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    question = vectors[1] + 0.1 * rng.normal(size=8).astype(np.float32)
    question /= np.linalg.norm(question)
    retriever = build_bm25(ENGLISH)
    tokens = bm25_tokenize(["香港政府點樣支持人工智能發展？"])[0]
    store = ArrayStore(vectors)
    mode = fusion_mode("hybrid", tokens, retriever)
    ranked = rank_passages(mode, question, tokens, store, retriever, depth=3, alpha=0.8)
    fused = rank_passages("hybrid", question, tokens, store, retriever, depth=3, alpha=0.8)
    assert ranked[0].passage == 1
    assert ranked[0].score == pytest.approx(float(vectors[1] @ question), abs=1e-6)
    # Fused, the 香港 bigram alone would lift passage 0 and every score would lose a fifth.
    assert ranked[0].score > fused[0].score
