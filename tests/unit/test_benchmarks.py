"""The benchmark scripts start (their --help runs), and the library helpers they score with are right."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from hkai_qa.metrics import mean_trec_metrics
from hkai_qa.questions import beir_queries
from tests.conftest import REPO, SCIFACT

# The runnable scripts: helper modules (measure.py, naive_pipeline.py) and third-party data have no __main__;
# the peers' virtualenv (`make peers`) is not ours either.
SCRIPTS = sorted(
    p
    for p in (REPO / "benchmarks").rglob("*.py")
    if not {"data", ".peers-venv"} & set(p.relative_to(REPO / "benchmarks").parts)
    and '__name__ == "__main__"' in p.read_text()
)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO / "benchmarks")))
def test_each_benchmark_starts(script):
    done = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:")


def test_peers_script_starts_without_the_frameworks_it_compares():
    """peers.py is among the scripts above, run by the product's venv, which must not hold Haystack or LlamaIndex."""
    assert REPO / "benchmarks" / "peers.py" in SCRIPTS
    assert importlib.util.find_spec("haystack") is None, "the peers belong in benchmarks/.peers-venv (make peers)"
    assert importlib.util.find_spec("llama_index") is None, "the peers belong in benchmarks/.peers-venv (make peers)"


def test_mean_trec_metrics_averages_every_judged_query():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    scores = mean_trec_metrics(qrels, {"q1": ["a", "x"], "q2": ["x", "b"]})
    assert scores["mrr@10"] == pytest.approx((1 + 1 / 2) / 2)
    assert scores["recall@100"] == 1.0
    assert mean_trec_metrics(qrels, {"q1": ["a"]})["ndcg@10"] == pytest.approx(0.5), "a query with no ranking is 0"


@pytest.mark.skipif(not SCIFACT.is_dir(), reason="the bundled SciFact copy is not here")
def test_beir_queries_gives_the_judged_test_queries_and_their_qrels():
    queries, qrels = beir_queries(SCIFACT)
    assert len(queries) == len(qrels) == 300 and set(queries) == set(qrels)
    assert all(grade > 0 for judged in qrels.values() for grade in judged.values())
