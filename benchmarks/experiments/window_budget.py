"""Passages larger than the model's window on small corpora, whose sentence vectors see every sentence.

    python benchmarks/experiments/window_budget.py [--budgets 1 1.5 2 4] [--k1 1.5] [--share 0.2] [--work DIR]

Haystack keeps each Markdown section whole; the model embeds only its first 256 tokens, but BM25
reads all of it. hkai-qa windows a long section at the model's 256 tokens, so an answer can sit in
another window than the sentence that introduces it (benchmarks/experiments/starlette_vs_peers.py).
On a small corpus every sentence also has its own vector, so a passage longer than the model's window
leaves nothing unembedded. This builds each small corpus of benchmarks/quality.py with the window
budget set to a multiple of the model's limit (2 = shipped, each model window of a longer passage embedded
too; 1 = the cut at the model's window used before) and evaluates it through `QA.evaluate`
(derived thresholds, abstention and all): hit@1/@3/@5, off-topic, near-miss and answerable wrongly
flagged. `--k1` builds BM25 with another term-frequency saturation than the shipped one, to measure
what it does to abstention as well as to ranking; `--share` sets the closest sentence's share of the
hybrid score (it sees the tail of a passage longer than the model's window, which the passage vector
does not). A one-off experiment, kept to be re-run; not library code.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from quality import hkai_row, suites  # noqa: E402

import hkai_qa._defaults  # noqa: E402
import hkai_qa.build  # noqa: E402
from hkai_qa import QA  # noqa: E402
from hkai_qa._defaults import BM25_PARAMETERS, SENTENCE_SHARE  # noqa: E402


def with_budget(multiple: float):
    """`_defaults.passage_budget` with every corpus's passages up to `multiple` times the model's window (each
    window of a longer passage embedded too, as the build does for a small corpus)."""

    def budget(max_tokens, passage_count, alphas=None):
        return int(max_tokens * multiple)

    return budget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[1.0, 1.5, 2.0, 4.0])
    parser.add_argument("--k1", type=float, default=BM25_PARAMETERS["k1"], help="BM25's k1 (shipped: the default)")
    parser.add_argument("--share", type=float, default=SENTENCE_SHARE, help="the closest sentence's share")
    parser.add_argument("--work", type=Path, default=None, help="where indexes are built (default: a temp folder)")
    args = parser.parse_args()
    BM25_PARAMETERS["k1"] = args.k1  # the one dict lexical.build_bm25 reads
    hkai_qa._defaults.SENTENCE_SHARE = args.share  # read by `_defaults.sentence_share` at each question
    with tempfile.TemporaryDirectory(prefix="hkai-budget-") as scratch:
        work = args.work or Path(scratch)
        for multiple in args.budgets:
            hkai_qa.build.passage_budget = with_budget(multiple)
            for suite in suites(skip_scifact=True):
                index = work / f"budget-{multiple}-k1-{args.k1}-{suite.name}"
                qa = QA(suite.corpus, index=index, rebuild=True, progress=False, notify=lambda _: None)
                row = hkai_row(qa.evaluate(suite.questions, k=(1, 3, 5), progress=False))
                cells = " ".join(f"{k} {v:.3f}" for k, v in row.items() if v is not None)
                print(
                    f"budget ×{multiple:<4} k1 {args.k1} {suite.name:10s} passages {len(qa.passages):4d} {cells}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
