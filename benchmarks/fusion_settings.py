"""Every fusion setting tried for hybrid retrieval, scored on a BEIR benchmark (default SciFact).

    python benchmarks/fusion_settings.py [BEIR_FOLDER] [--index DIR]

Each setting runs the shipped ranking, `hkai_qa.ranking.rank_passages`, with its mode and
alpha (reciprocal rank fusion through `ranking.fuse`), over the index `QA` builds; documents
are ranked by their best passage (`metrics.documents_in_order`) and scored by trec_eval
(`metrics.mean_trec_metrics`), as `hkai-qa eval` does. The row marked * is the default `QA`
uses for this corpus (`_defaults.hybrid_alpha`). The settings are a few principled ones, not a
search over SciFact's test judgements.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hkai_qa import QA  # noqa: E402
from hkai_qa._defaults import CANDIDATE_DEPTH, DEFAULT_MODE, hybrid_alpha  # noqa: E402
from hkai_qa.build import open_index  # noqa: E402
from hkai_qa.lexical import bm25_tokenize  # noqa: E402
from hkai_qa.metrics import documents_in_order, mean_trec_metrics  # noqa: E402
from hkai_qa.questions import beir_queries  # noqa: E402
from hkai_qa.ranking import fuse, rank_passages  # noqa: E402

ALPHAS = (0.5, 0.6, 0.7, 0.8)
DOCUMENTS = 100


def settings() -> list[tuple[str, str, float | None]]:
    """(name, mode, alpha): alpha None means reciprocal rank fusion of the dense and BM25 lists."""
    return [
        ("dense", "dense", 1.0),
        ("bm25", "bm25", 0.0),
        ("rrf k=60", "rrf", None),
        *((f"hybrid a={a}", "hybrid", a) for a in ALPHAS),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("beir", nargs="?", default=str(REPO.parent / "shared" / "data" / "scifact"))
    parser.add_argument("--index", default=None)
    args = parser.parse_args()

    folder = Path(args.beir)
    queries, qrels = beir_queries(folder)
    qa = QA(folder, args.index)
    loaded, _ = open_index(qa.index_dir, qa.store_spec)
    doc_ids = [p.doc_id for p in qa.passages]
    ids = list(queries)
    texts = [queries[q] for q in ids]
    started = time.perf_counter()
    vectors = qa.embedder.encode(texts)
    tokens = bm25_tokenize(texts)
    print(f"{len(ids)} queries encoded in {time.perf_counter() - started:.1f} s; {len(doc_ids):,} passages")

    shipped = (DEFAULT_MODE, hybrid_alpha(len(doc_ids)))
    print(f"\n{'setting':<16} {'nDCG@10':>8} {'recall@100':>11}")
    for name, mode, alpha in settings():
        rankings = {}
        for query, vector, query_tokens in zip(ids, vectors, tokens, strict=True):
            if alpha is None:
                dense = rank_passages(
                    "dense", vector, query_tokens, loaded.vectors, loaded.stored.bm25, CANDIDATE_DEPTH, 1
                )
                lexical = rank_passages(
                    "bm25", vector, query_tokens, loaded.vectors, loaded.stored.bm25, CANDIDATE_DEPTH, 0
                )
                order = [c.passage for c in fuse([r.passage for r in dense], [r.passage for r in lexical])]
            else:
                ranked = rank_passages(
                    mode, vector, query_tokens, loaded.vectors, loaded.stored.bm25, CANDIDATE_DEPTH, alpha
                )
                order = [r.passage for r in ranked]
            rankings[query] = documents_in_order(doc_ids[p] for p in order)[:DOCUMENTS]
        scores = mean_trec_metrics(qrels, rankings)
        mark = " *" if (mode, alpha) == shipped else ""
        print(f"{name:<16} {scores['ndcg@10']:>8.4f} {scores['recall@100']:>11.4f}{mark}")
    print(f"\n* the default for {len(doc_ids):,} passages: {shipped[0]}, alpha {shipped[1]}")


if __name__ == "__main__":
    main()
