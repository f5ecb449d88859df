"""Ranking passages for a question: dense, lexical (BM25) and their fusion, over rows and scores.

Every function here works on vectors, token lists and id arrays, not on the
model, so each can be tested against a brute-force oracle in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._defaults import HYBRID_ALPHA_SMALL
from .lexical import CJK_RUN, bm25_ceiling, bm25_scores, is_whole_token

if TYPE_CHECKING:
    import bm25s

    from .sentence_vectors import SentenceVectors
    from .stores import VectorStore
    from .window_vectors import WindowVectors

RRF_K = 60


def top_ids(scores: np.ndarray, depth: int) -> np.ndarray:
    """Ids of the `depth` highest scores, best first, ties broken by lower id."""
    depth = min(depth, len(scores))
    if depth <= 0:
        return np.empty(0, dtype=np.int64)
    candidates = np.argpartition(-scores, depth - 1)[:depth] if depth < len(scores) else np.arange(len(scores))
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order].astype(np.int64)


# --- fusion -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One passage's standing in each ranking (ranks start at 1; None when absent)."""

    passage: int
    fused: float
    dense_rank: int | None
    bm25_rank: int | None


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> dict[int, float]:
    """Sum of 1 / (k + rank) over the rankings each id appears in (Cormack et al., 2009)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, passage in enumerate(ranking, start=1):
            fused[passage] = fused.get(passage, 0.0) + 1.0 / (k + rank)
    return fused


def fuse(dense_ranking: Sequence[int], bm25_ranking: Sequence[int], k: int = RRF_K) -> list[Candidate]:
    """Candidates from both rankings, best fused score first, ties broken by id."""
    fused = reciprocal_rank_fusion([dense_ranking, bm25_ranking], k=k)
    dense_rank = {p: r for r, p in enumerate(dense_ranking, start=1)}
    bm25_rank = {p: r for r, p in enumerate(bm25_ranking, start=1)}
    ordered = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    return [Candidate(p, s, dense_rank.get(p), bm25_rank.get(p)) for p, s in ordered]


@dataclass(frozen=True)
class Ranked:
    """A passage's place for one question, with every score that went into it."""

    passage: int
    score: float
    dense_score: float
    bm25_score: float
    bm25_coverage: float
    dense_rank: int | None
    bm25_rank: int | None
    # The hybrid score without the closest sentence's share: what abstention judges (see `judged_score`).
    passage_score: float | None = None
    sentence_score: float | None = None


def judged_score(ranked: Sequence[Ranked]) -> float:
    """The score abstention compares with the threshold: the best passage-level score among the candidates.

    Sentence evidence reorders passages, but a question off the corpus's topic
    still finds some sentence close to it, so "not in the documents" is judged on
    the passage-level score, as the thresholds were derived and calibrated.
    """
    return max((r.score if r.passage_score is None else r.passage_score for r in ranked), default=0.0)


def fusion_mode(mode: str, query_tokens: list[str], retriever: bm25s.BM25) -> str:
    """`mode`, except "dense" for a hybrid question whose words BM25 cannot read.

    That is a question none of whose tokens the corpus holds, or a mostly CJK
    question whose CJK bigrams the corpus mostly lacks (a Chinese question over
    English text that mentions "AI" or 香港 once). Fused, its empty lexical side
    would only pull every score down by the same share and let a stray Latin word
    decide the order; dense alone ranks it, and the dense threshold judges it.
    """
    if mode != "hybrid":
        return mode
    vocabulary = retriever.vocab_dict
    known = [t for t in query_tokens if t in vocabulary]
    if not known:
        return "dense"
    cjk = [t for t in query_tokens if CJK_RUN.fullmatch(t)]
    if 2 * len(cjk) > len(query_tokens) and 2 * sum(t in vocabulary for t in cjk) < len(cjk):
        return "dense"
    return mode


# --- a narrow-band model's order (multilingual-e5-small) -----------------------------------------


def unit_range(values: np.ndarray) -> np.ndarray:
    """`values` mapped onto [0, 1] over one question's candidates (all 0 when they are equal)."""
    if len(values) == 0:
        return values
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def rescaled_order(
    mode: str, cosine: np.ndarray, closest: np.ndarray, coverage: np.ndarray, passage_level: np.ndarray
) -> np.ndarray:
    """One question's order scores over its candidates for a model whose cosines sit in a narrow band (e5).

    Every passage's cosine lies within a few hundredths of the others', so any fixed
    share of BM25 coverage (spread over [0, 1)) decides the order, and a fixed weight
    fitted to one corpus misfits the next. So hybrid mode puts meaning (the passage's
    cosine and its closest sentence's, averaged) and coverage each on [0, 1] over the
    candidates and weighs them as the default model's raw scores are; the result is
    laid over the range of the passage-level scores, so hit scores read on the
    model's own scale. Dense mode (and a question BM25 cannot read, in another
    language than the corpus) takes the closer of the passage and its closest
    sentence: such a question matches one sentence better than a whole passage.
    """
    if mode == "dense":
        return np.maximum(cosine, closest)
    if len(cosine) == 0:
        return passage_level
    meaning = unit_range((cosine + closest) / 2)
    order = HYBRID_ALPHA_SMALL * meaning + (1.0 - HYBRID_ALPHA_SMALL) * unit_range(coverage)
    low, high = float(passage_level.min()), float(passage_level.max())
    return low + (high - low) * order if high > low else passage_level


# The cosine's share of a hybrid score, at most, for a question naming a flag, a version or a dotted name
# the corpus holds: such a token says exactly which passage is meant, where meaning only says what about.
EXACT_TOKEN_ALPHA = 0.5


def exact_token_alpha(alpha: float, query_tokens: list[str], retriever: bm25s.BM25) -> float:
    """`alpha`, lowered to EXACT_TOKEN_ALPHA for a question with a whole token (lexical.py) the corpus holds."""
    vocabulary = retriever.vocab_dict
    if any(_names_something(t) and t in vocabulary for t in query_tokens):
        return min(alpha, EXACT_TOKEN_ALPHA)
    return alpha


def _names_something(token: str) -> bool:
    """A token kept whole (flag, version, dotted name), but not an abbreviation of single letters (e.g., U.S.)."""
    return is_whole_token(token) and not all(len(part) == 1 and part.isalpha() for part in token.split("."))


def rank_passages(
    mode: str,
    query_vector: np.ndarray,
    query_tokens: list[str],
    store: VectorStore,
    retriever: bm25s.BM25,
    depth: int,
    alpha: float,
    dense: tuple[np.ndarray, np.ndarray] | None = None,
    keep: int | None = None,
    sentences: SentenceVectors | None = None,
    sentence_share: float = 0.0,
    rescaled: bool = False,
    windows: WindowVectors | None = None,
) -> list[Ranked]:
    """Passages for one question, best first.

    Dense mode scores by cosine, BM25 mode by BM25 coverage, and hybrid mode by
    `alpha * cosine + (1 - alpha) * coverage` over the union of both top-`depth`
    lists; each is comparable across questions. Ties break by passage number.
    `store` (FAISS or Milvus) gives the dense top list and the vectors of every
    candidate, so BM25-only candidates get their cosine too. `dense` is the
    store's (scores, ids) for this question when already searched in a batch;
    `keep` returns only the first that many.

    With `sentences` (a small corpus's sentence vectors) hybrid mode moves
    `sentence_share` of the cosine's weight to the passage's closest sentence:
    `(alpha - share) * cosine + share * closest sentence + (1 - alpha) * coverage`.
    With `sentences` and `rescaled` (a model whose cosines sit in a narrow band, e5)
    dense and hybrid modes order by `rescaled_order` instead. Either way abstention
    judges the passage-level score (`judged_score`), as without sentences.

    With `windows` (a small corpus's passages longer than the model's window), a
    passage's cosine is the best of its own and its windows' in every mode but bm25,
    and its best window brings it into the candidates as a dense hit would; the
    passage-level score abstention judges uses that cosine too, as a passage cut at
    the model's window had.
    """
    _, dense_ids = dense if dense is not None else store.search(query_vector[None, :], depth)
    dense_ranking = [int(i) for i in dense_ids[0] if i >= 0]
    lexical = bm25_scores(retriever, query_tokens)
    ceiling = bm25_ceiling(retriever, query_tokens)
    bm25_ranking = [int(i) for i in top_ids(lexical, depth) if lexical[i] > 0]
    closest_all = None
    vector_ranking: list[int] = []
    if sentences is not None and ((mode == "hybrid" and sentence_share > 0) or (rescaled and mode != "bm25")):
        closest_all = sentences.closest(query_vector, len(lexical))
        # A passage whose one sentence answers may sit outside both top lists: its sentence brings it in.
        vector_ranking = [int(i) for i in top_ids(closest_all, depth)]
    window_best = None
    if windows is not None and mode != "bm25":
        window_best = windows.best(query_vector, len(lexical))
        # A passage whose later window answers may sit outside the dense top list: that window brings it in.
        vector_ranking += [int(i) for i in top_ids(window_best, depth) if np.isfinite(window_best[i])]
    if mode == "dense":
        candidates = list(dict.fromkeys(dense_ranking + vector_ranking))
    elif mode == "bm25":
        candidates = bm25_ranking or dense_ranking
    else:
        candidates = list(dict.fromkeys(dense_ranking + bm25_ranking + vector_ranking))
    ids = np.asarray(candidates, dtype=np.int64)
    cosine = store.vectors(ids) @ query_vector.astype(np.float32)
    if window_best is not None:
        cosine = np.maximum(cosine, window_best[ids])
    bm25 = lexical[ids]
    coverage = bm25 / ceiling if ceiling > 0 else np.zeros_like(bm25)
    if mode == "dense":
        fused = cosine
    elif mode == "bm25":
        fused = coverage
    else:
        fused = alpha * cosine + (1.0 - alpha) * coverage
    passage_level = fused
    closest = None if closest_all is None else closest_all[ids]
    if closest is not None and rescaled:
        fused = rescaled_order(mode, cosine, closest, coverage, passage_level)
    elif closest is not None:
        fused = passage_level + sentence_share * (closest - cosine)
    dense_rank = {p: r for r, p in enumerate(dense_ranking, start=1)}
    bm25_rank = {p: r for r, p in enumerate(bm25_ranking, start=1)}
    order = np.lexsort((ids, -fused))
    return [
        Ranked(
            passage=int(ids[i]),
            score=float(fused[i]),
            dense_score=float(cosine[i]),
            bm25_score=float(bm25[i]),
            bm25_coverage=float(coverage[i]),
            dense_rank=dense_rank.get(int(ids[i])),
            bm25_rank=bm25_rank.get(int(ids[i])),
            passage_score=float(passage_level[i]),
            sentence_score=None if closest is None else float(closest[i]),
        )
        for i in order[:keep]
    ]
