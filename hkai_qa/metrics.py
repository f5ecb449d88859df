"""Metrics over plain data: ranks, lists and dicts in, numbers out, so each is checked by hand.

hit@k and MRR over first-relevant ranks; abstention precision/recall/F1; trec_eval
(through pytrec_eval) for BEIR's nDCG@10, recall@100, MRR@10 and MAP@100; and the
flat summaries an evaluation reports.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .folding import fold

if TYPE_CHECKING:
    from .evaluation import EvalRow

TREC_MEASURES = {"ndcg@10": "ndcg_cut_10", "recall@100": "recall_100", "map@100": "map_cut_100"}


def section_matches(heading: str, expected: str) -> bool:
    """Case- and quote-insensitive; a nested Markdown heading also matches its last part."""
    heading, expected = fold(heading).strip(), fold(expected).strip()
    return heading == expected or heading.rsplit(" › ", 1)[-1] == expected


def is_relevant(text: str, heading: str, answers: Sequence[str], section: str | None) -> bool:
    """A hit holds an answer string; with no answers given, it is in the expected section.

    Runs of whitespace count as one space on both sides: a PDF or a plain-text file wraps the
    answer's sentence at any word, where the Markdown it was written against did not."""
    if answers:
        folded = _spaced(fold(text))
        return any(_spaced(fold(answer)) in folded for answer in answers)
    return section is not None and section_matches(heading, section)


def _spaced(text: str) -> str:
    return " ".join(text.split())


def covers_page(first: int | None, last: int | None, hit_source: str, page: int, source: str | None = None) -> bool:
    """A hit on pages `first`..`last` of `hit_source` holds `page` (of `source`, a path ending `hit_source`)."""
    if first is None:
        return False
    if source is not None and not (hit_source == source or hit_source.endswith("/" + source.lstrip("/"))):
        return False
    return first <= page <= (last if last is not None else first)


def first_relevant_rank(relevance: Iterable[bool]) -> int | None:
    """1-based rank of the first True, or None."""
    return next((rank for rank, relevant in enumerate(relevance, start=1) if relevant), None)


def hit_at_k(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions whose first relevant hit is in the top k."""
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mean_reciprocal_rank(ranks: Sequence[int | None]) -> float:
    """Mean of 1/rank of the first relevant hit, 0 when none was retrieved."""
    return sum(1.0 / r for r in ranks if r is not None) / len(ranks) if ranks else 0.0


def abstention_metrics(expected_answerable: Sequence[bool], predicted_answerable: Sequence[bool]) -> dict:
    """Precision, recall and F1 of abstaining, "not answerable" being the positive class.

    A value is None when undefined (nothing flagged, or nothing to flag).
    """
    pairs = list(zip(expected_answerable, predicted_answerable, strict=True))
    true_positive = sum(1 for expected, predicted in pairs if not expected and not predicted)
    flagged = sum(1 for _, predicted in pairs if not predicted)
    positives = sum(1 for expected, _ in pairs if not expected)
    precision = true_positive / flagged if flagged else None
    recall = true_positive / positives if positives else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"abstain_precision": precision, "abstain_recall": recall, "abstain_f1": f1}


def documents_in_order(doc_ids: Iterable[str]) -> list[str]:
    """Passages ranked best first -> their documents, each at its best passage's place (max score)."""
    return list(dict.fromkeys(doc_ids))


def trec_metrics(
    qrels: Mapping[str, Mapping[str, int]], rankings: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, float]]:
    """nDCG@10, recall@100, MRR@10 and MAP@100 per query, computed by trec_eval (pytrec_eval).

    `rankings` lists document ids best first; scores given to trec_eval follow
    that order, so its tie-breaking never reorders it. A query with no ranking
    scores 0. MRR@10 is trec_eval's recip_rank on the top 10 (its own cutoff
    parameter is ignored by recip_rank).
    """
    import pytrec_eval

    qrels = {q: {d: int(g) for d, g in judged.items()} for q, judged in qrels.items()}
    run = {q: {d: float(len(r) - i) for i, d in enumerate(r)} for q, r in rankings.items() if r}
    top10 = {q: {d: s for d, s in docs.items() if s > len(rankings[q]) - 10} for q, docs in run.items()}
    deep = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100", "map_cut.100"}).evaluate(run)
    shallow = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    results = {}
    for query in qrels:
        values = {name: float(deep.get(query, {}).get(measure, 0.0)) for name, measure in TREC_MEASURES.items()}
        values["mrr@10"] = float(shallow.get(query, {}).get("recip_rank", 0.0))
        results[query] = {k: values[k] for k in ("ndcg@10", "recall@100", "mrr@10", "map@100")}
    return results


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def metric_order(ks: Sequence[int]) -> list[str]:
    """Every metric name in the order tables show them."""
    return (
        ["n"]
        + [f"hit@{k}" for k in ks]
        + ["mrr", "section@1", "abstain_precision", "abstain_recall", "abstain_f1"]
        + ["ndcg@10", "recall@100", "mrr@10", "map@100", "latency_p50_ms", "latency_p95_ms"]
    )


def summarize(rows: Sequence[EvalRow], ks: Sequence[int], *, beir: bool = False) -> dict[str, Any]:
    """The flat metrics of some rows; only those that apply to them are present."""
    metrics: dict[str, Any] = {"n": len(rows)}
    judged = [r for r in rows if r.answerable and r.judged]
    if judged:
        ranks = [r.rank for r in judged]
        for k in ks:
            metrics[f"hit@{k}"] = hit_at_k(ranks, k)
        if not beir:
            metrics["mrr"] = mean_reciprocal_rank(ranks)
    sectioned = [r.section_at_1 for r in rows if r.answerable and r.section_at_1 is not None]
    if sectioned:
        metrics["section@1"] = sum(sectioned) / len(sectioned)
    if any(not r.answerable for r in rows):
        metrics.update(abstention_metrics([r.answerable for r in rows], [r.predicted_answerable for r in rows]))
    if beir:
        for name in ("ndcg@10", "recall@100", "mrr@10", "map@100"):
            metrics[name] = sum(r.scores.get(name, 0.0) for r in rows) / len(rows) if rows else 0.0
    latencies = [r.latency_ms for r in rows]
    if latencies:
        metrics["latency_p50_ms"] = percentile(latencies, 50)
        metrics["latency_p95_ms"] = percentile(latencies, 95)
    order = metric_order(ks)
    return {key: _rounded(key, metrics[key]) for key in order if key in metrics}


def _rounded(key: str, value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 1 if key.startswith("latency") else 4)
    return value


def with_kinds(rows: Sequence[EvalRow], ks: Sequence[int], *, beir: bool = False) -> dict[str, Any]:
    """`summarize` over all rows, plus the same for each `kind` under "by_kind"."""
    metrics = summarize(rows, ks, beir=beir)
    kinds = list(dict.fromkeys(r.kind for r in rows if r.kind))
    if kinds:
        metrics["by_kind"] = {kind: summarize([r for r in rows if r.kind == kind], ks, beir=beir) for kind in kinds}
    return metrics


def mean_trec_metrics(
    qrels: Mapping[str, Mapping[str, int]], rankings: Mapping[str, Sequence[str]]
) -> dict[str, float]:
    """`trec_metrics` averaged over every judged query (a query with no ranking counts as 0)."""
    per_query = trec_metrics(qrels, rankings)
    names = ("ndcg@10", "recall@100", "mrr@10", "map@100")
    return {name: sum(q[name] for q in per_query.values()) / max(1, len(per_query)) for name in names}
