"""Ranking passages for a question: dense (FAISS), lexical (BM25 via bm25s), and their fusion.

Every function here works on vectors, token lists and id arrays, not on the
model, so each can be tested against a brute-force oracle in milliseconds.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .folding import fold

if TYPE_CHECKING:
    import bm25s
    import faiss

    from .vector_store import VectorStore

MODES = ("hybrid", "dense", "bm25")
RRF_K = 60

# --- dense --------------------------------------------------------------------------------------


# Up to this many passages, search is exact: a flat scan reads every vector, about 12 ms at 100k.
# Above it, an inverted-file (IVF) index scans the lists nearest each question, about IVF_SCAN
# vectors in all, so a search costs about the same at any size: at 1M about 1.5 ms with recall@10
# 0.99. HNSW was faster still but its recall fell to 0.89 at 1M. Measured with
# benchmarks/scale.py on SciFact-shaped data; see the README's Performance section.
EXACT_LIMIT = 100_000
IVF_SCAN = 4096
IVF_TRAINING_PER_LIST = 40
_ADD_CHUNK = 65_536
PARALLEL_SEARCH_FROM = 16  # queries


def build_faiss_index(vectors: np.ndarray, *, exact_limit: int = EXACT_LIMIT) -> faiss.Index:
    """An inner-product index (on unit vectors, the cosine similarity): exact up to `exact_limit` vectors.

    Above it, an IVF index: k-means lists (about 4·√n of them, trained on a fixed
    sample with a fixed seed, so a rebuild gives the same index), enough of them
    scanned per question to cover about IVF_SCAN vectors; the scores it returns are
    exact. Vectors are added a chunk at a time, so a memory-mapped `vectors` is
    never copied whole.
    """
    import faiss

    count, dimension = vectors.shape
    if count <= exact_limit:
        index = faiss.IndexFlatIP(dimension)
    else:
        lists = ivf_list_count(count)
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, lists, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10
        sample = np.random.default_rng(0).choice(count, min(count, IVF_TRAINING_PER_LIST * lists), replace=False)
        index.train(np.ascontiguousarray(vectors[np.sort(sample)], dtype=np.float32))
        index.nprobe = ivf_probe_count(count, lists)
    for start in range(0, count, _ADD_CHUNK):
        index.add(np.ascontiguousarray(vectors[start : start + _ADD_CHUNK], dtype=np.float32))
    return index


def ivf_list_count(count: int) -> int:
    """About 4·√count lists, a power of two: 1,024 at 100k passages, 4,096 at 1M."""
    return int(2 ** round(np.log2(4 * np.sqrt(count))))


def ivf_probe_count(count: int, lists: int) -> int:
    """Lists to scan so that about IVF_SCAN vectors are read: 42 of 1,024 at 100k, 17 of 4,096 at 1M."""
    return int(min(lists, max(8, round(IVF_SCAN * lists / count))))


def dense_search(index: faiss.Index, queries: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of the `depth` nearest passages per query; ids are -1 past the end.

    A few questions search on one thread: FAISS's OpenMP threads would fight the
    encoder's for the cores, and one question's scan is short (QA.ask p50 on
    SciFact 7-9 ms instead of 18-20 ms). A batch gets every core.
    """
    import faiss

    from .onnx_encoder import available_cores

    faiss.omp_set_num_threads(1 if len(queries) < PARALLEL_SEARCH_FROM else available_cores())
    depth = max(1, min(depth, index.ntotal))
    scores, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), depth)
    return scores, ids


# --- BM25 ---------------------------------------------------------------------------------------

_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")


def _cjk_bigrams(match: re.Match) -> str:
    """Chinese, Japanese and Korean have no spaces: index overlapping character pairs."""
    run = match.group()
    if len(run) == 1:
        return f" {run}{run} "
    return " " + " ".join(run[i : i + 2] for i in range(len(run) - 1)) + " "


_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's (and scikit-learn's) token pattern
_STOPWORDS: frozenset[str] | None = None
_STEMS: dict[str, str] = {}  # word -> Snowball stem; words stem alone, so this is exact
_STEMS_LIMIT = 200_000
_STEMMER_LOCK = threading.Lock()


def bm25_tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Folded, stop-worded, Snowball-stemmed English tokens; CJK text as character bigrams.

    The same tokens as `bm25s.tokenize(..., stopwords="en_plus", stemmer=english)`
    (a test checks), without its per-call progress bars and per-text stopword
    sets, which cost more than the search for a single question.
    """
    global _STOPWORDS
    if _STOPWORDS is None:
        from bm25s.stopwords import STOPWORDS_EN_PLUS

        _STOPWORDS = frozenset(STOPWORDS_EN_PLUS)
    words = [
        [w for w in _TOKEN.findall(_CJK_RUN.sub(_cjk_bigrams, fold(text)).lower()) if w not in _STOPWORDS]
        for text in texts
    ]
    known = _STEMS  # only ever grows, so a word found here stays found
    missing = list({w for text_words in words for w in text_words if w not in known})
    stemmed: dict[str, str] = {}
    if missing:
        import Stemmer

        with _STEMMER_LOCK:  # a PyStemmer object must not be used by two threads at once
            stemmed = dict(zip(missing, _stemmer(Stemmer).stemWords(missing), strict=True))
        if len(known) < _STEMS_LIMIT:  # a big corpus's whole vocabulary is not kept for the process's life
            known.update(stemmed)
    return [[known.get(w) or stemmed[w] for w in text_words] for text_words in words]


_STEMMER = None


def _stemmer(stemmer_module):
    global _STEMMER
    if _STEMMER is None:
        _STEMMER = stemmer_module.Stemmer("english")
    return _STEMMER


def build_bm25(texts: Sequence[str]) -> bm25s.BM25:
    """A Lucene-variant BM25 (k1=1.5, b=0.75) over `texts`."""
    import bm25s

    retriever = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    tokens = bm25_tokenize(texts)
    # bm25s cannot index a corpus with no tokens at all; an empty token keeps it valid.
    retriever.index([t or [""] for t in tokens], show_progress=False)
    return retriever


def bm25_scores(retriever: bm25s.BM25, query_tokens: list[str]) -> np.ndarray:
    """BM25 score of every passage for one tokenized query (zeros if no token is known)."""
    known = retriever.get_tokens_ids(query_tokens)
    if not known:
        return np.zeros(retriever.scores["num_docs"], dtype=np.float32)
    return np.asarray(retriever.get_scores_from_ids(known), dtype=np.float32)


def bm25_ceiling(retriever: bm25s.BM25, query_tokens: list[str]) -> float:
    """The highest BM25 score any passage could reach for this query: the sum of its terms' idf.

    Lucene BM25's term-frequency factor stays below 1, so dividing by this
    ceiling gives a coverage in [0, 1) that means the same for every question.
    """
    known = retriever.get_tokens_ids(query_tokens)
    if not known:
        return 0.0
    indptr = retriever.scores["indptr"]
    n_docs = retriever.scores["num_docs"]
    ids = np.asarray(known, dtype=np.int64)
    df = (indptr[ids + 1] - indptr[ids]).astype(np.float64)
    return float(np.log1p((n_docs - df + 0.5) / (df + 0.5)).sum())


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
    cjk = [t for t in query_tokens if _CJK_RUN.fullmatch(t)]
    if 2 * len(cjk) > len(query_tokens) and 2 * sum(t in vocabulary for t in cjk) < len(cjk):
        return "dense"
    return mode


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
) -> list[Ranked]:
    """Passages for one question, best first.

    Dense mode scores by cosine, BM25 mode by BM25 coverage, and hybrid mode by
    `alpha * cosine + (1 - alpha) * coverage` over the union of both top-`depth`
    lists; each is comparable across questions. Ties break by passage number.
    `store` (FAISS or Milvus) gives the dense top list and the vectors of every
    candidate, so BM25-only candidates get their cosine too. `dense` is the
    store's (scores, ids) for this question when already searched in a batch;
    `keep` returns only the first that many.
    """
    _, dense_ids = dense if dense is not None else store.search(query_vector[None, :], depth)
    dense_ranking = [int(i) for i in dense_ids[0] if i >= 0]
    lexical = bm25_scores(retriever, query_tokens)
    ceiling = bm25_ceiling(retriever, query_tokens)
    bm25_ranking = [int(i) for i in top_ids(lexical, depth) if lexical[i] > 0]
    if mode == "dense":
        candidates = dense_ranking
    elif mode == "bm25":
        candidates = bm25_ranking or dense_ranking
    else:
        candidates = list(dict.fromkeys(dense_ranking + bm25_ranking))
    ids = np.asarray(candidates, dtype=np.int64)
    cosine = store.vectors(ids) @ query_vector.astype(np.float32)
    bm25 = lexical[ids]
    coverage = bm25 / ceiling if ceiling > 0 else np.zeros_like(bm25)
    if mode == "dense":
        fused = cosine
    elif mode == "bm25":
        fused = coverage
    else:
        fused = alpha * cosine + (1.0 - alpha) * coverage
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
        )
        for i in order[:keep]
    ]


def load_bm25(folder: Path) -> bm25s.BM25:
    import bm25s

    return bm25s.BM25.load(str(folder), mmap=False, allow_pickle=False, load_corpus=False)
