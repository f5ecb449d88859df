"""Milvus's own full-text search (its BM25 function) against hkai-qa's local BM25 (bm25s), on SciFact.

    python benchmarks/experiments/milvus_fulltext.py --index DIR [BEIR_FOLDER]

A one-off experiment (it decided that BM25 stays local), kept to be re-run, not part of run_all.

DIR is an hkai-qa index of the BEIR corpus (for instance the faiss/ folder that
`benchmarks/milvus_vs_faiss.py --workdir W` keeps); its passages go, as searched
text (heading + text), into a Milvus Lite collection with a BM25 function
(standard tokenizer, lowercase, English stemmer and stop words). Prints nDCG@10
and p50 latency of both, documents ranked by their best passage. This is why
BM25 stays local: see the README, "Scale-out with Milvus".
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from hkai_qa import QA  # noqa: E402
from hkai_qa.index_store import read_index  # noqa: E402
from hkai_qa.lexical import bm25_scores, bm25_tokenize  # noqa: E402
from hkai_qa.metrics import documents_in_order, mean_trec_metrics  # noqa: E402
from hkai_qa.questions import beir_queries  # noqa: E402
from hkai_qa.ranking import top_ids  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from milvus_vs_faiss import DEPTH, ndcg_at_10  # noqa: E402

ANALYZER = {
    "tokenizer": "standard",
    "filter": ["lowercase", {"type": "stemmer", "language": "english"}, {"type": "stop", "stop_words": ["_english_"]}],
}


def milvus_fulltext(passages, queries: dict[str, str], qrels, work: Path) -> tuple[float, float, float]:
    """(build seconds, p50 search ms, nDCG@10) of a Milvus BM25 collection over the passages."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    client = MilvusClient(str(work / "fulltext.db"))
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params=ANALYZER)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function("bm25", FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]))
    index_params = client.prepare_index_params()
    index_params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    started = time.perf_counter()
    client.create_collection("fulltext", schema=schema, index_params=index_params)
    for start in range(0, len(passages), 1024):
        rows = [{"id": i, "text": passages[i].searchable_text} for i in range(start, min(start + 1024, len(passages)))]
        client.insert("fulltext", rows)
    client.flush("fulltext")
    build = time.perf_counter() - started
    run, times = {}, []
    for query_id, text in queries.items():
        started = time.perf_counter()
        [hits] = client.search(
            "fulltext", data=[text], anns_field="sparse", limit=DEPTH, search_params={"metric_type": "BM25"}
        )
        times.append((time.perf_counter() - started) * 1000)
        # Hits come best first (the score's sign varies by engine): documents at their best passage's place.
        run[query_id] = documents_in_order(passages[hit["id"]].doc_id for hit in hits)
    return build, statistics.median(times), mean_trec_metrics(qrels, run)["ndcg@10"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("beir", nargs="?", default=str(REPO.parent / "shared" / "data" / "scifact"))
    parser.add_argument("--index", required=True, help="an hkai-qa index of the BEIR corpus")
    args = parser.parse_args()
    queries, qrels = beir_queries(Path(args.beir))
    stored = read_index(args.index)
    passages = stored.passages
    times = []
    for text in queries.values():
        started = time.perf_counter()
        top_ids(bm25_scores(stored.bm25, bm25_tokenize([text])[0]), DEPTH)
        times.append((time.perf_counter() - started) * 1000)
    local_ndcg = ndcg_at_10(QA.load(args.index, mode="bm25"), queries, qrels)
    with tempfile.TemporaryDirectory() as work:
        build, p50, ndcg = milvus_fulltext(passages, queries, qrels, Path(work))
    print(f"\n{len(queries)} queries, {len(passages):,} passages\n")
    print(f"{'BM25':<26} {'build s':>8} {'p50 ms':>8} {'nDCG@10':>8}")
    print(f"{'hkai-qa local (bm25s)':<26} {'-':>8} {statistics.median(times):>8.1f} {local_ndcg:>8.4f}")
    print(f"{'Milvus Lite BM25 function':<26} {build:>8.1f} {p50:>8.1f} {ndcg:>8.4f}")
    print("(p50: one query's top 100 passages, tokenizing included; nDCG@10 of hkai-qa's bm25 mode)")


if __name__ == "__main__":
    main()
