"""An index on disk: a folder of plain files, written atomically, checked on read.

    manifest.json   format version, writer, model and weight hash, corpus file hashes, counts, file sizes
    passages.jsonl  one passage per line (text, heading, source, offsets)
    vectors.npy     float32 unit vectors, one row per passage (no pickles)
    faiss.index     the FAISS index over those vectors
    sentence_vectors.npy, sentence_passages.npy
                    small corpora: a vector per sentence and its passage row (hkai_qa.sentence_vectors)
    window_vectors.npy, window_passages.npy, window_spans.npy
                    small corpora: a vector per model window of each passage longer than one,
                    its passage row and its span in the passage's text (hkai_qa.window_vectors)
    bm25/           bm25s's own arrays and JSON

An index whose vectors live in Milvus (manifest `store.kind` "milvus") has no
vectors.npy or faiss.index: its vectors are in the collection the manifest names.

A build writes everything into a hidden sibling folder, then swaps it in (see
`hkai_qa._files`), so an interrupted build never leaves a half index behind. It
replaces only a folder hkai-qa can tell it wrote: empty, or holding nothing but
the files above; anything else is refused before any work (`check_replaceable`).
Reading checks the manifest's fields and the arrays' types and shapes before
FAISS or numpy uses them, so damage is an IndexStoreError naming the fix.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._files import (
    build_lock,
    clean_leftovers,
    free_bytes,
    fsync_tree,
    remove_tree,
    restore_retired,
    sibling,
    swap_in,
    write_error,
)
from .errors import IndexStoreError
from .lexical import load_bm25
from .passages import Passage
from .sentence_vectors import SentenceVectors
from .stores.faiss import read_faiss_index, write_faiss_index
from .window_vectors import WindowVectors

if TYPE_CHECKING:
    import bm25s
    import faiss

FORMAT_VERSION = 1
WRITER = "hkai-qa"  # in every manifest written since this field was added; older ones are recognised by their fields
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
VECTORS = "vectors.npy"
FAISS_INDEX = "faiss.index"
SENTENCE_VECTORS = "sentence_vectors.npy"  # small corpora only (see hkai_qa.sentence_vectors)
SENTENCE_PASSAGES = "sentence_passages.npy"
WINDOW_VECTORS = "window_vectors.npy"  # small corpora's passages longer than a model window (hkai_qa.window_vectors)
WINDOW_PASSAGES = "window_passages.npy"
WINDOW_SPANS = "window_spans.npy"
BM25_FOLDER = "bm25"
OUR_FILES = (
    MANIFEST,
    PASSAGES,
    VECTORS,
    FAISS_INDEX,
    SENTENCE_VECTORS,
    SENTENCE_PASSAGES,
    WINDOW_VECTORS,
    WINDOW_PASSAGES,
    WINDOW_SPANS,
)
BM25_FILE = re.compile(r"^[\w.-]+\.index\.(npy|json)$")  # bm25s's names: data.csc.index.npy, vocab.index.json, ...
# What a file manager may drop into any folder it shows; harmless to replace.
DESKTOP_CLUTTER = (".DS_Store", "Thumbs.db", "desktop.ini")


@dataclass
class StoredIndex:
    """Everything a loaded index holds."""

    folder: Path
    manifest: dict[str, Any]
    passages: list[Passage]
    vectors: np.ndarray | None  # None when the vectors live in Milvus
    faiss_index: faiss.Index | None
    bm25: bm25s.BM25
    sentences: SentenceVectors | None = None  # None: a large corpus, or an index built before they existed
    windows: WindowVectors | None = None  # None: no passage longer than the model's window (a large corpus)


def rebuild_hint(folder: Path, corpus: str | None = None) -> str:
    corpus_part = f" {corpus}" if isinstance(corpus, str) and corpus else " CORPUS"
    return f"Rebuild it: hkai-qa build{corpus_part} --index {folder}"


# --- which folders hkai-qa may replace ----------------------------------------------------------------


def check_replaceable(folder: str | Path) -> None:
    """IndexStoreError unless `folder` is missing, empty, or holds only what hkai-qa writes.

    Called before a build does any work, and again just before its swap, so a
    folder of someone else's files (an app, a git repository) is never deleted.
    """
    folder = Path(folder)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise _a_file(folder)
    foreign = foreign_entries(folder)
    if foreign:
        raise _not_an_index(folder, foreign)


def check_not_foreign(folder: str | Path) -> None:
    """IndexStoreError when `folder` is someone else's: not empty, not an hkai-qa index, not only our files.

    Looser than `check_replaceable`: an index someone dropped a file into still
    loads; only replacing it is refused. Loading calls this before anything else.
    """
    folder = Path(folder)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise _a_file(folder)
    manifest, _ = _manifest_json(folder)
    if not looks_like_ours(manifest):
        foreign = foreign_entries(folder)
        if foreign:
            raise _not_an_index(folder, foreign)


def foreign_entries(folder: Path) -> list[str]:
    """What in `folder` hkai-qa did not write: names, with / after folders; empty for an index or an empty folder."""
    try:
        entries = sorted(folder.iterdir())
    except OSError as error:
        raise IndexStoreError(f"cannot read the folder {folder} ({error.strerror}).") from None
    manifest, readable = _manifest_json(folder)
    foreign = []
    if readable and not looks_like_ours(manifest):
        foreign.append(f"{MANIFEST} of another program")
    listed = (
        set(manifest["file_sizes"])
        if looks_like_ours(manifest) and isinstance(manifest.get("file_sizes"), dict)
        else set()
    )
    for entry in entries:
        name = entry.name
        plain_file = entry.is_file() and not entry.is_symlink()
        if name == BM25_FOLDER and entry.is_dir() and not entry.is_symlink():
            for inner in sorted(entry.iterdir()):
                known = f"{BM25_FOLDER}/{inner.name}" in listed or BM25_FILE.match(inner.name)
                if not (known and inner.is_file() and not inner.is_symlink()):
                    foreign.append(f"{BM25_FOLDER}/{inner.name}" + ("/" if inner.is_dir() else ""))
        elif plain_file and (
            name in OUR_FILES or name in listed or name in DESKTOP_CLUTTER or name.startswith(f".{MANIFEST}.")
        ):
            continue
        else:
            foreign.append(name + ("/" if entry.is_dir() and not entry.is_symlink() else ""))
    return foreign


def looks_like_ours(manifest: object) -> bool:
    """Whether parsed JSON is an hkai-qa manifest: it says so, or (older ones) has a format version and no writer."""
    if not isinstance(manifest, dict):
        return False
    if "writer" in manifest:
        return manifest["writer"] == WRITER
    return isinstance(manifest.get("format_version"), int) and not isinstance(manifest["format_version"], bool)


def _manifest_json(folder: Path) -> tuple[Any, bool]:
    """(parsed manifest.json, whether it parsed); (None, False) when missing or unreadable."""
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8")), True
    except (OSError, ValueError):
        return None, False


def _a_file(folder: Path) -> IndexStoreError:
    return IndexStoreError(f"{folder} is a file, not an index folder. Remove it or choose another --index folder.")


def _not_an_index(folder: Path, foreign: list[str], *, reading: bool = False) -> IndexStoreError:
    shown = ", ".join(foreign[:4]) + (", …" if len(foreign) > 4 else "")
    if not reading:
        return IndexStoreError(
            f"{folder} is not an hkai-qa index (it holds {shown}); not replacing it. "
            "Choose an empty or new --index folder."
        )
    missing = "" if (folder / MANIFEST).exists() else f"it has no {MANIFEST} and "
    return IndexStoreError(
        f"{folder} is not an hkai-qa index ({missing}holds {shown}). Name the folder an index was built into, "
        "or build one into an empty or new folder: hkai-qa build CORPUS --index NEW_FOLDER"
    )


# --- the manifest's fields --------------------------------------------------------------------------


def manifest_problems(manifest: dict[str, Any]) -> list[str]:
    """What is wrong with a parsed manifest's fields (an empty list when nothing is).

    Unknown fields are allowed, so a newer hkai-qa can add some; the ones this
    version reads must have the types it uses.
    """
    problems: list[str] = []

    def need(path: str, value: Any, ok: bool, expected: str) -> None:
        if not ok:
            problems.append(f"{path} should be {expected}, not {json.dumps(value)[:40]}")

    def optional(key: str, check, expected: str, within: dict[str, Any] = manifest, prefix: str = "") -> None:
        if key in within:
            need(prefix + key, within[key], check(within[key]), expected)

    model = manifest.get("model")
    need("model", model, isinstance(model, dict), "an object with the model's name")
    if isinstance(model, dict):
        need("model.name", model.get("name"), isinstance(model.get("name"), str) and bool(model.get("name")), "text")
        optional("weights_sha256", lambda v: v is None or isinstance(v, str), "text or null", model, "model.")
        optional("dimension", _is_positive_int, "a whole number above 0", model, "model.")
        optional("max_tokens", _is_positive_int, "a whole number above 0", model, "model.")
        optional("encoder", lambda v: isinstance(v, str), "text", model, "model.")
    count = manifest.get("passage_count")
    need("passage_count", count, _is_count(count), "a whole number, 0 or more")
    sizes = manifest.get("file_sizes")
    need(
        "file_sizes",
        sizes,
        isinstance(sizes, dict) and all(_is_inside(k) and _is_count(v) for k, v in sizes.items()),
        "an object of relative file names and byte counts",
    )
    for key in ("corpus_path", "corpus_name", "built_at"):
        optional(key, lambda v: isinstance(v, str), "text")
    optional("corpus_files", lambda v: _is_text_map(v), "an object of file names and sha256 texts")
    optional("document_count", _is_count, "a whole number, 0 or more")
    optional("dimension", _is_positive_int, "a whole number above 0")
    optional("build_seconds", _is_number, "a number")
    optional("bm25", lambda v: isinstance(v, dict), "an object")
    abstention = manifest.get("abstention")
    optional("abstention", lambda v: isinstance(v, dict), "an object")
    if isinstance(abstention, dict):
        thresholds = abstention.get("thresholds", {})
        need(
            "abstention.thresholds",
            thresholds,
            isinstance(thresholds, dict) and all(isinstance(k, str) and _is_number(v) for k, v in thresholds.items()),
            "an object of modes and numbers",
        )
        optional("fitted_on", lambda v: isinstance(v, str), "text", abstention, "abstention.")
        optional("questions", _is_count, "a whole number", abstention, "abstention.")
    store = manifest.get("store")
    optional("store", lambda v: v is None or isinstance(v, dict), "an object")
    if isinstance(store, dict):
        optional("kind", lambda v: v in ("faiss", "milvus"), '"faiss" or "milvus"', store, "store.")
        for key in ("uri", "fingerprint"):
            optional(key, lambda v: isinstance(v, str), "text", store, "store.")
        optional("collection", lambda v: v is None or isinstance(v, str), "text", store, "store.")
    return problems


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_positive_int(value: object) -> bool:
    return _is_count(value) and value > 0


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_text_map(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _is_inside(name: object) -> bool:
    """A relative path that stays inside the index folder."""
    return isinstance(name, str) and bool(name) and not name.startswith("/") and ".." not in name.split("/")


# --- reading ------------------------------------------------------------------------------------------


def restore_interrupted_swap(folder: str | Path) -> bool:
    """Put back the index a crash mid-swap left in `.NAME.old-*` when `folder` is missing; True if it did."""
    return restore_retired(Path(folder), _is_complete) is not None


def _is_complete(folder: Path) -> bool:
    manifest, readable = _manifest_json(folder)
    if not (readable and looks_like_ours(manifest)) or manifest_problems(manifest):
        return False
    for name, size in manifest["file_sizes"].items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != size:
            return False
    return True


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of the index in `folder`, or IndexStoreError saying what is wrong."""
    folder = Path(folder)
    path = folder / MANIFEST
    restore_interrupted_swap(folder)
    if folder.exists() and not folder.is_dir():
        raise _a_file(folder)
    if not folder.is_dir():
        raise IndexStoreError(f"no index at {folder} (the folder does not exist). {rebuild_hint(folder)}")
    manifest, readable = _manifest_json(folder)
    if not looks_like_ours(manifest):
        foreign = foreign_entries(folder)
        if foreign:
            raise _not_an_index(folder, foreign, reading=True)
    if not path.is_file():
        raise IndexStoreError(
            f"{folder} has no {MANIFEST} (not an hkai-qa index, or a save was interrupted). {rebuild_hint(folder)}"
        )
    if not readable:
        try:
            json.loads(path.read_text(encoding="utf-8"))
            reason = "it is not a JSON object"
        except (OSError, ValueError) as error:
            reason = str(error)[:160]
        raise IndexStoreError(f"{path} is damaged ({reason}). {rebuild_hint(folder)}")
    corpus = manifest.get("corpus_path") if isinstance(manifest, dict) else None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        found = manifest.get("format_version") if isinstance(manifest, dict) else None
        raise IndexStoreError(
            f"{path} has format version {found!r}; this hkai-qa reads version {FORMAT_VERSION}. "
            f"{rebuild_hint(folder, corpus)}"
        )
    problems = manifest_problems(manifest)
    if problems:
        shown = "; ".join(problems[:3]) + ("; …" if len(problems) > 3 else "")
        raise IndexStoreError(f"{path} is damaged ({shown}). {rebuild_hint(folder, corpus)}")
    return manifest


def read_index(folder: str | Path) -> StoredIndex:
    """Load an index, checking every file against the manifest before FAISS or numpy sees it."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    hint = rebuild_hint(folder, manifest.get("corpus_path"))
    for name, size in manifest["file_sizes"].items():
        path = folder / name
        if not path.is_file():
            raise IndexStoreError(f"{folder} is missing {name}. {hint}")
        if path.stat().st_size != size:
            raise IndexStoreError(
                f"{path} has {path.stat().st_size} bytes, the manifest says {size} (truncated or damaged). {hint}"
            )
    count = manifest["passage_count"]
    try:
        passages = [_passage_from_dict(json.loads(line)) for line in (folder / PASSAGES).open(encoding="utf-8")]
        vectors, faiss_index = None, None
        if _holds_faiss(manifest):
            vectors = np.load(folder / VECTORS, mmap_mode="r", allow_pickle=False)
            _check_vectors(vectors, count, _dimension(manifest), folder / VECTORS, hint)
            faiss_index = read_faiss_index(folder / FAISS_INDEX)
        bm25 = load_bm25(folder / BM25_FOLDER)
        _check_bm25(bm25, count, folder / BM25_FOLDER, hint)
        sentences = _read_sentences(folder, manifest, count, hint)
        windows = _read_windows(folder, manifest, passages, hint)
    except (ValueError, KeyError, TypeError, OSError, RuntimeError) as error:
        raise IndexStoreError(f"{folder} is damaged ({type(error).__name__}: {str(error)[:160]}). {hint}") from None
    n_vectors = len(vectors) if vectors is not None else count
    n_indexed = faiss_index.ntotal if faiss_index is not None else count
    if not (len(passages) == count == n_vectors == n_indexed == bm25.scores["num_docs"]):
        raise IndexStoreError(
            f"{folder} is inconsistent: {len(passages)} passages, {n_vectors} vectors, "
            f"{n_indexed} indexed, manifest says {count}. {hint}"
        )
    if faiss_index is not None and vectors is not None and faiss_index.d != vectors.shape[1]:
        raise IndexStoreError(
            f"{folder} is inconsistent: {FAISS_INDEX} holds {faiss_index.d}-dimensional vectors, "
            f"{VECTORS} {vectors.shape[1]}-dimensional ones. {hint}"
        )
    return StoredIndex(folder, manifest, passages, vectors, faiss_index, bm25, sentences, windows)


def _read_sentences(folder: Path, manifest: dict[str, Any], count: int, hint: str) -> SentenceVectors | None:
    """The sentence vectors the manifest lists, checked: float32 [sentences, dimension], rows of real passages."""
    if SENTENCE_VECTORS not in manifest["file_sizes"]:
        return None
    vectors = np.load(folder / SENTENCE_VECTORS, mmap_mode="r", allow_pickle=False)
    rows = np.load(folder / SENTENCE_PASSAGES, allow_pickle=False)
    _check_vectors(vectors, len(rows), _dimension(manifest), folder / SENTENCE_VECTORS, hint)
    if rows.ndim != 1 or (len(rows) and (rows.min() < 0 or rows.max() >= count or np.any(np.diff(rows) < 0))):
        raise IndexStoreError(f"{folder / SENTENCE_PASSAGES} does not list passages in order. {hint}")
    return SentenceVectors(rows, vectors)


def _read_windows(folder: Path, manifest: dict[str, Any], passages: list[Passage], hint: str) -> WindowVectors | None:
    """The window vectors the manifest lists, checked: float32 [windows, dimension], each window a span
    of a real passage."""
    if WINDOW_VECTORS not in manifest["file_sizes"]:
        return None
    vectors = np.load(folder / WINDOW_VECTORS, mmap_mode="r", allow_pickle=False)
    rows = np.load(folder / WINDOW_PASSAGES, allow_pickle=False)
    spans = np.load(folder / WINDOW_SPANS, allow_pickle=False)
    _check_vectors(vectors, len(rows), _dimension(manifest), folder / WINDOW_VECTORS, hint)
    count = len(passages)
    if rows.ndim != 1 or (len(rows) and (rows.min() < 0 or rows.max() >= count or np.any(np.diff(rows) < 0))):
        raise IndexStoreError(f"{folder / WINDOW_PASSAGES} does not list passages in order. {hint}")
    lengths = np.array([len(passages[int(r)].text) for r in rows], dtype=np.int64)
    if spans.shape != (len(rows), 2) or np.any(spans[:, 0] < 0) or np.any(spans[:, 1] > lengths):
        raise IndexStoreError(f"{folder / WINDOW_SPANS} holds spans outside their passages. {hint}")
    return WindowVectors(rows, spans, vectors)


def _dimension(manifest: dict[str, Any]) -> int | None:
    return manifest.get("dimension") or manifest["model"].get("dimension")


def _check_vectors(vectors: np.ndarray, count: int, dimension: int | None, path: Path, hint: str) -> None:
    """vectors.npy must be float32 [passage_count, dimension]: anything else would reach FAISS as garbage."""
    expected = f"float32 [{count}, {dimension or 'dimension'}]"
    shape_ok = vectors.ndim == 2 and vectors.shape[0] == count and (dimension is None or vectors.shape[1] == dimension)
    if vectors.dtype != np.float32 or not shape_ok:
        shown = f"{vectors.dtype} {list(vectors.shape)}"
        raise IndexStoreError(f"{path} holds {shown} where the manifest needs {expected} (damaged). {hint}")


def _check_bm25(bm25: bm25s.BM25, count: int, path: Path, hint: str) -> None:
    """bm25s's sparse arrays must point inside themselves and at real passages, or scoring raises IndexError."""
    scores = bm25.scores
    data, indices, indptr = (np.asarray(scores.get(key)) for key in ("data", "indices", "indptr"))
    vocab = getattr(bm25, "vocab_dict", None) or {}
    problem = None
    if scores.get("num_docs") != count:
        problem = f"it counts {scores.get('num_docs')} passages, the manifest {count}"
    elif not (data.ndim == indices.ndim == indptr.ndim == 1) or indptr.size == 0:
        problem = "its arrays are not flat lists"
    elif not (np.issubdtype(indices.dtype, np.integer) and np.issubdtype(indptr.dtype, np.integer)):
        problem = "its index arrays do not hold whole numbers"
    elif indptr[0] != 0 or indptr[-1] != len(indices) or len(data) != len(indices) or np.any(np.diff(indptr) < 0):
        problem = "its column pointers do not match its data"
    elif len(indices) and (indices.min() < 0 or indices.max() >= count):
        problem = f"it points at passages outside 0..{count - 1}"
    elif any(not (isinstance(v, int) and 0 <= v < len(indptr) - (k != "")) for k, v in vocab.items()):
        problem = "its vocabulary points outside its arrays"
    if problem:
        raise IndexStoreError(f"{path} is damaged ({problem}). {hint}")


def _holds_faiss(manifest: dict[str, Any]) -> bool:
    """Whether the vectors are files in the folder (FAISS) rather than in a Milvus collection."""
    return (manifest.get("store") or {}).get("kind", "faiss") == "faiss"


def _passage_from_dict(row: dict[str, Any]) -> Passage:
    return Passage(
        passage_id=str(row["passage_id"]),
        doc_id=str(row["doc_id"]),
        source=str(row["source"]),
        heading=str(row["heading"]),
        text=str(row["text"]),
        start=int(row["start"]),
        end=int(row["end"]),
        # Absent from indexes built before passages recorded pages, and from formats without pages.
        page=_optional_int(row.get("page")),
        page_end=_optional_int(row.get("page_end")),
        page_label=None if row.get("page_label") is None else str(row["page_label"]),
        page_starts=tuple((int(offset), int(number)) for offset, number in row.get("page_starts") or ()),
    )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def write_index(
    folder: str | Path,
    manifest: dict[str, Any],
    passages: list[Passage],
    vectors: np.ndarray | None,
    faiss_index: faiss.Index | None,
    bm25: bm25s.BM25,
    sentences: SentenceVectors | None = None,
    windows: WindowVectors | None = None,
) -> None:
    """Write an index into `folder`, replacing what is there only once all of it is on disk.

    `vectors` and `faiss_index` are None when the vectors live in Milvus. A full
    or read-only disk is an IndexStoreError saying how much room is needed where;
    the previous index stays as it was.
    """
    folder = Path(folder)
    needed = (
        _estimated_bytes(passages, vectors, bm25)
        + (sentences.vectors.nbytes + sentences.passages.nbytes if sentences is not None else 0)
        + (windows.vectors.nbytes + windows.spans.nbytes * 2 if windows is not None else 0)
    )
    with build_lock(folder):
        check_replaceable(folder)
        try:
            staging = sibling(folder, "building")
            staging.mkdir()
        except OSError as error:
            raise write_error(error, folder.parent, needed) from None
        try:
            with (staging / PASSAGES).open("w", encoding="utf-8") as handle:
                for passage in passages:
                    handle.write(json.dumps(passage.to_dict(), ensure_ascii=False) + "\n")
            if vectors is not None:
                np.save(staging / VECTORS, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
                write_faiss_index(faiss_index, staging / FAISS_INDEX)
            bm25.save(str(staging / BM25_FOLDER), allow_pickle=False)
            if sentences is not None:
                vectors_out = np.ascontiguousarray(sentences.vectors, dtype=np.float32)
                np.save(staging / SENTENCE_VECTORS, vectors_out, allow_pickle=False)
                rows_out = np.asarray(sentences.passages, dtype=np.int32)
                np.save(staging / SENTENCE_PASSAGES, rows_out, allow_pickle=False)
            if windows is not None:
                np.save(
                    staging / WINDOW_VECTORS,
                    np.ascontiguousarray(windows.vectors, dtype=np.float32),
                    allow_pickle=False,
                )
                np.save(staging / WINDOW_PASSAGES, np.asarray(windows.passages, dtype=np.int32), allow_pickle=False)
                np.save(staging / WINDOW_SPANS, np.asarray(windows.spans, dtype=np.int32), allow_pickle=False)
            sizes = {
                p.relative_to(staging).as_posix(): p.stat().st_size for p in sorted(staging.rglob("*")) if p.is_file()
            }
            full_manifest = {"format_version": FORMAT_VERSION, "writer": WRITER, **manifest, "file_sizes": sizes}
            (staging / MANIFEST).write_text(json.dumps(full_manifest, indent=2, ensure_ascii=False), encoding="utf-8")
            fsync_tree(staging)
            check_replaceable(folder)  # again: someone may have put files there during the build
            swap_in(staging, folder)
        except (OSError, RuntimeError) as error:
            remove_tree(staging)
            # FAISS reports a failed write as a RuntimeError; a full disk shows as too little room left.
            if isinstance(error, OSError) or free_bytes(folder.parent) < needed:
                raise write_error(_as_os_error(error), folder.parent, needed) from None
            raise
        except BaseException:
            remove_tree(staging)
            raise
        clean_leftovers(folder)


def _as_os_error(error: BaseException) -> OSError:
    return error if isinstance(error, OSError) else OSError(errno.ENOSPC, str(error))


def _estimated_bytes(passages: list[Passage], vectors: np.ndarray | None, bm25: Any) -> int:
    """About what an index takes on disk: passages as JSON, vectors twice (npy and FAISS), BM25's arrays."""
    total = sum(len(p.text) + len(p.heading) + len(p.source) + 120 for p in passages if isinstance(p, Passage))
    if vectors is not None:
        total += 2 * int(np.prod(np.shape(vectors))) * 4
    scores = getattr(bm25, "scores", None) or {}
    total += sum(int(getattr(scores.get(k), "nbytes", 0)) for k in ("data", "indices", "indptr"))
    total += sum(len(k) + 12 for k in (getattr(bm25, "vocab_dict", None) or {}))
    return total


def update_manifest(folder: str | Path, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge `changes` into an index's manifest, replacing the file atomically."""
    folder = Path(folder)
    manifest = {**read_manifest(folder), **changes}
    temporary = folder / f".{MANIFEST}.{uuid.uuid4().hex[:8]}"
    try:
        temporary.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, folder / MANIFEST)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise write_error(error, folder, what="the manifest") from None
    return manifest
