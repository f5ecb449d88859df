"""The same BEIR benchmark (default SciFact) built into FAISS and into Milvus Lite, side by side.

    python benchmarks/milvus_vs_faiss.py [BEIR_FOLDER] [--modes dense,hybrid] [--workdir DIR]

Prints, per store: build time (encoding included, model load excluded, as the
manifest records it), p50/p95 of one dense search (the store alone, query
already encoded), p50 of a whole `ask`, and nDCG@10 per retrieval mode over
qrels/test.tsv by hkai-qa's own metrics (trec_eval), documents ranked by their best passage. FAISS
is the baseline; Milvus should match its nDCG@10 within 0.005. Latencies are
measured alternately, one query on each store in turn, so a busy machine
slows both alike. With --workdir the indexes are kept there and reused.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hkai_qa import QA  # noqa: E402
from hkai_qa.embedding import Embedder  # noqa: E402
from hkai_qa.metrics import documents_in_order, mean_trec_metrics  # noqa: E402
from hkai_qa.questions import beir_queries  # noqa: E402

DEPTH = 100


def ndcg_at_10(qa: QA, queries: dict[str, str], qrels: dict[str, dict[str, int]]) -> float:
    """Mean nDCG@10 of `qa`'s own ranking (`QA.retrieve`), documents at their best passage's place, by trec_eval."""
    ids = list(queries)
    rankings: dict[str, list[str]] = {}
    for start in range(0, len(ids), 64):
        batch = ids[start : start + 64]
        answers = qa.retrieve([queries[q] for q in batch], DEPTH, evidence_for=0)
        for query_id, answer in zip(batch, answers, strict=True):
            rankings[query_id] = documents_in_order(hit.doc_id for hit in answer.hits)
    return mean_trec_metrics(qrels, rankings)["ndcg@10"]


def latencies(stores: dict[str, QA], queries: list[str]) -> dict[str, tuple[float, float, float]]:
    """Per store: p50 and p95 of one store search, and p50 of one whole ask, in milliseconds."""
    vectors = next(iter(stores.values())).embedder.encode(queries)
    search: dict[str, list[float]] = {name: [] for name in stores}
    ask: dict[str, list[float]] = {name: [] for name in stores}
    for vector in vectors:
        for name, qa in stores.items():
            started = time.perf_counter()
            qa.vector_store.search(vector[None, :], DEPTH)
            search[name].append((time.perf_counter() - started) * 1000)
    for question in queries[:100]:
        for name, qa in stores.items():
            started = time.perf_counter()
            qa.ask(question, k=10)
            ask[name].append((time.perf_counter() - started) * 1000)
    figures = {}
    for name in stores:
        times = sorted(search[name])
        figures[name] = (statistics.median(times), times[int(0.95 * (len(times) - 1))], statistics.median(ask[name]))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("beir", nargs="?", default=str(REPO.parent / "shared" / "data" / "scifact"))
    parser.add_argument("--modes", default="dense,hybrid", help="retrieval modes to score (default: dense,hybrid)")
    parser.add_argument("--workdir", default=None, help="keep and reuse the indexes here (default: a temporary folder)")
    args = parser.parse_args()
    folder = Path(args.beir)
    if not (folder / "corpus.jsonl").is_file():
        sys.exit(f"no BEIR corpus at {folder} (expected corpus.jsonl, queries.jsonl, qrels/test.tsv)")
    modes = args.modes.split(",")
    queries, qrels = beir_queries(folder)
    Embedder().encode(["load the model before any timing"])

    with contextlib.ExitStack() as stack:
        work = Path(args.workdir) if args.workdir else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        work.mkdir(parents=True, exist_ok=True)
        specs = {"faiss": "faiss", "milvus-lite": f"milvus:{work / 'milvus.db'}"}
        stores = {}
        for name, spec in specs.items():
            stores[name] = QA(folder, work / name, store=spec, progress=False, notify=lambda _: None)
            print(f"  {name}: built in {stores[name].manifest['build_seconds']:.1f} s", file=sys.stderr, flush=True)
        timing = latencies(stores, list(queries.values()))
        ndcg: dict[str, dict[str, float]] = {name: {} for name in stores}
        for mode in modes:
            for name, qa in stores.items():
                ndcg[name][mode] = ndcg_at_10(qa.with_mode(mode), queries, qrels)

    passages = len(stores["faiss"].passages)
    print(f"\n{folder.name}: {len(queries)} test queries, {passages:,} passages, exact inner product in both\n")
    header = f"{'store':<12} {'build s':>8} {'search p50 ms':>14} {'search p95 ms':>14} {'ask p50 ms':>11}"
    print(header + "".join(f" {'nDCG@10 ' + m:>15}" for m in modes))
    for name, qa in stores.items():
        p50, p95, ask_p50 = timing[name]
        line = f"{name:<12} {qa.manifest['build_seconds']:>8.1f} {p50:>14.2f} {p95:>14.2f} {ask_p50:>11.1f}"
        print(line + "".join(f" {ndcg[name][m]:>15.4f}" for m in modes))
    differences = ", ".join(f"{m} {ndcg['milvus-lite'][m] - ndcg['faiss'][m]:+.4f}" for m in modes)
    print(f"\nmilvus-lite - faiss nDCG@10: {differences}")


if __name__ == "__main__":
    main()
