"""The torch-free query path: an ONNX export of the same weights, checked against sentence-transformers."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from hkai_qa import QA, ModelError
from hkai_qa.embedding import Embedder, resolve_model
from hkai_qa.onnx_encoder import (
    FAILURE_FILE,
    RECORD_FILE,
    TOLERANCE,
    WEIGHTS_FILE,
    OnnxEmbedder,
    OnnxRunner,
    max_difference,
)
from tests.conftest import SECTION_QUESTIONS

pytestmark = pytest.mark.slow

MORE_QUESTIONS = [
    "Which sectors use AI?",
    "What is the capital of France?",
    "Who funds AI startups in Hong Kong?",
    "Is there enough AI talent?",
    "香港的人工智能",
    "ai",
]
QUESTIONS = [q for q, _ in SECTION_QUESTIONS] + MORE_QUESTIONS


@pytest.fixture(scope="module")
def torch_qa(bundled_qa):
    return QA.load(bundled_qa.index_dir, encoder="torch")


def test_the_default_encoder_is_a_verified_onnx_export(bundled_qa):
    assert bundled_qa.encoder == "onnx"
    assert bundled_qa.manifest["model"]["encoder"] == "onnx"
    record = json.loads((bundled_qa.embedder.export_dir / RECORD_FILE).read_text())
    assert record["weights_sha256"] == bundled_qa.manifest["model"]["weights_sha256"]
    assert record["pooling"] == ["mean"] and record["max_seq_length"] == 256
    assert 0 <= record["max_abs_difference"] <= TOLERANCE


def test_both_encoders_give_the_same_top_three(bundled_qa, torch_qa):
    assert torch_qa.encoder == "torch"
    for onnx_answer, torch_answer in zip(bundled_qa.ask_many(QUESTIONS), torch_qa.ask_many(QUESTIONS), strict=True):
        assert [h.passage_id for h in onnx_answer.hits] == [h.passage_id for h in torch_answer.hits]
        assert [h.score for h in onnx_answer.hits] == pytest.approx([h.score for h in torch_answer.hits], abs=1e-4)
        assert onnx_answer.answerable == torch_answer.answerable


def test_embeddings_match_sentence_transformers(bundled_qa, torch_qa):
    texts = QUESTIONS + [p.searchable_text for p in bundled_qa.passages] + ["word " * 400]
    onnx_vectors = bundled_qa.embedder.encode(texts)
    torch_vectors = torch_qa.embedder.encode(texts)
    assert onnx_vectors.shape == torch_vectors.shape == (len(texts), 384)
    assert np.abs(onnx_vectors - torch_vectors).max() <= TOLERANCE
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)


def test_a_damaged_export_is_exported_again(tmp_path):
    notices: list[str] = []
    first = OnnxEmbedder(cache=tmp_path, notify=notices.append)
    expected = first.encode(["How does the government support AI?"])
    assert first.backend == "onnx" and notices == []
    weights = first.export_dir / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:1000])
    second = OnnxEmbedder(cache=tmp_path, notify=notices.append)
    assert np.abs(second.encode(["How does the government support AI?"]) - expected).max() <= TOLERANCE
    assert len(notices) == 1 and "is damaged" in notices[0] and "exporting again" in notices[0]
    assert weights.stat().st_size > 80_000_000


def test_a_model_the_onnx_path_cannot_reproduce_falls_back_with_one_notice(tmp_path, tiny_corpus):
    # A real model folder that sentence-transformers loads: the default weights with
    # last-token pooling, which the ONNX path does not implement.
    model = tmp_path / "last-token-model"
    source = resolve_model(None).directory
    shutil.copytree(source, model, ignore=shutil.ignore_patterns("model.safetensors"))
    (model / "model.safetensors").symlink_to(source / "model.safetensors")
    pooling = json.loads((model / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_lasttoken=True)
    (model / "1_Pooling" / "config.json").write_text(json.dumps(pooling))

    notices: list[str] = []
    qa = QA(tiny_corpus, tmp_path / "ix", model=str(model), notify=notices.append)
    assert qa.encoder == "torch"
    assert [n for n in notices if "onnxruntime" in n] == [
        f"model {model} cannot run on onnxruntime (its pooling mode lasttoken has no ONNX path here); "
        "using sentence-transformers."
    ]
    assert qa.ask("Which volcano buried Pompeii?").hits[0].section == "Volcanoes › Famous volcanoes"
    assert (qa.embedder.export_dir / FAILURE_FILE).is_file()
    # Same weights, other configuration: not the default model's export.
    assert qa.embedder.export_dir != OnnxEmbedder(cache=qa.embedder.cache, notify=print).export_dir

    notices.clear()
    again = QA(tiny_corpus, tmp_path / "ix", model=str(model), notify=notices.append)
    assert again.encoder == "torch"
    assert len(notices) == 1 and "delete" in notices[0] and "to retry" in notices[0]


def test_an_export_that_does_not_match_fails_verification(bundled_qa, tmp_path):
    """int8 weights are a real ONNX model of the same network that is not close enough to pass."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    export = bundled_qa.embedder.export_dir
    for name in ("tokenizer.json", RECORD_FILE):
        shutil.copy(export / name, tmp_path / name)
    quantize_dynamic(export / "model.onnx", tmp_path / "model.onnx", weight_type=QuantType.QInt8)
    reference = Embedder().model
    assert max_difference(OnnxRunner(export), reference) <= TOLERANCE
    assert max_difference(OnnxRunner(tmp_path), reference) > TOLERANCE


def test_unknown_encoder_is_a_clear_error(tiny_corpus, tmp_path):
    with pytest.raises(ModelError, match="unknown encoder 'onx'; choose one of onnx, torch. Did you mean \"onnx\""):
        QA(tiny_corpus, tmp_path / "ix", encoder="onx")
