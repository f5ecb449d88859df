"""What changed between an index and its corpus, and what an update can keep.

An update re-splits the corpus as a fresh build would, so its passages (ids,
order, text) are exactly a fresh build's; only the embedding is saved: a passage
whose text, heading and model are unchanged keeps its old vector
(`plan_passages`). What forces a full rebuild instead (another model, other
chunking rules, another store) is `full_rebuild_reason`. Nothing here loads a
model, so the diffing is tested alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ._defaults import BM25_PARAMETERS

if TYPE_CHECKING:
    from .passages import Passage

# Bump when `passages.split_documents` or a reader cuts passages differently: every index built under
# the old rules is then rebuilt once, even for an unchanged corpus (2: PDF paragraphs and nested headings,
# windows never only the previous window's overlap; 3: a small corpus's passages span up to two windows, each embedded;
# 4: a short lead-in to a section's subsections joins the first of them; plain-text code and lead-ins are no
# headings; HTML and Word code is one fenced block; an HTML page's only h1 roots its paths).
CHUNKING_VERSION = 4
# The model fields whose change makes every old vector useless.
MODEL_FIELDS = ("name", "weights_sha256", "dimension", "max_tokens", "passage_text")


def passage_key(passage: Passage, model: str) -> str:
    """What a passage's vector depends on: its text, its heading and the model."""
    return hashlib.sha256(f"{model}\0{passage.heading}\0{passage.text}".encode()).hexdigest()


@dataclass(frozen=True)
class PassagePlan:
    """For each new passage, the old row whose vector it keeps (None: embed it), and the counts."""

    reuse: list[int | None]
    added: int
    updated: int
    unchanged: int
    removed: int

    @property
    def to_embed(self) -> list[int]:
        """New passage rows that need the model."""
        return [row for row, old in enumerate(self.reuse) if old is None]


def plan_passages(old: Sequence[Passage], new: Sequence[Passage], model: str) -> PassagePlan:
    """Which of `new` are unchanged (their vector is reused), updated (same id, new text) or added;
    how many of `old` are removed (neither reused nor still present under their id)."""
    old_rows = {passage_key(p, model): row for row, p in enumerate(old)}
    old_ids = {p.passage_id for p in old}
    new_ids = {p.passage_id for p in new}
    reuse = [old_rows.get(passage_key(p, model)) for p in new]
    reused_rows = {row for row in reuse if row is not None}
    fresh = [p for p, row in zip(new, reuse, strict=True) if row is None]
    updated = sum(p.passage_id in old_ids for p in fresh)
    removed = sum(1 for row, p in enumerate(old) if row not in reused_rows and p.passage_id not in new_ids)
    return PassagePlan(reuse, len(fresh) - updated, updated, len(new) - len(fresh), removed)


@dataclass(frozen=True)
class FileChanges:
    """Corpus files added, changed, removed and renamed (old name, new name: same content) since a build."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.renamed)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "renamed": [list(pair) for pair in self.renamed]}

    def summary(self) -> str:
        """One phrase, e.g. "files: 1 added (b.md), 1 renamed (a.md → c.md)", or "" when nothing changed."""
        parts = [
            f"{len(names)} {what} ({_names(names)})"
            for what, names in (("added", self.added), ("changed", self.changed), ("removed", self.removed))
            if names
        ]
        if self.renamed:
            parts.append(f"{len(self.renamed)} renamed ({_names([f'{a} → {b}' for a, b in self.renamed])})")
        return "files: " + ", ".join(parts) if parts else ""


def _names(names: Sequence[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def diff_files(old: dict[str, str], new: dict[str, str]) -> FileChanges:
    """Compare two {file name: sha256} maps; a removed file whose content reappears under a new name is a rename."""
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = sorted(name for name in set(old) & set(new) if old[name] != new[name])
    renamed: list[tuple[str, str]] = []
    by_hash = {}
    for name in added:
        by_hash.setdefault(new[name], []).append(name)
    for name in list(removed):
        if by_hash.get(old[name]):
            target = by_hash[old[name]].pop(0)
            renamed.append((name, target))
            removed.remove(name)
            added.remove(target)
    return FileChanges(added, changed, removed, renamed)


def full_rebuild_reason(manifest: dict[str, Any], model: dict[str, Any]) -> str | None:
    """Why the index `manifest` describes cannot be updated in place (its vectors are no use), or None.

    The same for every store: FAISS copies kept vectors into a new file, Milvus keeps their rows.
    """
    recorded = manifest.get("model") or {}
    for key in MODEL_FIELDS:
        if recorded.get(key) != model.get(key):
            return f"the model's {key} changed ({recorded.get(key)!r} → {model.get(key)!r})"
    return chunking_reason(manifest)


def chunking_reason(manifest: dict[str, Any]) -> str | None:
    """Why passages cut for the index `manifest` describes differ from today's rules, or None."""
    version = manifest.get("chunking_version")
    if version != CHUNKING_VERSION:
        return f"the chunking rules changed (version {version} → {CHUNKING_VERSION})"
    return None


BM25_CHANGED = "BM25 tokens or parameters changed"


def bm25_reason(manifest: dict[str, Any]) -> str | None:
    """Why the BM25 index `manifest` describes differs from what today's tokens and parameters make, or None.

    Its vectors stay good, so an update rebuilds only the BM25 (it does on every update anyway).
    """
    recorded = manifest.get("bm25") or {}
    changed = [key for key in BM25_PARAMETERS if recorded.get(key) != BM25_PARAMETERS[key]]
    if not changed:
        return None
    return f"{BM25_CHANGED}: {', '.join(f'{k} {recorded.get(k)!r} → {BM25_PARAMETERS[k]!r}' for k in changed)}"


@dataclass
class UpdateReport:
    """What one build did: "full" (with why), "incremental" or "none", passage counts, seconds, files changed."""

    kind: str
    added: int
    updated: int
    unchanged: int
    removed: int
    seconds: float
    files: FileChanges
    reason: str = ""
    retrained: bool = False  # an IVF index's lists were trained again

    @classmethod
    def nothing(cls, passages: int, seconds: float) -> UpdateReport:
        """The report of a build that found the index current."""
        return cls("none", 0, 0, passages, 0, seconds, FileChanges())

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "reason": self.reason,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "seconds": self.seconds,
            "retrained": self.retrained,
            "files": self.files.to_dict(),
        }

    def summary(self) -> str:
        """The one-line notice: what was embedded, kept and dropped, and which files changed."""
        counts = (
            f"{self.added:,} added, {self.updated:,} updated, {self.unchanged:,} unchanged, "
            f"{self.removed:,} removed passages in {self.seconds:.1f} s"
        )
        extra = [part for part in (self.files.summary(), self.reason) if part]
        if self.retrained:
            extra.append("the IVF index was retrained")
        head = "updated" if self.kind == "incremental" else "full build"
        return f"{head}: {counts}" + (f"; {'; '.join(extra)}" if extra else "")
