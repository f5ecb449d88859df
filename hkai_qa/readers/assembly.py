"""Text, headings and page breaks from a reader, assembled into a `Document`.

Every reader (PDF, HTML, Word) walks its file in reading order and reports
headings, blocks of text and page starts; this module turns that stream into
the document text, its sections (heading paths as in Markdown) and, for paged
formats, where each page starts inside each section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..documents import HEADING_PATH_SEPARATOR, Document, Section

# A fence must be longer than any run of backticks inside the code it fences.
_BACKTICK_RUNS = re.compile(r"`+")


@dataclass(frozen=True)
class _Heading:
    level: int
    path: str
    line_start: int
    body_start: int


class DocumentAssembler:
    """Collects a document's text in reading order; `document()` gives the result.

    Headings nest by level: a heading closes every open heading of the same or
    a deeper level, and its section path joins the open ones with ` › `, rooted
    at `root` when given (an HTML page's title, for example).
    """

    def __init__(self, root: str | None = None) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._stack: list[tuple[int, str]] = []
        self._headings: list[_Heading] = []
        self._pages: list[tuple[int, int, str | None]] = []
        self._root = root.strip() if root and root.strip() else None

    @property
    def length(self) -> int:
        return self._length

    def _append(self, text: str) -> None:
        self._parts.append(text)
        self._length += len(text)

    def _separate(self, newlines: int) -> None:
        """End the current block with `newlines` line breaks (no blank text at the start)."""
        if not self._length:
            return
        tail = "".join(self._parts[-3:])
        missing = newlines - (len(tail) - len(tail.rstrip("\n")))
        if missing > 0:
            self._append("\n" * missing)

    def start_page(self, number: int, label: str | None = None) -> None:
        """What follows is on physical page `number` (1-based), printed as `label`."""
        if self._pages and self._pages[-1][0] == self._length:
            self._pages[-1] = (self._length, number, label)
        else:
            self._pages.append((self._length, number, label))

    def heading(self, level: int, title: str) -> None:
        """A heading of `level` (1 = top); it starts a section."""
        title = " ".join(title.split())
        if not title:
            return
        self._separate(2)
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))
        names = [name for _, name in self._stack]
        if self._root and names[0] != self._root:
            names.insert(0, self._root)
        line_start = self._length
        self._append(title + "\n")
        self._headings.append(_Heading(level, HEADING_PATH_SEPARATOR.join(names), line_start, self._length))

    def block(self, text: str) -> None:
        """A paragraph, list item, table or code block: kept as one piece of text."""
        if not text.strip():
            return
        self._separate(2)
        self._append(text.strip("\n") + "\n")

    def code(self, text: str) -> None:
        """A code block (HTML `pre`, a Word code style): fenced as in Markdown, so the passage splitter keeps it
        whole across its blank lines and cuts it, when it must, at its lines."""
        text = text.strip("\n")
        if not text.strip():
            return
        longest = max((len(run) for run in _BACKTICK_RUNS.findall(text)), default=0)
        fence = "`" * max(3, longest + 1)
        self.block(f"{fence}\n{text}\n{fence}")

    def line(self, text: str) -> None:
        """One line of running text (a PDF line): joined to the previous one by a line break."""
        self._separate(1)
        self._append(text)

    def paragraph(self) -> None:
        """What follows starts a new paragraph (a PDF's wider gap between lines): a blank line ends the current one."""
        self._separate(2)

    def join(self, text: str) -> None:
        """Text that continues the current line (the rest of a word hyphenated at a line end)."""
        self._append(text)

    def document(self, doc_id: str, source: str, title: str) -> Document:
        """The assembled document; text before the first heading goes under `title`."""
        text = "".join(self._parts)
        spans: list[tuple[str, int, int]] = []
        first = self._headings[0].line_start if self._headings else len(text)
        leading = text[:first].strip()
        if leading and leading not in (self._root, title):  # a title page's title alone is no passage
            spans.append((self._root or title, 0, first))
        for index, heading in enumerate(self._headings):
            end = self._headings[index + 1].line_start if index + 1 < len(self._headings) else len(text)
            spans.append((heading.path, heading.body_start, end))
        sections = []
        for path, start, end in spans:
            chunk = text[start:end]
            start, end = start + len(chunk) - len(chunk.lstrip()), end - (len(chunk) - len(chunk.rstrip()))
            if start < end:
                sections.append(Section(heading=path, start=start, end=end, pages=self._section_pages(start, end)))
        return Document(doc_id=doc_id, source=source, text=text, sections=sections)

    def _section_pages(self, start: int, end: int) -> tuple[tuple[int, int, str | None], ...]:
        """Page starts inside [start, end), relative to `start`; the first one is at 0."""
        if not self._pages:
            return ()
        current = None
        inside = []
        for offset, number, label in self._pages:
            if offset <= start:
                current = (0, number, label)
            elif offset < end:
                inside.append((offset - start, number, label))
        return tuple(([current] if current else []) + inside)


def page_span(section: Section, start: int, end: int) -> tuple[int | None, int | None]:
    """First and last physical page (1-based) of the document text [start, end) inside `section`.

    `start` and `end` are offsets in the document text, as on a passage; the
    pages of a format without pages are `(None, None)`.
    """
    if not section.pages:
        return None, None
    first = last = section.pages[0][1]
    relative_start, relative_end = start - section.start, end - section.start
    for offset, number, _label in section.pages:
        if offset <= relative_start:
            first = number
        if offset < relative_end:
            last = number
    return first, max(first, last)
