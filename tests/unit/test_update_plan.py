"""Which passages an update embeds, keeps and drops, and which files changed: no model needed."""

from __future__ import annotations

import pytest

from hkai_qa._defaults import BM25_PARAMETERS
from hkai_qa.passages import Passage
from hkai_qa.update import (
    BM25_CHANGED,
    CHUNKING_VERSION,
    FileChanges,
    UpdateReport,
    bm25_reason,
    diff_files,
    full_rebuild_reason,
    plan_passages,
)


def passage(pid: str, text: str, heading: str = "H") -> Passage:
    return Passage(pid, pid.split("#")[0], pid.split("#")[0], heading, text, 0, len(text))


OLD = [passage("a#0", "alpha"), passage("a#1", "beta"), passage("b#0", "gamma"), passage("c#0", "delta")]


def test_an_unchanged_corpus_reuses_every_vector():
    plan = plan_passages(OLD, OLD, "m")
    assert plan.reuse == [0, 1, 2, 3] and plan.to_embed == []
    assert (plan.added, plan.updated, plan.unchanged, plan.removed) == (0, 0, 4, 0)


def test_edit_add_and_delete_are_counted_and_only_new_text_is_embedded():
    new = [passage("a#0", "alpha"), passage("a#1", "beta, edited"), passage("c#0", "delta"), passage("d#0", "eps")]
    plan = plan_passages(OLD, new, "m")
    assert plan.reuse == [0, None, 3, None] and plan.to_embed == [1, 3]
    assert (plan.added, plan.updated, plan.unchanged, plan.removed) == (1, 1, 2, 1)  # b#0 removed


def test_a_moved_passage_keeps_its_vector_and_is_not_counted_removed():
    new = [passage("z#0", "alpha"), passage("z#1", "beta"), passage("b#0", "gamma"), passage("c#0", "delta")]
    plan = plan_passages(OLD, new, "m")
    assert plan.reuse == [0, 1, 2, 3]
    assert (plan.added, plan.updated, plan.unchanged, plan.removed) == (0, 0, 4, 0)


def test_a_new_heading_over_the_same_text_is_embedded_again():
    assert plan_passages(OLD, [passage("a#0", "alpha", heading="Other heading")], "m").to_embed == [0]


def test_files_added_changed_removed_and_renamed():
    old = {"a.md": "1", "b.md": "2", "c.md": "3", "d.md": "4"}
    new = {"a.md": "1", "b.md": "20", "e.md": "3", "f.md": "5"}
    changes = diff_files(old, new)
    assert changes == FileChanges(added=["f.md"], changed=["b.md"], removed=["d.md"], renamed=[("c.md", "e.md")])
    assert changes.summary() == "files: 1 added (f.md), 1 changed (b.md), 1 removed (d.md), 1 renamed (c.md → e.md)"
    assert changes.to_dict()["renamed"] == [["c.md", "e.md"]]
    assert not diff_files(old, dict(old))


MODEL = {"name": "m", "weights_sha256": "x", "dimension": 384, "max_tokens": 256}


@pytest.mark.parametrize(
    ("manifest", "store", "expected"),
    [
        ({"model": MODEL, "chunking_version": CHUNKING_VERSION}, "faiss", None),
        ({"model": {**MODEL, "name": "n"}, "chunking_version": CHUNKING_VERSION}, "faiss", "the model's name changed"),
        ({"model": {**MODEL, "max_tokens": 128}, "chunking_version": CHUNKING_VERSION}, "faiss", "max_tokens"),
        ({"model": MODEL}, "faiss", f"the chunking rules changed (version None → {CHUNKING_VERSION})"),
        ({"model": MODEL, "chunking_version": CHUNKING_VERSION}, "milvus", None),  # upserts and deletes by passage
        ({"model": {**MODEL, "dimension": 768}, "chunking_version": CHUNKING_VERSION}, "milvus", "dimension changed"),
    ],
)
def test_what_forces_a_full_rebuild(manifest, store, expected):
    reason = full_rebuild_reason(manifest, MODEL)
    assert reason is None if expected is None else expected in reason


def test_an_index_tokenized_by_an_older_hkai_qa_has_its_bm25_rebuilt_but_keeps_its_vectors():
    older = {key: value for key, value in BM25_PARAMETERS.items() if key != "tokens"}  # as recorded before
    reason = bm25_reason({"model": MODEL, "chunking_version": CHUNKING_VERSION, "bm25": older})
    assert reason == f"{BM25_CHANGED}: tokens None → {BM25_PARAMETERS['tokens']!r}"
    assert bm25_reason({"bm25": {**BM25_PARAMETERS, "k1": 0.1}}).endswith(f": k1 0.1 → {BM25_PARAMETERS['k1']!r}")
    assert bm25_reason({"bm25": dict(BM25_PARAMETERS)}) is None
    assert full_rebuild_reason({"model": MODEL, "chunking_version": CHUNKING_VERSION, "bm25": older}, MODEL) is None


def test_the_report_says_it_in_one_line_and_one_json_shape():
    report = UpdateReport("incremental", 1, 2, 30, 4, 1.25, FileChanges(removed=["gone.md"]))
    assert report.summary() == (
        "updated: 1 added, 2 updated, 30 unchanged, 4 removed passages in 1.2 s; files: 1 removed (gone.md)"
    )
    assert set(report.to_dict()) == {
        "kind",
        "reason",
        "added",
        "updated",
        "unchanged",
        "removed",
        "seconds",
        "retrained",
        "files",
    }
    assert UpdateReport.nothing(7, 0.5).to_dict()["unchanged"] == 7
