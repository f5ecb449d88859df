"""Answer quality on several corpora in one run, beside the naive pipeline of issue 11.

    python benchmarks/quality.py [--skip-scifact] [--peers] [--out benchmarks/results] [--work DIR]

Corpora: the bundled article with the team's questions (tests/data/hk_questions.jsonl), two
real documentation folders with their own question sets (benchmarks/data/<name>/, each with
its licence and SOURCE.txt), and SciFact (BEIR, read in place from /work/shared/data/scifact;
its build takes minutes, hence --skip-scifact). For every corpus and mode (hybrid, dense,
bm25) hkai-qa is asked through its public API (`QA`, `QA.evaluate`); the naive pipeline
(benchmarks/naive_pipeline.py) is measured on the same questions in the same run.

Columns: hit@1/@3/@5 over answerable questions (a hit is relevant when it holds an expected
answer string, else when it is in the expected section: the library's own rule); the share
of off-topic and of near-miss questions flagged "not in the documents"; the share of
answerable questions wrongly flagged; SciFact's nDCG@10. The naive pipeline cannot abstain
(its fused scores carry no relevance), so its flag columns are empty.

Writes quality.md and quality.json into --out. Indexes are rebuilt every run (in --work), so
a change to how passages are cut is always measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from naive_pipeline import NaivePipeline  # noqa: E402
from peers import HOW_TO_ENABLE, peer_rows  # noqa: E402

from hkai_qa import QA, load_questions  # noqa: E402

SCIFACT = Path("/work/shared/data/scifact")
DATA = REPO / "benchmarks" / "data"
MODES = ("hybrid", "dense", "bm25")
KS = (1, 3, 5)
OFF_TOPIC_KINDS = ("off_topic", "out_of_scope")
NEAR_MISS_KINDS = ("near_miss",)


@dataclass(frozen=True)
class Suite:
    name: str
    corpus: Path
    questions: Path
    beir: bool = False


def suites(skip_scifact: bool) -> list[Suite]:
    found = [Suite("article", REPO / "corpus" / "hong_kong_ai_ecosystem.txt", REPO / "tests/data/hk_questions.jsonl")]
    for folder in sorted(p for p in DATA.iterdir() if (p / "questions.jsonl").is_file()):
        found.append(Suite(folder.name, folder / "docs", folder / "questions.jsonl"))
    if not skip_scifact:
        found.append(Suite("scifact", SCIFACT, SCIFACT, beir=True))
    return found


def _relevance_rule():
    """The library's relevance and trec_eval functions, wherever the evaluation code lives."""
    try:
        from hkai_qa.metrics import is_relevant, trec_metrics
    except ImportError:
        from hkai_qa.evaluation import is_relevant, trec_metrics
    return is_relevant, trec_metrics


def share(rows: list, flagged) -> float | None:
    return round(sum(1 for r in rows if flagged(r)) / len(rows), 3) if rows else None


def hkai_row(report) -> dict:
    """One table row from an EvalReport: hits from its metrics, flags from its per-question rows."""
    metrics = report.metrics
    row = {f"hit@{k}": metrics.get(f"hit@{k}") for k in KS}
    rows = report.rows
    row["off_topic_flagged"] = share(
        [r for r in rows if r.kind in OFF_TOPIC_KINDS], lambda r: not r.predicted_answerable
    )
    row["near_miss_flagged"] = share(
        [r for r in rows if r.kind in NEAR_MISS_KINDS], lambda r: not r.predicted_answerable
    )
    row["answerable_wrongly_flagged"] = share([r for r in rows if r.answerable], lambda r: not r.predicted_answerable)
    if report.is_beir:
        row["ndcg@10"] = metrics.get("ndcg@10")
    return row


def naive_row(suite: Suite) -> dict:
    is_relevant, trec_metrics = _relevance_rule()
    started = time.perf_counter()
    naive = NaivePipeline(suite.corpus)
    questions = load_questions(suite.questions).questions
    if suite.beir:
        rankings = naive.rank([q.question for q in questions], 100)
        per_query = trec_metrics(
            {q.id: dict(q.relevant) for q in questions},
            {q.id: [naive.passages[i].doc_id for i in ranking] for q, ranking in zip(questions, rankings, strict=True)},
        )
        ndcg = sum(v["ndcg@10"] for v in per_query.values()) / len(per_query)
        return {"ndcg@10": round(ndcg, 4), "passages": len(naive.passages), "seconds": _since(started)}
    answerable = [q for q in questions if q.answerable]
    rankings = naive.rank([q.question for q in answerable], max(KS))
    ranks = []
    for question, ranking in zip(answerable, rankings, strict=True):
        hits = [naive.passages[i] for i in ranking]
        relevant = [is_relevant(h.text, h.heading, question.answers, question.section) for h in hits]
        ranks.append(next((rank for rank, ok in enumerate(relevant, start=1) if ok), None))
    row = {f"hit@{k}": round(sum(1 for r in ranks if r and r <= k) / len(ranks), 4) for k in KS}
    return {**row, "passages": len(naive.passages), "seconds": _since(started)}


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 1)


def evaluate_suite(suite: Suite, work: Path) -> dict:
    started = time.perf_counter()
    qa = QA(suite.corpus, index=work / f"index-{suite.name}", rebuild=True, progress=False, notify=lambda _: None)
    build_seconds = _since(started)
    result = {
        "corpus": str(suite.corpus.relative_to(REPO) if suite.corpus.is_relative_to(REPO) else suite.corpus),
        "questions": str(
            suite.questions.relative_to(REPO) if suite.questions.is_relative_to(REPO) else suite.questions
        ),
        "passages": len(qa.passages),
        "build_seconds": build_seconds,
        "modes": {},
    }
    counts = _question_counts(suite)
    result.update(counts)
    for mode in MODES:
        report = qa.with_mode(mode).evaluate(suite.questions, k=KS, progress=False)
        result["modes"][mode] = hkai_row(report)
        print(f"  {suite.name:10s} {mode:7s} {json.dumps(result['modes'][mode])}", flush=True)
    result["modes"]["naive"] = naive_row(suite)
    print(f"  {suite.name:10s} naive   {json.dumps(result['modes']['naive'])}", flush=True)
    return result


def _question_counts(suite: Suite) -> dict:
    questions = load_questions(suite.questions).questions
    return {
        "answerable": sum(1 for q in questions if q.answerable),
        "off_topic": sum(1 for q in questions if q.kind in OFF_TOPIC_KINDS),
        "near_miss": sum(1 for q in questions if q.kind in NEAR_MISS_KINDS),
    }


COLUMNS = ("hit@1", "hit@3", "hit@5", "off_topic_flagged", "near_miss_flagged", "answerable_wrongly_flagged", "ndcg@10")


def markdown(results: dict[str, dict]) -> str:
    lines = [
        "# Answer quality on several corpora",
        "",
        "Written by `python benchmarks/quality.py` (see its docstring for what each column means). "
        "naive = one passage per heading section, bare all-MiniLM-L6-v2 + bm25s, reciprocal rank fusion "
        "(benchmarks/naive_pipeline.py), measured in the same run; it cannot abstain. "
        "haystack, llamaindex (with --peers) = their hybrid pipelines (benchmarks/peers.py), judged like naive.",
        "",
        "| corpus | passages | questions (answerable / off-topic / near-miss) | mode | "
        + " | ".join(c.replace("_", " ") for c in COLUMNS)
        + " |",
        "|---|---|---|---|" + "---|" * len(COLUMNS),
    ]
    for name, result in results.items():
        counts = f"{result.get('answerable', '')} / {result.get('off_topic', '')} / {result.get('near_miss', '')}"
        for mode, row in result["modes"].items():
            passages = row.get("passages", result["passages"]) if mode not in MODES else result["passages"]
            cells = [_cell(row.get(c)) for c in COLUMNS]
            lines.append(f"| {name} | {passages} | {counts} | {mode} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-scifact", action="store_true", help="leave out SciFact (its build takes minutes)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--work", type=Path, default=None, help="where indexes are built (default: a temp folder)")
    parser.add_argument("--peers", action="store_true", help="also Haystack and LlamaIndex (benchmarks/peers.py)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hkai-quality-") as scratch:
        work = args.work or Path(scratch)
        results = {}
        for suite in suites(args.skip_scifact):
            print(f"{suite.name}: building and asking …", flush=True)
            results[suite.name] = evaluate_suite(suite, work)
            if args.peers and not suite.beir:
                peers = peer_rows(suite.corpus, load_questions(suite.questions).questions, _relevance_rule()[0], KS)
                results[suite.name]["modes"].update(peers)
    if not args.peers:
        print(HOW_TO_ENABLE)
    args.out.mkdir(parents=True, exist_ok=True)
    table = markdown(results)
    (args.out / "quality.md").write_text(table, encoding="utf-8")
    (args.out / "quality.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
