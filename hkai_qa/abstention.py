"""Deriving a corpus's "not in the documents" rule when it is built, with no labelled questions.

A fixed threshold fitted on one corpus fails on the next: how high an unrelated
question scores depends on the corpus (its vocabulary, its size, how alike its
passages are) and on the model. So each build asks its own index two kinds of
questions: a bundled bank of general-knowledge questions no ordinary document
collection answers (data/off_topic_questions.txt), and the corpus's own section
headings, which it does answer. The threshold sits where the bank's high scores end,
never above halfway between the two kinds.

`threshold_between` is the rule on plain numbers (tested alone); `derived_abstention`
scores the questions on a built index and returns the manifest's "abstention" entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from ._defaults import CANDIDATE_DEPTH, LARGE_CORPUS_PASSAGES, hybrid_alpha
from .lexical import bm25_tokenize
from .ranking import rank_passages

if TYPE_CHECKING:
    import bm25s

    from .passages import Passage
    from .stores import VectorStore
    from .window_vectors import WindowVectors

# Share of the off-topic bank whose best score the threshold must exceed: a few bank
# questions touch any corpus's words (a recipe question over a cookbook); the rest must not pass.
OFF_TOPIC_QUANTILE = 0.95
# The low end of the corpus's own headings: questions the corpus answers score at least this high.
PSEUDO_QUESTION_QUANTILE = 0.10
# Headings scored at most: enough for a stable low quantile, few enough to stay a second's work.
MAX_PSEUDO_QUESTIONS = 100
# Modes whose thresholds are derived. BM25 coverage does not separate the bank (its common
# words match fully wherever they occur), so BM25 mode keeps its built-in threshold.
DERIVED_MODES = ("hybrid", "dense")


def off_topic_questions() -> list[str]:
    """The bundled bank of general-knowledge questions (data/off_topic_questions.txt)."""
    text = (resources.files("hkai_qa") / "data" / "off_topic_questions.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def pseudo_questions(passages: Sequence[Passage], limit: int = MAX_PSEUDO_QUESTIONS) -> list[str]:
    """The corpus's distinct section titles (the last part of each heading path), at most `limit`, evenly spread."""
    titles = list(dict.fromkeys(p.heading.split(" > ")[-1].strip() for p in passages if p.heading))
    titles = [t for t in titles if t]
    if len(titles) > limit:
        titles = [titles[i] for i in np.linspace(0, len(titles) - 1, limit).round().astype(int)]
    return titles


def threshold_between(off_topic: Sequence[float], answerable: Sequence[float]) -> float:
    """The score below which a best hit is taken not to answer.

    The OFF_TOPIC_QUANTILE of the off-topic scores, so nearly every unrelated
    question is flagged; but never above the midpoint between the off-topic
    median and the answerable scores' PSEUDO_QUESTION_QUANTILE, so where the two
    overlap (a corpus about general knowledge) questions it answers still pass.
    """
    off = np.asarray(off_topic, dtype=np.float64)
    high = float(np.quantile(off, OFF_TOPIC_QUANTILE))
    if len(answerable) == 0:
        return high
    low_answerable = float(np.quantile(np.asarray(answerable, dtype=np.float64), PSEUDO_QUESTION_QUANTILE))
    return min(high, (float(np.median(off)) + low_answerable) / 2)


def best_scores(
    questions: list[str],
    embedder: Any,
    store: VectorStore,
    retriever: bm25s.BM25,
    passage_count: int,
    windows: WindowVectors | None = None,
) -> dict[str, list[float]]:
    """Each question's best-hit score in each derived mode, as `QA.ask` ranks in that mode.

    With `windows`, a long passage's cosine is its best window's, as `QA.ask` scores it.

    Every question is scored in every mode, even one `QA.ask` would rank by meaning
    alone (`fusion_mode`): on a small corpus few bank questions share a word with it,
    too few to place a threshold by.
    """
    vectors = getattr(embedder, "encode_query", embedder.encode)(questions)
    tokens = bm25_tokenize(questions)
    alpha = hybrid_alpha(passage_count, getattr(embedder, "hybrid_alphas", None))
    dense = store.search(vectors, CANDIDATE_DEPTH)
    scores: dict[str, list[float]] = {mode: [] for mode in DERIVED_MODES}
    for i, (vector, question_tokens) in enumerate(zip(vectors, tokens, strict=True)):
        for mode in DERIVED_MODES:
            ranked = rank_passages(
                mode,
                vector,
                question_tokens,
                store,
                retriever,
                depth=CANDIDATE_DEPTH,
                alpha=alpha,
                dense=(dense[0][i : i + 1], dense[1][i : i + 1]),
                keep=1,
                windows=windows,
            )
            scores[mode].append(ranked[0].score if ranked else 0.0)
    return scores


def derived_abstention(
    embedder: Any,
    store: VectorStore,
    retriever: bm25s.BM25,
    passages: Sequence[Passage],
    built_in: dict[str, Any],
    windows: WindowVectors | None = None,
) -> dict[str, Any]:
    """The manifest's "abstention" entry for a freshly built index: thresholds derived from the corpus.

    `built_in` (the model's built-in entry) supplies BM25 mode's threshold, and every
    threshold when the corpus has no headings to score or is large: over thousands of
    passages (SciFact's abstracts) general questions find passages sharing their words
    and the bank's scores reach those of real questions, so its percentile would flag them.
    """
    pseudo = pseudo_questions(passages)
    off_topic = off_topic_questions()
    if not pseudo or len(passages) >= LARGE_CORPUS_PASSAGES:
        return built_in
    asked = best_scores(off_topic + pseudo, embedder, store, retriever, len(passages), windows)
    thresholds = dict(built_in["thresholds"])
    for mode in DERIVED_MODES:
        scores = asked[mode]
        thresholds[mode] = round(threshold_between(scores[: len(off_topic)], scores[len(off_topic) :]), 6)
    return {
        "thresholds": thresholds,
        "fitted_on": f"derived from the corpus ({len(pseudo)} pseudo-questions, {len(off_topic)} off-topic)",
    }


def is_calibrated(abstention: Any) -> bool:
    """Whether a manifest's "abstention" entry was fitted by `calibrate` on labelled questions."""
    if not isinstance(abstention, dict):
        return False
    fitted_on = str(abstention.get("fitted_on", "built-in"))
    return not fitted_on.startswith(("built-in", "derived"))
