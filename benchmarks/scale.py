"""Scale: synthetic corpora of 100k and 1M passages with the structure of real embeddings, no text.
Build time, memory, search latency and recall@10 against exact search, for the exact (flat) index
and the approximate ones, as `hkai_qa.stores.faiss.build_faiss_index` builds and `read_faiss_index` loads
them (memory-mapped).

    python benchmarks/scale.py [--sizes 10000 100000 1000000] [--kinds flat ivf hnsw] [--queries 300]

Passages: SciFact's real passage vectors (from its index, built by benchmarks/index_build.py if
missing), each repeated with Gaussian noise and renormalised. The noise is set so a copy's cosine
to its original equals the median cosine between a real passage and its nearest real neighbour:
the copies of one passage are as alike as real neighbours are. Queries: SciFact's claims,
encoded. Searches run one question at a time for the top 100 (what `QA.ask` asks of FAISS),
kinds interleaved question by question. Target at 1M: p50 ≤ 5 ms with recall@10 ≥ 0.95.
Each size runs in its own process; a PNG of latency and memory against size goes to results/.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from measure import (
    PYTHON,
    REPO,
    RESULTS,
    SCIFACT,
    check,
    environment,
    machine,
    own_rss_mb,
    percentile,
    query_texts,
    report,
    run_process,
    table,
)

DEPTH = 100
CHUNK = 65_536


def real_vectors() -> tuple[np.ndarray, np.ndarray]:
    """SciFact's passage vectors (its index is built if missing) and its claims, encoded."""
    sys.path.insert(0, str(REPO))
    from hkai_qa import QA

    qa = QA(SCIFACT, notify=lambda message: print(message, file=sys.stderr))
    vectors = qa.vector_store.vectors(np.arange(len(qa.passages)))
    return np.asarray(vectors, dtype=np.float32), qa.embedder.encode(query_texts(SCIFACT))


def matching_noise(passages: np.ndarray) -> tuple[float, float]:
    """(sigma, target cosine): the noise that puts a copy at the median real nearest-neighbour cosine."""
    similarities = passages @ passages.T
    np.fill_diagonal(similarities, -1.0)
    target = float(np.median(similarities.max(axis=1)))
    # |noise|^2 = d * sigma^2 and cos = 1 / sqrt(1 + |noise|^2) for noise orthogonal to a unit vector.
    sigma = float(np.sqrt((1.0 / target**2 - 1.0) / passages.shape[1]))
    return sigma, target


def synthetic(passages: np.ndarray, size: int, sigma: float, seed: int = 0) -> np.ndarray:
    """`size` unit vectors: real passages in turn, each with fresh Gaussian noise."""
    rng = np.random.default_rng(seed)
    out = np.empty((size, passages.shape[1]), dtype=np.float32)
    for start in range(0, size, CHUNK):
        rows = np.arange(start, min(size, start + CHUNK)) % len(passages)
        block = passages[rows] + rng.normal(0.0, sigma, (len(rows), passages.shape[1])).astype(np.float32)
        out[start : start + len(rows)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def build(kind: str, vectors: np.ndarray):
    """The index `build_faiss_index` makes (flat, or IVF above its limit), or the HNSW it was compared with."""
    import faiss

    from hkai_qa.stores.faiss import build_faiss_index

    if kind == "flat":
        return build_faiss_index(vectors, exact_limit=len(vectors))
    if kind == "ivf":
        return build_faiss_index(vectors, exact_limit=0)
    index = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 64
    index.hnsw.efSearch = 128
    for start in range(0, len(vectors), CHUNK):
        index.add(vectors[start : start + CHUNK])
    return index


def size_worker(size: int, kinds: list[str], queries_count: int, sigma: float, folder: Path) -> None:
    """One corpus size: build each kind, save it, load it back memory-mapped, time searches."""
    sys.path.insert(0, str(REPO))
    import faiss

    from hkai_qa.stores.faiss import read_faiss_index

    passages = np.load(folder / "passages.npy")
    queries = np.load(folder / "queries.npy")[:queries_count]
    vectors = synthetic(passages, size, sigma)
    results: dict[str, dict] = {}
    files = {}
    for kind in kinds:
        started = time.perf_counter()
        index = build(kind, vectors)
        results[kind] = {"build_s": time.perf_counter() - started, "type": type(index).__name__}
        files[kind] = folder / f"{kind}-{size}.index"
        faiss.write_index(index, str(files[kind]))
        results[kind]["file_mb"] = files[kind].stat().st_size / 2**20
        del index
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    truth = exact.search(queries, 10)[1]
    del exact, vectors
    loaded = {}
    for kind in kinds:  # memory: what loading (memory-mapped) and answering every query adds
        before = own_rss_mb()
        started = time.perf_counter()
        loaded[kind] = read_faiss_index(files[kind])
        results[kind]["load_s"] = time.perf_counter() - started
        found = np.stack([loaded[kind].search(q[None, :], DEPTH)[1][0, :10] for q in queries])
        results[kind]["rss_mb"] = own_rss_mb() - before
        results[kind]["recall@10"] = float(
            np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
        )
    seconds: dict[str, list[float]] = {kind: [] for kind in kinds}
    faiss.omp_set_num_threads(1)  # as hkai-qa searches for one question (retrieval.dense_search)
    for _ in range(2):
        for query in queries:
            for kind in kinds:
                started = time.perf_counter()
                loaded[kind].search(query[None, :], DEPTH)
                seconds[kind].append(time.perf_counter() - started)
    for kind in kinds:
        results[kind]["p50_ms"] = percentile(seconds[kind], 50) * 1000
        results[kind]["p95_ms"] = percentile(seconds[kind], 95) * 1000
    # How recall and latency trade at other settings (what chose the defaults).
    settings = {"ivf": ("nprobe", [8, 16, 32, 64]), "hnsw": ("efSearch", [100, 128, 256, 512])}
    for kind in kinds:
        if kind not in settings:
            continue
        name, values = settings[kind]
        target = loaded[kind] if kind == "ivf" else loaded[kind].hnsw
        default = getattr(target, name)
        results[kind]["sweep"] = {}
        for value in values:
            setattr(target, name, value)
            times, recalls = [], []
            for query, true in zip(queries, truth, strict=True):
                started = time.perf_counter()
                found = loaded[kind].search(query[None, :], DEPTH)[1][0, :10]
                times.append(time.perf_counter() - started)
                recalls.append(len(set(found) & set(true)) / 10)
            results[kind]["sweep"][f"{name}={value}"] = {
                "p50_ms": percentile(times, 50) * 1000,
                "recall@10": float(np.mean(recalls)),
            }
        setattr(target, name, default)
    for kind in kinds:
        files[kind].unlink()
    print(json.dumps(results))


def plot(figures: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (latency, memory) = plt.subplots(1, 2, figsize=(10, 4))
    for kind in figures["kinds"]:
        sizes = [int(s) for s in figures["sizes"] if kind in figures["sizes"][s]]
        rows = [figures["sizes"][str(s)][kind] for s in sizes]
        latency.plot(sizes, [r["p50_ms"] for r in rows], marker="o", label=f"{kind} p50")
        memory.plot(sizes, [r["file_mb"] for r in rows], marker="o", label=f"{kind} index size")
        memory.plot(sizes, [max(r["rss_mb"], 0.1) for r in rows], marker="x", linestyle="--", label=f"{kind} resident")
    latency.axhline(5, color="grey", linestyle=":", label="5 ms target")
    for axes, label in ((latency, "search latency, ms (top 100, one query)"), (memory, "memory, MB")):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("passages")
        axes.set_ylabel(label)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
    fig.suptitle("FAISS search at scale (synthetic passages with SciFact's structure)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--kinds", nargs="+", default=["flat", "ivf", "hnsw"], choices=["flat", "ivf", "hnsw"])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        size, kinds, sigma, folder = args.worker
        return size_worker(int(size), kinds.split(","), args.queries, float(sigma), Path(folder))
    passages, queries = real_vectors()
    sigma, target = matching_noise(passages)
    figures: dict = {"sigma": sigma, "copy_cosine": target, "kinds": args.kinds, "sizes": {}}
    rows, sweep_rows = [], []
    with tempfile.TemporaryDirectory(prefix="hkai-qa-scale-") as folder:
        np.save(Path(folder) / "passages.npy", passages)
        np.save(Path(folder) / "queries.npy", queries)
        for size in args.sizes:
            command = [PYTHON, __file__, "--queries", str(args.queries)]
            command += ["--worker", str(size), ",".join(args.kinds), repr(sigma), folder]
            run = check(run_process(command, environment()), f"size {size}")
            results = json.loads(run.stdout.strip().splitlines()[-1])
            figures["sizes"][str(size)] = {**results, "peak_rss_mb": run.peak_rss_mb}
            for kind, r in results.items():
                for setting, figures_at in r.get("sweep", {}).items():
                    sweep_rows.append(
                        [f"{size:,}", kind, setting, f"{figures_at['p50_ms']:.2f}", f"{figures_at['recall@10']:.3f}"]
                    )
                rows.append(
                    [
                        f"{size:,}",
                        f"{kind} ({r['type']})",
                        f"{r['build_s']:.1f}",
                        f"{r['file_mb']:.0f}",
                        f"{r['rss_mb']:.0f}",
                        f"{r['p50_ms']:.2f}",
                        f"{r['p95_ms']:.2f}",
                        f"{r['recall@10']:.3f}",
                    ]
                )
            print(rows[-1], file=sys.stderr, flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(figures, RESULTS / "scale.png")
    million = figures["sizes"].get("1000000", {})
    notes = [
        f"Noise σ={sigma:.4f} per dimension: a copy's cosine to its original is {target:.3f}, the median cosine "
        "between a real SciFact passage and its nearest neighbour.",
        f"Search: one query at a time, top {DEPTH}, {args.queries} SciFact claims, kinds interleaved; "
        "resident = RSS added by loading (memory-mapped) and answering them all. {machine}.".format(machine=machine()),
    ]
    if million:
        from hkai_qa.stores.faiss import EXACT_LIMIT

        chosen = "ivf" if EXACT_LIMIT < 1_000_000 else "flat"
        r = million.get(chosen, {})
        if r:
            met = r["p50_ms"] <= 5 and r["recall@10"] >= 0.95
            notes.append(
                f"At 1M the project uses {chosen}: p50 {r['p50_ms']:.2f} ms, recall@10 {r['recall@10']:.3f} — "
                f"{'met' if met else 'MISSED'} (≤ 5 ms, ≥ 0.95)."
            )
    text = table(
        "Scale: FAISS indexes over synthetic passages",
        ["passages", "index", "build s", "file MB", "resident MB", "p50 ms", "p95 ms", "recall@10"],
        rows,
        notes,
    )
    sweep = table(
        "Approximate search settings (one pass, not interleaved)",
        ["passages", "index", "setting", "p50 ms", "recall@10"],
        sweep_rows,
    )
    report("scale", text + "\n" + sweep + "\n![search latency and memory against corpus size](scale.png)\n", figures)


if __name__ == "__main__":
    main()
