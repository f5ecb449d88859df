"""Incremental updates with the real model: an updated index answers as a fresh build does, a killed
update leaves the old index answering, two updates at once take turns, `QA.refresh` swaps under questions
(`serve --watch` is in tests/ui/test_watch.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from hkai_qa import QA, index_store
from hkai_qa.lexical import bm25_tokenize

pytestmark = pytest.mark.slow

QUESTIONS = [
    "Where does molten rock escape?",
    "What buried Pompeii?",
    "How is black tea made?",
    "Which soil suits tea plants?",
    "What do kittens do all day?",
    "What did the Romans build?",
]
KITTENS = "# Kittens\n\nKittens are young cats; they sleep for most of the day and play in short bursts.\n"
ROADS = "Roman roads\n\nThe Romans built straight roads of stone across their empire, with milestones.\n"


def bm25_top(qa: QA, question: str) -> list[int]:
    scores = qa._store.bm25.get_scores(bm25_tokenize([question])[0])
    return [int(i) for i in np.argsort(-scores, kind="stable")[:5]]


def assert_same_as_fresh(updated: QA, corpus: Path, fresh_index: Path) -> None:
    fresh = QA(corpus, index=fresh_index, rebuild=True)
    assert [p.to_dict() for p in updated.passages] == [p.to_dict() for p in fresh.passages]
    assert updated.manifest["corpus_files"] == fresh.manifest["corpus_files"]
    for question in QUESTIONS:
        got, want = updated.ask(question, k=5), fresh.ask(question, k=5)
        assert [h.passage_id for h in got.hits] == [h.passage_id for h in want.hits], question
        assert [h.score for h in got.hits] == pytest.approx([h.score for h in want.hits], abs=1e-5)
        assert bm25_top(updated, question) == bm25_top(fresh, question)


def edit_add_delete_rename(corpus: Path) -> None:
    with (corpus / "volcanoes.md").open("a", encoding="utf-8") as handle:
        handle.write("\n## Lava\n\nLava cools into basalt; fast cooling gives obsidian glass.\n")
    (corpus / "kittens.md").write_text(KITTENS, encoding="utf-8")
    (corpus / "roads.txt").write_text(ROADS, encoding="utf-8")
    os.rename(corpus / "tea.txt", corpus / "growing-tea.txt")


def test_an_update_answers_as_a_fresh_build_does(tmp_path, tiny_corpus):
    qa = QA(tiny_corpus, index=tmp_path / "ix")
    assert qa.last_update.kind == "full"
    old_ids = {p.passage_id: p.text for p in qa.passages}
    edit_add_delete_rename(tiny_corpus)
    report = qa.refresh()
    assert report.kind == "incremental" and report.added >= 2 and report.unchanged >= 1
    assert report.files.added == ["kittens.md", "roads.txt"] and report.files.changed == ["volcanoes.md"]
    assert report.files.renamed == [("tea.txt", "growing-tea.txt")]
    # Unchanged text in an unchanged document keeps its passage id.
    kept = [p for p in qa.passages if p.doc_id == "volcanoes.md" and old_ids.get(p.passage_id) == p.text]
    assert kept
    assert_same_as_fresh(qa, tiny_corpus, tmp_path / "fresh")

    (tiny_corpus / "roads.txt").unlink()  # a delete: its passages stop answering
    report = qa.refresh()
    assert report.files.removed == ["roads.txt"] and report.removed >= 1
    assert all(p.source != "roads.txt" for p in qa.passages)
    assert_same_as_fresh(qa, tiny_corpus, tmp_path / "fresh2")
    assert qa.refresh() is None and qa.last_update is None  # nothing changed since


def test_a_new_qa_on_a_changed_corpus_updates_and_keeps_a_fitted_rule(tmp_path, tiny_corpus):
    index = tmp_path / "ix"
    first = QA(tiny_corpus, index=index)
    first._store.manifest = __import__("hkai_qa.index_store").index_store.update_manifest(
        index, {"abstention": {"thresholds": {"hybrid": 0.5, "dense": 0.5, "bm25": 0.5}, "fitted_on": "mine"}}
    )
    (tiny_corpus / "kittens.md").write_text(KITTENS, encoding="utf-8")
    second = QA(tiny_corpus, index=index)
    assert second.last_update.kind == "incremental" and second.last_update.added == 1
    assert second.manifest["abstention"]["fitted_on"] == "mine"
    assert second.manifest["built_at"] == first.manifest["built_at"] and second.manifest["updated_at"]


def test_an_update_derives_the_abstention_rule_again_from_the_changed_corpus(tmp_path, tiny_corpus):
    index = tmp_path / "ix"
    first = QA(tiny_corpus, index=index)
    assert first.manifest["abstention"]["fitted_on"].startswith("derived")
    stale = {"thresholds": {"hybrid": 0.99, "dense": 0.99, "bm25": 0.99}, "fitted_on": "derived from an old corpus"}
    index_store.update_manifest(index, {"abstention": stale})
    (tiny_corpus / "kittens.md").write_text(KITTENS, encoding="utf-8")
    second = QA(tiny_corpus, index=index)
    assert second.last_update.kind == "incremental"
    assert second.manifest["abstention"]["fitted_on"].startswith("derived from the corpus")
    assert second.manifest["abstention"]["thresholds"]["dense"] < 0.99


def test_a_model_change_rebuilds_everything_and_says_why(tmp_path, tiny_corpus):
    index = tmp_path / "ix"
    QA(tiny_corpus, index=index)
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["chunking_version"] = 0  # as an index cut by older chunking rules
    (index / "manifest.json").write_text(json.dumps(manifest))
    (tiny_corpus / "kittens.md").write_text(KITTENS, encoding="utf-8")
    notices: list[str] = []
    qa = QA(tiny_corpus, index=index, notify=notices.append)
    assert qa.last_update.kind == "full" and "chunking rules changed" in qa.last_update.reason
    assert any("chunking rules changed" in n for n in notices)


def test_an_index_cut_by_older_chunking_rules_is_rebuilt_even_for_an_unchanged_corpus(tmp_path, tiny_corpus):
    index = tmp_path / "ix"
    QA(tiny_corpus, index=index)
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["chunking_version"] = 1  # as an index an older hkai-qa cut
    (index / "manifest.json").write_text(json.dumps(manifest))
    notices: list[str] = []
    qa = QA(tiny_corpus, index=index, notify=notices.append)
    assert qa.last_update.kind == "full" and "chunking rules changed (version 1 →" in qa.last_update.reason
    assert any("chunking rules changed" in n for n in notices)
    assert QA(tiny_corpus, index=index).last_update is None  # rebuilt once, then current


def test_an_index_tokenized_by_an_older_hkai_qa_gets_new_bm25_tokens_and_keeps_its_vectors(tmp_path, tiny_corpus):
    (tiny_corpus / "cli.md").write_text("# Options\n\n`-L`, `--license`: show the licence of bzip2 0.9.0.\n")
    index = tmp_path / "ix"
    QA(tiny_corpus, index=index)
    manifest = json.loads((index / "manifest.json").read_text())
    del manifest["bm25"]["tokens"]  # as an index an older hkai-qa built, whose tokens dropped "-L" and "0.9.0"
    (index / "manifest.json").write_text(json.dumps(manifest))
    notices: list[str] = []
    qa = QA(tiny_corpus, index=index, notify=notices.append)
    update = qa.last_update
    assert update.kind == "incremental" and update.added == update.updated == 0 and update.unchanged > 0
    assert update.reason.startswith("BM25 tokens or parameters changed: tokens None →")
    assert any("rebuilding its BM25, keeping its vectors" in n for n in notices)
    assert {"-L", "--license", "0.9.0"} <= set(qa._store.bm25.vocab_dict)
    assert QA(tiny_corpus, index=index).last_update is None  # rebuilt once, then current


def test_an_index_without_sentence_vectors_gets_them_once(tmp_path, tiny_corpus):
    index = tmp_path / "ix"
    QA(tiny_corpus, index=index)
    manifest = json.loads((index / "manifest.json").read_text())
    for name in (index_store.SENTENCE_VECTORS, index_store.SENTENCE_PASSAGES):
        manifest["file_sizes"].pop(name)
        (index / name).unlink()
    (index / "manifest.json").write_text(json.dumps(manifest))  # as an index an older hkai-qa wrote
    notices: list[str] = []
    qa = QA(tiny_corpus, index=index, notify=notices.append)
    update = qa.last_update
    assert "no sentence vectors" in update.reason
    assert update.kind == "incremental" and update.added == update.updated == 0 and update.unchanged > 0
    assert any("no sentence vectors" in n for n in notices)
    assert (index / index_store.SENTENCE_VECTORS).exists()
    assert QA(tiny_corpus, index=index).last_update is None  # given once, then current


def test_questions_keep_being_answered_during_a_refresh(tmp_path, tiny_corpus):
    qa = QA(tiny_corpus, index=tmp_path / "ix")
    before = len(qa.passages)
    (tiny_corpus / "kittens.md").write_text(KITTENS, encoding="utf-8")
    errors: list[BaseException] = []
    counts: set[int] = set()
    done = threading.Event()

    def ask_meanwhile() -> None:
        while not done.is_set():
            try:
                answer = qa.ask("How is black tea made?", k=3)
                assert answer.hits[0].section == "Processing"
                counts.add(len(qa.passages))
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
                return

    thread = threading.Thread(target=ask_meanwhile)
    thread.start()
    try:
        qa.refresh()
    finally:
        done.set()
        thread.join()
    assert not errors
    assert len(qa.passages) == before + 1 and counts <= {before, before + 1}
    assert qa.ask("What do kittens do all day?", k=1).hits[0].source == "kittens.md"


def _run_cli(*args: str) -> subprocess.Popen:
    code = "import sys; from hkai_qa.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_a_killed_update_leaves_the_old_index_answering(tmp_path, tiny_corpus):
    index = tmp_path / "ix"
    before = len(QA(tiny_corpus, index=index).passages)
    # Enough new text that the update is still embedding when it is killed.
    (tiny_corpus / "many.md").write_text(
        "".join(f"# Topic {i}\n\nNote {i} about the tides, the moon and the harbour.\n\n" for i in range(600))
    )
    update = _run_cli("build", str(tiny_corpus), "--index", str(index))
    for line in update.stderr:
        if "building the index" in line:  # the notice before embedding starts
            break
    os.kill(update.pid, signal.SIGKILL)
    update.wait()
    old = QA.load(index)
    assert len(old.passages) == before
    assert old.ask("How is black tea made?", k=1).hits[0].section == "Processing"
    assert QA(tiny_corpus, index=index).last_update.kind == "incremental"  # and the next one completes
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ix")] == []  # leaving nothing beside it


def test_two_updates_at_once_take_turns(tmp_path, tiny_corpus):
    index = tmp_path / "ix"
    QA(tiny_corpus, index=index)
    (tiny_corpus / "kittens.md").write_text(KITTENS, encoding="utf-8")
    runs = [_run_cli("build", str(tiny_corpus), "--index", str(index), "--json") for _ in range(2)]
    reports = []
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        reports.append(json.loads(out))
    # One embedded the new file; the other, waiting on the lock, then found the index current.
    assert sorted(r["kind"] for r in reports) == ["incremental", "none"]
    assert [r["added"] for r in reports if r["kind"] == "incremental"] == [1]
    assert_same_as_fresh(QA.load(index), tiny_corpus, tmp_path / "fresh")
