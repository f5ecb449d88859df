"""What an index holds and which corpus files changed since it was built: `hkai-qa status`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import index_store
from .build import locate
from .corpus import hash_corpus_files
from .errors import IndexStoreError
from .stores import parse_store, recorded_spec
from .update import diff_files


def index_status(
    corpus: str | Path | None = None,
    index: str | Path | None = None,
    *,
    store: str | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """The index's files, passages, model, store, times and abstention rule, and the corpus files changed since.

    Reads only: a missing or damaged index is an IndexStoreError naming the fix, and nothing is built.
    """
    where = locate(corpus, index, store=parse_store(store) if store is not None else None, model=model)
    if not where.index_dir.exists():
        shown = f" {where.corpus_path}" if corpus is not None else ""
        raise IndexStoreError(
            f"no index at {where.index_dir} (nothing has been built there). "
            f"Build one: hkai-qa build{shown or ' CORPUS'} --index {where.index_dir}"
            if index is not None
            else f"no index for {where.corpus_path} yet (looked in {where.index_dir}). "
            f"Build one: hkai-qa build {where.corpus_path}"
        )
    manifest = index_store.read_manifest(where.index_dir)
    recorded = manifest.get("corpus_files") or {}
    corpus_path = Path(corpus) if corpus is not None else Path(manifest.get("corpus_path") or where.corpus_path)
    corpus_found = corpus_path.exists()
    changes = diff_files(recorded, hash_corpus_files(corpus_path) if corpus_found else {})
    abstention = manifest.get("abstention") or {}
    return {
        "index": str(where.index_dir),
        "corpus": str(corpus_path),
        "corpus_found": corpus_found,
        "files": len(recorded),
        "documents": manifest.get("document_count"),
        "passages": manifest.get("passage_count"),
        "model": (manifest.get("model") or {}).get("name"),
        "store": recorded_spec(manifest).label(where.index_dir),
        "built_at": manifest.get("built_at"),
        "updated_at": manifest.get("updated_at"),
        "abstention": {"thresholds": abstention.get("thresholds", {}), "fitted_on": abstention.get("fitted_on")},
        "current": corpus_found and not changes,
        "changes": changes.to_dict(),
        "last_update": manifest.get("last_update"),
    }


def format_status(status: dict[str, Any]) -> str:
    """`index_status` for people: a few lines, the changes last."""
    thresholds = ", ".join(f"{mode} {value:.3f}" for mode, value in status["abstention"]["thresholds"].items())
    fitted = status["abstention"]["fitted_on"] or "built-in"
    changes = status["changes"]
    lines = [
        f"Index:     {status['index']}",
        f"Corpus:    {status['corpus']}" + ("" if status["corpus_found"] else " (not found)"),
        f"Holds:     {status['passages']:,} passages from {status['files']:,} files "
        f"({status['documents'] or 0:,} documents)",
        f"Model:     {status['model']}   Store: {status['store']}",
        f"Built:     {status['built_at']}" + (f"   Updated: {status['updated_at']}" if status["updated_at"] else ""),
        f"Abstains:  below {thresholds} ({fitted})",
    ]
    if status["current"]:
        lines.append("Changes:   none; the index is current.")
    else:
        parts = [f"{len(changes[k])} {k} ({', '.join(changes[k][:3])})" for k in ("added", "changed", "removed")]
        parts = [p for p, k in zip(parts, ("added", "changed", "removed"), strict=True) if changes[k]]
        if changes["renamed"]:
            parts.append(
                f"{len(changes['renamed'])} renamed ({', '.join(f'{a} → {b}' for a, b in changes['renamed'][:3])})"
            )
        lines.append(f"Changes:   {'; '.join(parts) or 'the corpus is missing'}. Update: hkai-qa build")
    return "\n".join(lines)
