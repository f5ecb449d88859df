"""Whole sections as passages, scored by their windows: a numpy trial of issue 11's "wrong window" losses.

    python benchmarks/experiments/section_windows.py [--budget 2] [--work DIR]

benchmarks/experiments/starlette_vs_peers.py shows most of Haystack's wins on starlette are questions
whose right section hkai-qa ranks first, but in the window that does not hold the answer (the
introducing prose outranks the code block and the sentence after it). Passages of twice the model's
window (benchmarks/experiments/window_budget.py) fix those and lose others: the model embeds only a
long passage's first 256 tokens, and BM25 length normalisation marks long passages down. So this
builds each small corpus twice, windowed at the model's limit (as shipped) and at `--budget` times it,
and ranks the long passages with each of their parts taken from the windows inside them:

- long, shipped score: the long passage's own vector, closest sentence and BM25 coverage;
- long, closest sentence s = 0.3 / 0.4: the same with a larger share for the closest sentence, which
  sees the tail the passage vector does not;
- long, cosine = best window: the passage cosine is the best cosine of the windows inside it (a passage
  with one vector per window);
- long, cosine and coverage = best window: BM25 coverage too is the best of its windows';
- windows (shipped): the index as built today.

Relevance is judged on the long passage's text (the whole section, as a hit would show it). Abstention
is judged on each variant's passage-level score against that index's derived threshold. Prints
hit@1/@3/@5 and off-topic flagged. A one-off experiment, kept to be re-run; not library code.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "benchmarks" / "experiments"))

from quality import OFF_TOPIC_KINDS, suites  # noqa: E402
from window_budget import with_budget  # noqa: E402

import hkai_qa.build  # noqa: E402
from hkai_qa import QA, load_questions  # noqa: E402
from hkai_qa._defaults import SENTENCE_SHARE  # noqa: E402
from hkai_qa.lexical import bm25_ceiling, bm25_scores, bm25_tokenize  # noqa: E402
from hkai_qa.metrics import is_relevant  # noqa: E402
from hkai_qa.ranking import fusion_mode  # noqa: E402


def built(suite, work: Path, multiple: float) -> QA:
    shipped = hkai_qa.build.passage_budget
    hkai_qa.build.passage_budget = with_budget(multiple)
    try:
        return QA(
            suite.corpus, index=work / f"budget-{multiple}-k1-1.5-{suite.name}", progress=False, notify=lambda _: None
        )
    finally:
        hkai_qa.build.passage_budget = shipped


def coverage(retriever, tokens: list[str]) -> np.ndarray:
    ceiling = bm25_ceiling(retriever, tokens)
    scores = bm25_scores(retriever, tokens)
    return scores / ceiling if ceiling > 0 else np.zeros_like(scores)


def contained(long_passages, windows) -> list[np.ndarray]:
    """For each long passage, the rows of the windows that overlap it in the same document."""
    by_doc: dict[str, list[int]] = {}
    for row, w in enumerate(windows):
        by_doc.setdefault(w.doc_id, []).append(row)
    out = []
    for p in long_passages:
        rows = [r for r in by_doc.get(p.doc_id, []) if windows[r].start < p.end and windows[r].end > p.start]
        out.append(np.asarray(rows, dtype=np.int64))
    return out


def best_of(values: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    return np.array([values[g].max() if len(g) else -1.0 for g in groups], dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=2.0, help="long passages' budget, times the model's window")
    parser.add_argument("--work", type=Path, default=None, help="where indexes are built (default: a temp folder)")
    args = parser.parse_args()
    variants = (
        "windows (shipped)",
        "long, shipped score",
        "long, closest sentence s = 0.3",
        "long, closest sentence s = 0.4",
        "long, cosine = best window",
        "long, cos + cov = best",
    )
    with tempfile.TemporaryDirectory(prefix="hkai-sections-") as scratch:
        work = args.work or Path(scratch)
        for suite in suites(skip_scifact=True):
            short, long = built(suite, work, 1.0), built(suite, work, args.budget)
            ws, ls = short._loaded, long._loaded
            windows, passages = ws.stored.passages, ls.stored.passages
            groups = contained(passages, windows)
            window_vectors = np.asarray(ws.vectors.vectors(np.arange(len(windows))), dtype=np.float32)
            long_vectors = np.asarray(ls.vectors.vectors(np.arange(len(passages))), dtype=np.float32)
            questions = load_questions(suite.questions).questions
            texts = [q.question for q in questions]
            vectors, tokens = long.embedder.encode(texts), bm25_tokenize(texts)
            thresholds = {"windows (shipped)": short._threshold("hybrid")}
            ranks: dict[str, list] = {v: [] for v in variants}
            flagged: dict[str, list] = {v: [] for v in variants}
            for question, q, t in zip(questions, vectors, tokens, strict=True):
                alpha = long._question_alpha(ls, t)
                dense_only = fusion_mode("hybrid", t, ls.stored.bm25) == "dense"
                w_cos, l_cos = window_vectors @ q, long_vectors @ q
                w_cov, l_cov = coverage(ws.stored.bm25, t), coverage(ls.stored.bm25, t)
                w_sent = ws.stored.sentences.closest(q, len(windows))
                l_sent = ls.stored.sentences.closest(q, len(passages))
                parts = {
                    "windows (shipped)": (w_cos, w_sent, w_cov, windows),
                    "long, shipped score": (l_cos, l_sent, l_cov, passages),
                    "long, closest sentence s = 0.3": (l_cos, l_sent, l_cov, passages),
                    "long, closest sentence s = 0.4": (l_cos, l_sent, l_cov, passages),
                    "long, cosine = best window": (best_of(w_cos, groups), l_sent, l_cov, passages),
                    "long, cos + cov = best": (best_of(w_cos, groups), l_sent, best_of(w_cov, groups), passages),
                }
                for variant, (cos, sent, cov, rows) in parts.items():
                    judged = cos if dense_only else alpha * cos + (1 - alpha) * cov
                    share = float(variant[-3:]) if "s = " in variant else SENTENCE_SHARE
                    score = judged if dense_only else judged + share * (sent - cos)
                    threshold = thresholds.get(variant, long._threshold("hybrid"))
                    if question.kind in OFF_TOPIC_KINDS:
                        flagged[variant].append(judged.max() < threshold)
                    if question.answerable:
                        order = np.lexsort((np.arange(len(score)), -score))[:5]
                        good = [
                            is_relevant(rows[i].text, rows[i].heading, question.answers, question.section)
                            for i in order
                        ]
                        ranks[variant].append(next((n for n, ok in enumerate(good, start=1) if ok), None))
            for variant in variants:
                hits = [sum(1 for r in ranks[variant] if r and r <= k) / len(ranks[variant]) for k in (1, 3, 5)]
                off = float(np.mean(flagged[variant])) if flagged[variant] else float("nan")
                print(f"{suite.name:10s} {variant:28s} " + "/".join(f"{h:.3f}" for h in hits) + f"  off {off:.2f}")


if __name__ == "__main__":
    main()
