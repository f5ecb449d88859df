"""Passages as long as their section, seen through one vector per model window (real model, real index)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hkai_qa import QA, index_store
from hkai_qa.update import CHUNKING_VERSION

pytestmark = pytest.mark.slow

QUESTION = "Which entry of the middleware list is the outermost layer?"


def middleware_docs(folder):
    """A section past the model's window: prose on another subject, then the code and the answer after it."""
    intro = " ".join(
        f"Package {i} of the toolkit ships helpers for logging, compression, sessions and cross-origin checks."
        for i in range(7)
    )
    code = "\n".join(f"    Middleware(LayerNumber{i}, option_{i}=True)," for i in range(12))
    text = (
        "# Middleware\n\n## Ordering middleware\n\n"
        f"Middleware runs around every request the application handles. {intro}\n\n"
        f"```python\nmiddleware = [\n{code}\n]\n```\n\n"
        "The first entry in the list is the outermost layer, so it sees the request first and the response last.\n\n"
        "## Writing middleware\n\n"
        "A pure ASGI middleware is a class whose call method receives scope, receive and send.\n"
    )
    folder.mkdir()
    (folder / "middleware.md").write_text(text, encoding="utf-8")
    return folder


def test_an_answer_in_a_sections_second_window_finds_the_whole_section_first(tmp_path):
    qa = QA(middleware_docs(tmp_path / "docs"), index=tmp_path / "ix")
    [section] = [row for row, p in enumerate(qa.passages) if p.heading.endswith("Ordering middleware")]
    assert qa.embedder.count_tokens([qa.passages[section].searchable_text])[0] > qa.embedder.max_tokens
    windows = qa._loaded.stored.windows
    assert windows.passages.tolist() == [section, section]
    answer = qa.ask(QUESTION)
    top = answer.hits[0]
    # One hit holds the section's introduction, its code and the sentence that answers ...
    assert answer.answerable and "Middleware runs around" in top.text and "outermost layer" in top.text
    # ... found through its second window: the passage's own vector reads only the first.
    vector = qa.embedder.encode([QUESTION])[0]
    own = float((qa._loaded.vectors.vectors(np.array([section])) @ vector)[0])
    by_window = windows.vectors @ vector
    assert by_window[1] > max(own, by_window[0])
    assert top.dense_score == pytest.approx(float(by_window[1]), abs=1e-4)


def test_an_index_cut_before_long_passages_is_rebuilt_with_its_windows(tmp_path):
    corpus, index = middleware_docs(tmp_path / "docs"), tmp_path / "ix"
    QA(corpus, index=index)
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["chunking_version"] = CHUNKING_VERSION - 1  # as an index main's hkai-qa cut at the model's window
    (index / "manifest.json").write_text(json.dumps(manifest))
    notices: list[str] = []
    qa = QA(corpus, index=index, notify=notices.append)
    reason = f"chunking rules changed (version {CHUNKING_VERSION - 1} → {CHUNKING_VERSION})"
    assert qa.last_update.kind == "full" and reason in qa.last_update.reason
    assert any("chunking rules changed" in n for n in notices)
    assert index_store.WINDOW_VECTORS in qa.manifest["file_sizes"]
    assert QA(corpus, index=index).last_update is None  # rebuilt once, then current


def test_an_update_keeps_the_window_vectors_of_unchanged_passages(tmp_path):
    corpus, index = middleware_docs(tmp_path / "docs"), tmp_path / "ix"
    QA(corpus, index=index)
    # Mark the stored window vectors (same shape and size, so the index stays whole): an update that
    # re-embedded them would bring back the model's vectors, one that keeps them keeps the mark.
    marked = np.load(index / index_store.WINDOW_VECTORS)[:, ::-1].copy()
    np.save(index / index_store.WINDOW_VECTORS, marked, allow_pickle=False)
    (corpus / "kittens.md").write_text("# Kittens\n\nKittens sleep for most of the day and play in bursts.\n")
    qa = QA(corpus, index=index)
    assert qa.last_update.kind == "incremental" and qa.last_update.added == 1 and qa.last_update.unchanged == 2
    np.testing.assert_array_equal(np.asarray(qa._loaded.stored.windows.vectors), marked)
