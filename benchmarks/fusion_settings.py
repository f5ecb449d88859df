"""Every fusion setting tried for hybrid retrieval, scored on a BEIR benchmark (default SciFact).

    python benchmarks/fusion_settings.py [BEIR_FOLDER] [--index DIR]

Prints nDCG@10 and recall@100 per setting (documents ranked by their best passage), so the
choice of default mode and weight in hkai_qa/qa.py can be checked. The settings are a few
principled ones, not a search over SciFact's test judgements.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hkai_qa import QA, load_questions  # noqa: E402
from hkai_qa.retrieval import bm25_ceiling, bm25_scores, bm25_tokenize, dense_search, top_ids  # noqa: E402

DEPTH = 100


def load_beir(folder: Path) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """Test queries and their graded qrels, read (and checked) by hkai-qa's own loader."""
    questions = load_questions(folder).questions
    return {q.id: q.question for q in questions}, {q.id: dict(q.relevant) for q in questions}


def to_documents(passage_scores: dict[int, float], doc_ids: list[str]) -> dict[str, float]:
    best: dict[str, float] = {}
    for passage, score in passage_scores.items():
        doc = doc_ids[passage]
        if score > best.get(doc, -np.inf):
            best[doc] = score
    top = sorted(best.items(), key=lambda item: -item[1])[:DEPTH]
    return {doc: float(score) for doc, score in top}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("beir", nargs="?", default=str(REPO.parent / "shared" / "data" / "scifact"))
    parser.add_argument("--index", default=None)
    args = parser.parse_args()
    import pytrec_eval

    folder = Path(args.beir)
    queries, qrels = load_beir(folder)
    qa = QA(folder, args.index)
    store = qa._store
    doc_ids = [p.doc_id for p in qa.passages]
    ids = list(queries)
    texts = [queries[q] for q in ids]
    started = time.perf_counter()
    vectors = qa.embedder.encode(texts)
    tokens = bm25_tokenize(texts)
    print(f"{len(ids)} queries encoded in {time.perf_counter() - started:.1f} s; {len(doc_ids)} passages")

    runs: dict[str, dict[str, dict[str, float]]] = {}

    def add(name: str, qid: str, scores: dict[int, float]) -> None:
        runs.setdefault(name, {})[qid] = to_documents(scores, doc_ids)

    for qid, vector, query_tokens in zip(ids, vectors, tokens, strict=True):
        dense_scores, dense_ids = dense_search(store.faiss_index, vector[None, :], DEPTH)
        dense_ranking = [int(i) for i in dense_ids[0] if i >= 0]
        lexical = bm25_scores(store.bm25, query_tokens)
        ceiling = bm25_ceiling(store.bm25, query_tokens) or 1.0
        bm25_ranking = [int(i) for i in top_ids(lexical, DEPTH) if lexical[i] > 0]
        candidates = np.asarray(list(dict.fromkeys(dense_ranking + bm25_ranking)), dtype=np.int64)
        cosine = np.asarray(store.vectors[candidates]) @ vector
        coverage = lexical[candidates] / ceiling
        top_bm25 = max(float(lexical.max()), 1e-9)
        add("dense", qid, dict(zip(dense_ranking, dense_scores[0].tolist(), strict=False)))
        add("bm25", qid, {p: float(lexical[p]) for p in bm25_ranking})
        rrf: dict[int, float] = {}
        for ranking in (dense_ranking, bm25_ranking):
            for rank, p in enumerate(ranking, start=1):
                rrf[p] = rrf.get(p, 0.0) + 1.0 / (60 + rank)
        add("rrf k=60", qid, rrf)
        for alpha in (0.5, 0.6, 0.7, 0.8):
            fused = alpha * cosine + (1 - alpha) * coverage
            add(f"convex a={alpha} coverage", qid, dict(zip(candidates.tolist(), fused.tolist(), strict=True)))
        fused = 0.5 * cosine + 0.5 * lexical[candidates] / top_bm25
        add("convex a=0.5 max-norm", qid, dict(zip(candidates.tolist(), fused.tolist(), strict=True)))

    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100"})
    print(f"\n{'setting':<28} {'nDCG@10':>8} {'recall@100':>11}")
    for name, run in runs.items():
        results = evaluator.evaluate(run)
        ndcg = np.mean([r["ndcg_cut_10"] for r in results.values()])
        recall = np.mean([r["recall_100"] for r in results.values()])
        print(f"{name:<28} {ndcg:>8.4f} {recall:>11.4f}")


if __name__ == "__main__":
    main()
