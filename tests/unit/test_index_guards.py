"""Index folders under stress: foreign folders, crashes mid-swap, leftovers, read-only and full disks, damage.

Permission cases run in a child process without CAP_DAC_OVERRIDE (CI runs as
root, who could write anywhere); full-disk cases on a small tmpfs mounted here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hkai_qa import IndexStoreError, _files
from hkai_qa._files import build_lock, is_being_written, scratch_array, swap_in
from hkai_qa.index_store import check_replaceable, read_index, read_manifest, write_index
from hkai_qa.lexical import build_bm25
from hkai_qa.passages import Passage
from hkai_qa.stores.faiss import build_faiss_index

REPO = Path(__file__).resolve().parents[2]
TEXTS = ["Tea grows on hills.", "Lava flows from volcanoes.", "Grants fund startups."]
DIMENSION = 8


def make_index(folder: Path, texts=TEXTS, dimension=DIMENSION, seed=0) -> None:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(len(texts), dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    passages = [Passage(f"d#{i}", "d", "d.txt", f"H{i}", t, 0, len(t)) for i, t in enumerate(texts)]
    manifest = {
        "passage_count": len(texts),
        "model": {"name": "test", "dimension": dimension},
        "corpus_path": "docs",
        "abstention": {"thresholds": {"hybrid": 0.1}, "fitted_on": "built-in defaults"},
    }
    write_index(folder, manifest, passages, vectors, build_faiss_index(vectors), build_bm25(texts))


def beside(folder: Path) -> list[str]:
    """What hkai-qa keeps next to `folder`: its hidden `.NAME.*` siblings (staging, retired, scratch, lock)."""
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


# --- 1. never delete a folder hkai-qa did not write ------------------------------------------------


def test_an_app_folder_with_its_own_manifest_is_never_replaced(tmp_path):
    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "manifest.json").write_text('{"name": "app"}')
    (app / "src" / "app.js").write_text("code")
    with pytest.raises(IndexStoreError, match=r"app is not an hkai-qa index \(it holds manifest.json of another"):
        check_replaceable(app)
    with pytest.raises(IndexStoreError, match=r"src/\); not replacing it. Choose an empty or new --index folder"):
        make_index(app)
    assert (app / "src" / "app.js").read_text() == "code"
    assert json.loads((app / "manifest.json").read_text()) == {"name": "app"}
    assert beside(app) == []


def test_a_git_repository_is_never_replaced(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    with pytest.raises(IndexStoreError, match=r"it holds \.git/"):
        make_index(repo)
    assert (repo / ".git" / "HEAD").exists()


@pytest.mark.parametrize(
    "manifest",
    [
        {"writer": "another-tool", "format_version": 1, "passage_count": 3, "file_sizes": {}, "model": {}},
        ["not", "an", "object"],
    ],
)
def test_a_manifest_hkai_qa_did_not_write_makes_the_folder_foreign(tmp_path, manifest):
    (tmp_path / "ix").mkdir()
    (tmp_path / "ix" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexStoreError, match="not an hkai-qa index"):
        make_index(tmp_path / "ix")
    with pytest.raises(IndexStoreError, match="not an hkai-qa index"):
        read_manifest(tmp_path / "ix")


def test_a_file_dropped_into_an_index_is_kept(tmp_path):
    make_index(tmp_path / "ix")
    (tmp_path / "ix" / "notes.txt").write_text("mine")
    with pytest.raises(IndexStoreError, match=r"it holds notes.txt\)"):
        make_index(tmp_path / "ix")
    assert (tmp_path / "ix" / "notes.txt").read_text() == "mine"


def test_an_index_whose_manifest_was_deleted_is_rebuilt_by_the_printed_fix(tmp_path):
    make_index(tmp_path / "ix")
    (tmp_path / "ix" / "manifest.json").unlink()
    with pytest.raises(IndexStoreError, match="has no manifest.json .* Rebuild it: hkai-qa build CORPUS --index"):
        read_index(tmp_path / "ix")
    check_replaceable(tmp_path / "ix")
    make_index(tmp_path / "ix")
    assert read_index(tmp_path / "ix").manifest["writer"] == "hkai-qa"


def test_an_older_manifest_without_the_writer_mark_is_still_ours(tmp_path):
    make_index(tmp_path / "ix")
    manifest = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    del manifest["writer"]
    (tmp_path / "ix" / "manifest.json").write_text(json.dumps(manifest))
    assert read_manifest(tmp_path / "ix")["passage_count"] == 3
    make_index(tmp_path / "ix", texts=TEXTS[:2])
    assert read_index(tmp_path / "ix").manifest["passage_count"] == 2


def test_empty_and_missing_folders_may_be_built(tmp_path):
    (tmp_path / "empty").mkdir()
    check_replaceable(tmp_path / "empty")
    check_replaceable(tmp_path / "new")
    make_index(tmp_path / "empty")
    assert read_index(tmp_path / "empty").manifest["passage_count"] == 3


# --- 3. a crash between the two renames of a swap -----------------------------------------------------


def test_a_crash_between_the_two_renames_is_recovered_on_the_next_read(tmp_path, caplog):
    make_index(tmp_path / "ix")
    # What the fallback swap leaves when killed after its first rename: the old index retired, the new one staged.
    os.replace(tmp_path / "ix", tmp_path / ".ix.old-0badc0de")
    (tmp_path / ".ix.building-1234abcd").mkdir()
    (tmp_path / ".ix.building-1234abcd" / "passages.jsonl").write_text("half")
    with caplog.at_level(logging.WARNING, logger="hkai_qa"):
        stored = read_index(tmp_path / "ix")
    assert [p.text for p in stored.passages] == TEXTS
    assert "restored it from .ix.old-0badc0de" in caplog.text
    assert not (tmp_path / ".ix.old-0badc0de").exists()


def test_an_incomplete_retired_copy_is_not_restored(tmp_path):
    make_index(tmp_path / "ix")
    (tmp_path / "ix" / "vectors.npy").write_bytes(b"short")
    os.replace(tmp_path / "ix", tmp_path / ".ix.old-0badc0de")
    with pytest.raises(IndexStoreError, match="no index at"):
        read_manifest(tmp_path / "ix")
    assert (tmp_path / ".ix.old-0badc0de").is_dir()


def test_the_swap_exchanges_both_folders_in_one_step(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "a").write_text("old")
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "a").write_text("new")
    if not _files._exchange(tmp_path / "new", tmp_path / "old"):
        pytest.skip("this file system cannot exchange two paths (renameat2 RENAME_EXCHANGE)")
    assert (tmp_path / "old" / "a").read_text() == "new"
    assert (tmp_path / "new" / "a").read_text() == "old"


@pytest.mark.parametrize("exchange", [True, False])
def test_swap_in_replaces_and_leaves_nothing(tmp_path, monkeypatch, exchange):
    monkeypatch.setattr(_files, "exchange_supported", exchange and _files.exchange_supported)
    (tmp_path / "ix").mkdir()
    (tmp_path / "ix" / "old.txt").write_text("old")
    (tmp_path / "stage").mkdir()
    (tmp_path / "stage" / "new.txt").write_text("new")
    swap_in(tmp_path / "stage", tmp_path / "ix")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]
    assert [p.name for p in (tmp_path / "ix").iterdir()] == ["new.txt"]


# --- 8. leftovers ---------------------------------------------------------------------------------------


def test_the_next_build_clears_what_killed_builds_left(tmp_path):
    make_index(tmp_path / "ix")
    for name in (".ix.building-11111111", ".ix.old-22222222", ".ix.export-33333333"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "passages.jsonl").write_text("x")
    (tmp_path / ".ix.scratch-44444444").write_bytes(b"\0" * 64)
    (tmp_path / ".ix.vectors-55555555.npy").write_bytes(b"\0" * 64)
    (tmp_path / ".other.old-66666666").mkdir()  # another index's: not ours to clear
    make_index(tmp_path / "ix")
    assert beside(tmp_path / "ix") == []
    assert (tmp_path / ".other.old-66666666").is_dir()


def test_the_build_lock_leaves_no_file_and_nests(tmp_path):
    with build_lock(tmp_path / "ix"):
        assert (tmp_path / ".ix.lock").exists()
        with build_lock(tmp_path / "ix"):  # the same thread again: no deadlock
            pass
        assert (tmp_path / ".ix.lock").exists()
    assert list(tmp_path.iterdir()) == []


def test_a_held_build_lock_is_seen_by_readers_and_a_released_one_is_not(tmp_path):
    assert not is_being_written(tmp_path / "ix")  # no lock file at all
    with build_lock(tmp_path / "ix"):
        assert is_being_written(tmp_path / "ix")  # held by this thread: another thread's reader sees it
    assert not is_being_written(tmp_path / "ix")
    (tmp_path / ".ix.lock").write_text("")  # a lock file nobody holds
    assert not is_being_written(tmp_path / "ix")


def test_an_index_path_that_is_a_file_leaves_no_lock_beside_it(tmp_path):
    (tmp_path / "corpus.txt").write_text("text")
    with (
        pytest.raises(IndexStoreError, match="corpus.txt is a file, not an index folder"),
        build_lock(tmp_path / "corpus.txt"),
    ):
        pass
    with pytest.raises(IndexStoreError, match="is a file, not an index folder"):
        make_index(tmp_path / "corpus.txt")
    assert [p.name for p in tmp_path.iterdir()] == ["corpus.txt"]


# --- 6 and 8. read-only places, as a user without CAP_DAC_OVERRIDE ---------------------------------


def run_as_ordinary_user(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run Python `code` (with `args`) in this repository without the capabilities that let root write anywhere."""
    command = [sys.executable, "-c", code, *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv (util-linux) is missing: cannot drop root's CAP_DAC_OVERRIDE to test permissions")
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", "--inh-caps=-all", *command]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)


@contextlib.contextmanager
def read_only(*folders: Path):
    """Make folders (not their contents) read-only for the duration."""
    modes = [(f, f.stat().st_mode) for f in folders]
    try:
        for folder, mode in modes:
            folder.chmod(mode & 0o555)
        yield
    finally:
        for folder, mode in modes:
            folder.chmod(mode)


def test_an_index_in_a_read_only_folder_loads_without_a_lock_file(tmp_path):
    make_index(tmp_path / "ro" / "ix")
    code = (
        "from hkai_qa._files import build_lock; from hkai_qa.index_store import read_index\n"
        f"with build_lock({str(tmp_path / 'ro' / 'ix')!r}):\n"
        f"    print(len(read_index({str(tmp_path / 'ro' / 'ix')!r}).passages))"
    )
    with read_only(tmp_path / "ro", tmp_path / "ro" / "ix"):
        result = run_as_ordinary_user(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"
    assert beside(tmp_path / "ro" / "ix") == []


def test_a_read_only_index_folder_is_rebuilt_without_leaving_a_retired_copy(tmp_path):
    make_index(tmp_path / "ix")
    code = (
        "from pathlib import Path; from tests.unit.test_index_guards import make_index, TEXTS\n"
        f"make_index(Path({str(tmp_path / 'ix')!r}), TEXTS[:2])"
    )
    for _ in range(2):
        with read_only(tmp_path / "ix", tmp_path / "ix" / "bm25"):
            result = run_as_ordinary_user(code)
        assert result.returncode == 0, result.stderr
        assert beside(tmp_path / "ix") == []
    assert read_index(tmp_path / "ix").manifest["passage_count"] == 2


def test_a_read_only_parent_is_one_clear_error_and_leaves_nothing(tmp_path):
    make_index(tmp_path / "ro" / "ix")
    code = (
        "from pathlib import Path; from hkai_qa import IndexStoreError\n"
        "from tests.unit.test_index_guards import make_index\n"
        f"try: make_index(Path({str(tmp_path / 'ro' / 'ix')!r}), ['one passage'])\n"
        "except IndexStoreError as error: print(error)"
    )
    with read_only(tmp_path / "ro"):
        result = run_as_ordinary_user(code)
    assert result.returncode == 0, result.stderr
    assert f"cannot write the index in {tmp_path / 'ro'} (Permission denied)" in result.stdout
    assert "the previous index is unchanged" in result.stdout
    assert beside(tmp_path / "ro" / "ix") == []
    assert read_index(tmp_path / "ro" / "ix").manifest["passage_count"] == 3


# --- 7. a full disk -------------------------------------------------------------------------------------


def test_scratch_vectors_that_do_not_fit_are_one_error_up_front(small_disk):
    with pytest.raises(IndexStoreError) as error:
        scratch_array(small_disk / "ix", (2000, 384))
    message = str(error.value)
    assert message.startswith(f"not enough disk space in {small_disk}: it needs about 2.9 MB for the passage vectors")
    assert "MB is free" in message
    assert list(small_disk.iterdir()) == []


def test_scratch_vectors_that_fit_are_writable_and_leave_no_file(small_disk):
    vectors = scratch_array(small_disk / "ix", (500, 384))
    vectors[:] = 1.0
    assert vectors.sum() == 500 * 384
    assert list(small_disk.iterdir()) == []


def test_an_index_too_big_for_the_disk_keeps_the_old_one(small_disk):
    make_index(small_disk / "ix")
    with pytest.raises(
        IndexStoreError,
        match=f"not enough disk space in {small_disk}: it needs about 3.[0-9] MB for the index and 2.0 MB is free",
    ):
        make_index(small_disk / "ix", texts=[f"passage {i}" for i in 1000 * [0]], dimension=384)
    assert [p.text for p in read_index(small_disk / "ix").passages] == TEXTS
    assert beside(small_disk / "ix") == []


# --- 10. damaged manifests and arrays ------------------------------------------------------------------


def edit_manifest(folder: Path, change) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda m: m.update(model=None), "model should be an object"),
        (lambda m: m["model"].update(name=7), "model.name should be text, not 7"),
        (lambda m: m.update(corpus_files=None), "corpus_files should be an object of file names"),
        (lambda m: m.update(corpus_files={"a.txt": 5}), "corpus_files should be"),
        (lambda m: m.update(abstention=[]), r"abstention should be an object, not \[\]"),
        (
            lambda m: m["abstention"]["thresholds"].update(hybrid="abc"),
            'abstention.thresholds should be .* not {"hybrid": "abc"}',
        ),
        (lambda m: m.update(passage_count="3"), 'passage_count should be a whole number, 0 or more, not "3"'),
        (lambda m: m.update(passage_count=True), "passage_count should be"),
        (lambda m: m.update(file_sizes=None), "file_sizes should be"),
        (lambda m: m["file_sizes"].update({"../../etc/passwd": 1}), "file_sizes should be"),
        (lambda m: m.update(store=[]), "store should be an object"),
    ],
)
def test_manifest_fields_of_the_wrong_type_are_damage_with_a_working_fix(tmp_path, change, expected):
    make_index(tmp_path / "ix")
    edit_manifest(tmp_path / "ix", change)
    with pytest.raises(IndexStoreError, match=f"manifest.json is damaged \\({expected}") as error:
        read_index(tmp_path / "ix")
    assert "Rebuild it: hkai-qa build" in str(error.value)
    make_index(tmp_path / "ix")  # the fix the message names works on this folder
    assert read_index(tmp_path / "ix").manifest["passage_count"] == 3


def rewrite_array(folder: Path, name: str, array: np.ndarray) -> None:
    """Replace an array file and record its new size, so only its contents are wrong."""
    np.save(folder / name, array, allow_pickle=False)
    edit_manifest(folder, lambda m: m["file_sizes"].update({name: (folder / name).stat().st_size}))


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.zeros((3, 16), np.float16), r"holds float16 \[3, 16\] where the manifest needs float32 \[3, 8\]"),
        (np.zeros((6, 4), np.float32), r"holds float32 \[6, 4\]"),
        (np.zeros((24,), np.float32), r"holds float32 \[24\]"),
    ],
)
def test_vectors_of_another_shape_or_type_are_damage(tmp_path, array, expected):
    make_index(tmp_path / "ix")
    assert array.nbytes == 3 * DIMENSION * 4  # the same bytes, read another way
    rewrite_array(tmp_path / "ix", "vectors.npy", array)
    with pytest.raises(IndexStoreError, match=expected):
        read_index(tmp_path / "ix")


@pytest.mark.parametrize(
    ("name", "damage", "expected"),
    [
        ("bm25/indices.csc.index.npy", lambda a: np.where(a == a.max(), 99, a), "points at passages outside 0..2"),
        ("bm25/indices.csc.index.npy", lambda a: -a - 1, "points at passages outside"),
        ("bm25/indptr.csc.index.npy", lambda a: a[::-1].copy(), "column pointers do not match"),
        ("bm25/indptr.csc.index.npy", lambda a: a.astype(np.float64), "do not hold whole numbers"),
    ],
)
def test_bm25_arrays_pointing_outside_are_damage(tmp_path, name, damage, expected):
    make_index(tmp_path / "ix")
    rewrite_array(tmp_path / "ix", name, damage(np.load(tmp_path / "ix" / name)))
    with pytest.raises(IndexStoreError, match=f"bm25 is damaged \\(.*{expected}"):
        read_index(tmp_path / "ix")
