"""An evaluation's report: metrics.json, per_question.csv, report.md, plot.png and run.json."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .metrics import hit_at_k, metric_order

if TYPE_CHECKING:
    from .evaluation import EvalRow

BEIR_DEPTH = 100  # distinct documents per query: recall@100 and map@100 need them all
WORST_MISSES = 10


@dataclass
class EvalReport:
    """Metrics and per-question rows of one evaluation run, and the files that show them.

    `metrics` is flat (`hit@1`, `mrr`, `ndcg@10`, …) with the same per kind under
    "by_kind"; `rows` has one `EvalRow` per question.
    """

    name: str
    source: str
    corpus: str
    index: str
    mode: str
    model: str
    threshold: float
    ks: tuple[int, ...]
    is_beir: bool
    metrics: dict[str, Any]
    rows: list[EvalRow]
    timings: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def latency_method(self) -> str:
        depth = self.facts.get("depth", max(self.ks))
        if self.is_beir:
            work = (
                f"encode; rank {depth} passages, more when they hold fewer than {BEIR_DEPTH} documents; "
                f"evidence for the top {self.facts.get('evidence_for')}"
            )
        else:
            work = f"encode; rank; {depth} hits with evidence"
        return f"each question asked alone ({work}), wall clock, after one untimed warm-up question"

    def write(self, out: str | Path) -> Path:
        """Write metrics.json, per_question.csv, report.md, plot.png and run.json into `out`."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(self.metrics, indent=2) + "\n", encoding="utf-8")
        (out / "run.json").write_text(json.dumps(self.run_info(), indent=2) + "\n", encoding="utf-8")
        self._write_csv(out / "per_question.csv")
        plot(self, out / "plot.png")
        (out / "report.md").write_text(self.markdown(plot_file="plot.png"), encoding="utf-8")
        return out

    def run_info(self) -> dict[str, Any]:
        return {
            "questions": self.source,
            "corpus": self.corpus,
            "index": self.index,
            "mode": self.mode,
            "model": self.model,
            "threshold": self.threshold,
            "ks": list(self.ks),
            "latency": self.latency_method,
            **self.timings,
            **self.facts,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def _write_csv(self, path: Path) -> None:
        trec = ["ndcg@10", "recall@100", "mrr@10", "map@100"] if self.is_beir else []
        columns = [
            "id",
            "kind",
            "question",
            "expected",
            "first_relevant_rank",
            "section_at_1",
            "answerable_expected",
            "answerable_predicted",
            "top_score",
            "top_hits",
            "latency_ms",
            *trec,
        ]
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in self.rows:
                top = "; ".join(f"{h.section} ({h.score:.3f})" for h in row.hits[:5])
                writer.writerow(
                    [
                        row.id,
                        row.kind,
                        row.question,
                        row.expected,
                        row.rank if row.rank is not None else "",
                        "" if row.section_at_1 is None else row.section_at_1,
                        row.answerable,
                        row.predicted_answerable,
                        f"{row.top_score:.4f}",
                        top,
                        f"{row.latency_ms:.1f}",
                        *(f"{row.scores.get(name, 0.0):.4f}" for name in trec),
                    ]
                )

    @staticmethod
    def table(reports: Sequence[EvalReport]) -> str:
        """One Markdown row per report: the summary `hkai-qa eval` prints and README quotes."""
        ks = sorted({k for r in reports for k in r.ks})
        keys = [k for k in metric_order(ks) if any(k in r.metrics for r in reports)]
        header = ["set", "mode", *keys, "build s", "query s"]
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        for report in reports:
            cells = [report.name, report.mode, *(_cell(report.metrics.get(k)) for k in keys)]
            cells += [
                f"{report.timings.get('index_build_seconds', 0):.1f}",
                f"{report.timings.get('query_seconds', 0):.1f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def markdown(self, plot_file: str | None = None) -> str:
        """report.md: the summary table, the breakdown by kind, and the worst misses with their passages."""
        answerable = sum(1 for r in self.rows if r.answerable)
        lines = [
            f"# Evaluation: {self.name} ({self.mode})",
            "",
            f"- Questions: `{self.source}` ({len(self.rows)}: {answerable} answerable, "
            f"{len(self.rows) - answerable} not)",
            f"- Corpus: `{self.corpus}` ({self.facts.get('documents', '?')} documents, "
            f"{self.facts.get('passages', '?')} passages); index `{self.index}`, "
            f"built in {self.timings.get('index_build_seconds', 0):.1f} s",
            f"- Model {self.model}, mode {self.mode}, abstention threshold {self.threshold:.2f}",
            f"- Query wall time {self.timings.get('query_seconds', 0):.1f} s. Latency: {self.latency_method}.",
        ]
        if self.is_beir:
            lines.append(
                "- Passages merged to documents (best passage's place); nDCG@10, recall@100, MRR@10 and MAP@100 "
                "by trec_eval (pytrec_eval) over the top 100 documents."
            )
        else:
            lines.append(
                "- A hit is relevant when it holds an answer string (or, without answers, is in the expected "
                f"section); hit@k and mrr over answerable questions, within the top {max(self.ks)} hits."
            )
        lines += ["", "## Summary", "", EvalReport.table([self]), ""]
        if plot_file:
            lines += [f"![hit@k and top-score distributions]({plot_file})", ""]
        by_kind = self.metrics.get("by_kind")
        if by_kind:
            keys = [k for k in metric_order(self.ks) if any(k in m for m in by_kind.values())]
            lines += ["## By kind", "", "| kind | " + " | ".join(keys) + " | abstained |"]
            lines.append("|" + "|".join("---" for _ in range(len(keys) + 2)) + "|")
            for kind, metrics in by_kind.items():
                rows = [r for r in self.rows if r.kind == kind]
                abstained = sum(1 for r in rows if not r.predicted_answerable)
                cells = [kind, *(_cell(metrics.get(k)) for k in keys), f"{abstained}/{len(rows)}"]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
        lines += self._misses_markdown()
        return "\n".join(lines) + "\n"

    def _misses_markdown(self) -> list[str]:
        depth = max(self.ks)
        if self.is_beir:
            worst = sorted(self.rows, key=lambda r: (r.scores.get("ndcg@10", 0.0), -(r.rank or 10**9)))
            worst = [r for r in worst if r.scores.get("ndcg@10", 0.0) < 1.0][:WORST_MISSES]
            sections = [("Worst misses (lowest nDCG@10)", worst)]
        else:
            missed = [r for r in self.rows if r.answerable and r.judged and (r.rank is None or r.rank > 1)]
            missed.sort(key=lambda r: (-(r.rank or depth + 1), -r.top_score))
            answered = sorted(
                (r for r in self.rows if not r.answerable and r.predicted_answerable), key=lambda r: -r.top_score
            )
            refused = sorted(
                (r for r in self.rows if r.answerable and not r.predicted_answerable), key=lambda r: r.top_score
            )
            sections = [
                (f"Worst misses (first relevant hit below rank 1; none in the top {depth} first)", missed),
                ("Answered, but not answerable (most confident first)", answered),
                ("Abstained, but answerable", refused),
            ]
        lines = []
        for title, rows in sections:
            lines += [f"## {title}", ""]
            if not rows:
                lines += ["None.", ""]
            for row in rows[:WORST_MISSES]:
                rank = row.rank if row.rank is not None else f"none in top {depth if not self.is_beir else BEIR_DEPTH}"
                lines += [
                    f"### `{row.id}` {_one_line(row.question, 200)}",
                    "",
                    f"kind {row.kind or '–'} · expected {_one_line(row.expected, 200)} · first relevant rank {rank} · "
                    f"answerable predicted {row.predicted_answerable} (top score {row.top_score:.3f})",
                    "",
                ]
                for hit in row.hits[:3]:
                    mark = " ✓" if hit.relevant else ""
                    lines.append(
                        f"{hit.rank}. **{_one_line(hit.section, 80)}** ({hit.score:.3f}, `{hit.passage_id}`){mark}: "
                        f"{_one_line(hit.text, 240)}"
                    )
                lines.append("")
        return lines


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1.0 else f"{value:.1f}"
    return str(value)


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def plot(report: EvalReport, path: Path) -> Path:
    """hit@k against k, and the top-score distributions of answerable and unanswerable questions."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    judged = [r.rank for r in report.rows if r.answerable and r.judged]
    depth = BEIR_DEPTH if report.is_beir else max(report.ks)
    ks = list(range(1, depth + 1))
    left.plot(ks, [hit_at_k(judged, k) for k in ks], marker="o" if depth <= 20 else None)
    if report.is_beir:
        left.set_xscale("log")
    left.set(xlabel="k", ylabel="hit@k", ylim=(0, 1.02), title=f"{report.name} ({report.mode}): hit@k")
    left.grid(alpha=0.3)
    answerable = [r.top_score for r in report.rows if r.answerable]
    unanswerable = [r.top_score for r in report.rows if not r.answerable]
    scores = answerable + unanswerable + [report.threshold]
    bins = _bins(min(scores), max(scores))
    right.hist(answerable, bins=bins, alpha=0.6, label=f"answerable ({len(answerable)})")
    if unanswerable:
        right.hist(unanswerable, bins=bins, alpha=0.6, label=f"not answerable ({len(unanswerable)})")
    right.axvline(report.threshold, color="black", linestyle="--", label=f"threshold {report.threshold:.2f}")
    right.set(xlabel="top hit score", ylabel="questions", title="top-score distributions")
    right.legend()
    figure.tight_layout()
    figure.savefig(path)
    return path


def _bins(low: float, high: float, count: int = 20) -> list[float]:
    if high - low < 1e-9:
        low, high = low - 0.05, high + 0.05
    step = (high - low) / count
    return [low + i * step for i in range(count + 1)]
