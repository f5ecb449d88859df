"""sha256 of large files, remembered by size and modification time.

Hashing the default model's 90 MB of weights costs about 0.2 s, as much as the
rest of a cold `hkai-qa ask`. The memo records each file's (size, mtime_ns,
sha256); while a file keeps its size and mtime its recorded hash is trusted.
Replacing, reinstalling or truncating a file changes its mtime, so damage is
still caught; only a deliberate edit that restores the old mtime would slip
past, which is outside what the check guards against (a damaged install).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path

from .embedding import sha256_of_file


def remembered_sha256(path: Path, memo: Path) -> str:
    """sha256 of `path`, from `memo` when the file is unchanged, else hashed and recorded."""
    path = path.resolve()
    stat = path.stat()
    records = _read(memo)
    record = records.get(str(path))
    if record and record.get("size") == stat.st_size and record.get("mtime_ns") == stat.st_mtime_ns:
        return str(record["sha256"])
    digest = sha256_of_file(path)
    record_sha256(path, digest, memo)
    return digest


def record_sha256(path: Path, digest: str, memo: Path) -> None:
    """Remember `digest` for `path` as it is now (the file must already be fully written)."""
    path = path.resolve()
    stat = path.stat()
    records = _read(memo)
    records[str(path)] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
    staging = memo.with_name(f".{memo.name}.{uuid.uuid4().hex[:8]}")
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        staging.write_text(json.dumps(records, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(staging, memo)
    except OSError:
        # A read-only or full cache only costs the next process a re-hash; a half-written copy must not stay.
        with contextlib.suppress(OSError):
            staging.unlink(missing_ok=True)


def _read(memo: Path) -> dict:
    try:
        records = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return records if isinstance(records, dict) else {}
