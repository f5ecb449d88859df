"""A document and its sections: what every reader produces and the passage splitter consumes.

Kept apart from `corpus` (which finds and reads files) so the format readers can
build documents without importing the module that calls them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

HEADING_PATH_SEPARATOR = " › "


@dataclass(frozen=True)
class Section:
    """A heading and the span of its body in the document text."""

    heading: str
    start: int
    end: int
    # Paged formats (PDF): (offset from `start`, physical 1-based page, printed page label) for every
    # page that starts inside this section, the first at offset 0; empty for formats without pages.
    pages: tuple[tuple[int, int, str | None], ...] = ()


@dataclass
class Document:
    """One document: its id, the file it came from, its text and its sections."""

    doc_id: str
    source: str
    text: str
    sections: list[Section] = field(default_factory=list)


def title_from_filename(source: str) -> str:
    """A file name made readable: `getting_started.md` -> "Getting started"."""
    stem = Path(source).stem
    words = re.sub(r"[_\-]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else source
