"""Keep a QA in step with its corpus folder: poll file sizes and times, refresh on a change.

Polling needs no dependency and works on every file system (network mounts
included, where change notifications are unreliable); a stat of each file every
couple of seconds is cheap next to a refresh, which embeds only what changed.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .build import Notify, log_notice
from .corpus import corpus_files
from .errors import HkaiQaError

if TYPE_CHECKING:
    from .qa import QA

POLL_SECONDS = 2.0


def corpus_signature(path: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every corpus file; empty when the corpus is gone (a move in progress)."""
    try:
        files = corpus_files(path)
    except HkaiQaError:
        return {}
    signature = {}
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            continue  # removed between listing and stat: the next poll sees it gone
        signature[str(file)] = (stat.st_size, stat.st_mtime_ns)
    return signature


class CorpusWatcher:
    """A daemon thread that calls `qa.refresh()` when a corpus file is added, changed or removed."""

    def __init__(self, qa: QA, *, interval: float = POLL_SECONDS, notify: Notify = log_notice) -> None:
        self.qa = qa
        self.interval = interval
        self.notify = notify
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hkai-qa-watch", daemon=True)
        self._seen = corpus_signature(qa.corpus_path)

    def start(self) -> CorpusWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            signature = corpus_signature(self.qa.corpus_path)
            if signature == self._seen or not signature:
                continue
            self._seen = signature
            try:
                self.qa.refresh()
            except Exception as error:
                # A half-written or bad file, a full disk: keep answering from the index we have; the next change
                # retries. The thread must outlive any one failed update.
                self.notify(f"watch: the index was not updated ({error})")
