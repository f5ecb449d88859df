"""PDF files: text with its pages, sections from the outline or from headings.

Read with pypdf (pure Python, BSD; its reading order beat pdfminer.six's on our
test files, see docs/formats.md). Every text line is collected with its page,
height on the page and font size, then:

- a running header or footer (a line at the top or bottom of a page that comes
  back on several pages, digits aside) and bare page numbers are dropped, and
  so are runs of lines that are bare numbers (a chart's axis ticks);
- sections come from the outline (bookmarks) when the PDF has one, each
  heading found on its destination page, and headings set smaller than all of
  the outline's nest under it (an outline often stops at some depth); otherwise a line is a heading when it
  is short and set larger than the body text, or numbered ("2.3 Title") and
  bold; its level follows its size, then its numbering depth; a heading wrapped
  over lines is one heading, and an outline entry "A Copying" matches its printed
  "Appendix A Copying";
- the dot leaders of a table of contents become one ellipsis (a token per dot
  would fill passages with dots);
- a line set further below the previous one than lines usually are, or
  starting with a bullet, starts a paragraph (a blank line in the text), so passages are cut between paragraphs;
- a word hyphenated at a line end is joined, unless the document writes it
  with a hyphen elsewhere;
- pages are recorded where they start, physical (1-based) with the printed
  label when the PDF defines page labels.
"""

from __future__ import annotations

import bisect
import io
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass

from ..documents import Document, title_from_filename
from ..errors import CorpusError
from .assembly import DocumentAssembler

# A line at most this many lines from the top or bottom of a page may be a running header or footer.
EDGE_LINES = 2
# A running line comes back on at least this many pages (every page of a one- or two-page file).
MIN_RUNNING_PAGES = 3
# This many lines in a row that are bare numbers are a chart's axis ticks, not text.
MIN_NUMBER_RUN = 3
# Text at least this much larger than the body text is a heading (when the line is short).
HEADING_SIZE_RATIO = 1.15
MAX_HEADING_WORDS = 16
MAX_HEADING_CHARS = 100
MAX_HEADING_LINES = 3
# A line this much further below the previous one than the usual line distance starts a paragraph.
PARAGRAPH_GAP_RATIO = 1.3
# Fewer letters and digits than this in the whole file: it is a scan without a text layer.
MIN_TEXT_CHARS = 20

_NUMBERED = re.compile(r"^(?:(?:chapter|section|part|appendix)\s+)?([0-9]+(?:\.[0-9]+)*|[A-Z](?:\.[0-9]+)+)\.?\s+\S")
_PAGE_NUMBER = re.compile(r"^[\W_]*(?:page\s*)?(?:[0-9]+|[ivxlcdm]+)(?:\s*(?:of|/)\s*[0-9]+)?[\W_]*$", re.IGNORECASE)
# The dots leading a table of contents' titles to their page numbers: layout, not words (one token each).
_BULLET = re.compile(r"^[•◦▪‣∙·–]\s")
_BARE_NUMBER = re.compile(r"^[-+−]?[0-9]+(?:[.,][0-9]+)*\s*%?$")
_LEADER_DOTS = re.compile(r"(?:\s*\.){5,}\s*")
_LABEL_WORD = re.compile(r"^\s*(?:chapter|appendix|annex|section|part)\s+", re.IGNORECASE)
_NUMBER_PREFIX = re.compile(r"^\s*(?:[0-9]+(?:\.[0-9]+)*|[A-Z](?:\.[0-9]+)*)\.?\s+")
_ROMAN_OR_DIGITS = re.compile(r"\b[ivxlcdm]+\b|[0-9]+", re.IGNORECASE)
_HYPHENATED_END = re.compile(r"(\w+)[-\u00ad]$")
_LEADING_WORD = re.compile(r"^(\w+)")
_WORDS = re.compile(r"\w+(?:-\w+)*")
_UNHELPFUL_TITLES = re.compile(r"^(untitled|microsoft word - .*|.*\.(docx?|odt|tex|dvi|rtf|txt))$", re.IGNORECASE)


@dataclass
class _Line:
    text: str
    y: float
    size: float
    bold: bool


@dataclass(frozen=True)
class _Heading:
    level: int
    title: str
    line_count: int  # lines of the page this heading takes (0: it only marks a position)


def read_pdf(data: bytes, source: str) -> Document:
    """One PDF as a document; a scanned, encrypted or damaged file raises `CorpusError` naming the fix."""
    import pypdf

    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)  # its repair notes on damaged files; our own message says what matters
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        _unlock(reader, source)
        pages = [_page_lines(page) for page in reader.pages]
        labels = _page_labels(reader)
        outline = _outline(reader)
        metadata_title = _metadata_title(reader)
    except CorpusError:
        raise
    except Exception as error:  # noqa: BLE001 - pypdf raises many kinds of error on a malformed file
        raise CorpusError(
            f"{source}: damaged PDF, it cannot be read ({type(error).__name__}: {' '.join(str(error).split())[:200]}). "
            "Re-save or repair it (e.g. qpdf in.pdf out.pdf), or remove it."
        ) from None
    finally:
        pypdf_log.setLevel(level)
    if sum(ch.isalnum() for lines in pages for line in lines for ch in line.text) < MIN_TEXT_CHARS:
        raise CorpusError(
            f"{source}: this PDF has no text layer (a scan or images of text). "
            "Run OCR on it first, e.g. `ocrmypdf in.pdf out.pdf`, and index the output."
        )
    _drop_running_lines(pages, labels)
    _drop_number_runs(pages)
    if outline:
        headings = _headings_from_outline(pages, outline)
        _add_headings_below_outline(headings, pages)
    else:
        headings = _headings_from_fonts(pages)
    found_title = metadata_title or _first_page_title(pages)
    title = found_title or title_from_filename(source)
    assembler = DocumentAssembler(root=found_title)
    _assemble(assembler, pages, labels, headings)
    return assembler.document(doc_id=source, source=source, title=title)


def _unlock(reader, source: str) -> None:
    """Open a PDF encrypted without a user password (copy or print restrictions only); else say so."""
    from pypdf.errors import DependencyError

    if not reader.is_encrypted:
        return
    try:
        opened = reader.decrypt("")
    except DependencyError:
        raise CorpusError(
            f"{source}: this PDF is AES-encrypted and reading it needs the cryptography package. "
            "Install it (pip install cryptography) or save a copy without encryption."
        ) from None
    if not opened:
        raise CorpusError(
            f"{source}: this PDF is encrypted with a password. Save a copy without the password "
            "(e.g. qpdf --decrypt --password=PASSWORD in.pdf out.pdf) and index that."
        )


def _page_lines(page) -> list[_Line]:
    """The page's text lines in pypdf's reading order, each with its height and font size."""
    fragments: list[tuple[str, float, float, bool]] = []

    def visit(text, cm, tm, font, font_size):
        scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
        y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
        name = str(font.get("/BaseFont", "")) if font else ""
        fragments.append((text, y, font_size * scale, any(w in name for w in ("Bold", "Black", "Heavy"))))

    page.extract_text(visitor_text=visit)
    lines: list[_Line] = []
    parts: list[tuple[str, float, float, bool]] = []

    def close() -> None:
        text = "".join(p[0] for p in parts).strip()
        if text:
            main = max((p for p in parts if p[0].strip()), key=lambda p: len(p[0].strip()))
            text = _LEADER_DOTS.sub(" … ", " ".join(text.split())).strip()
            lines.append(_Line(text, main[1], round(main[2], 1), main[3]))
        parts.clear()

    for text, y, size, bold in fragments:
        pieces = text.split("\n")
        for index, piece in enumerate(pieces):
            if index:
                close()
            if piece:
                parts.append((piece, y, size, bold))
    close()
    return lines


def _page_labels(reader) -> list[str | None]:
    """The printed label of each page where the PDF defines /PageLabels, else None for every page."""
    root = reader.trailer["/Root"]
    if "/PageLabels" not in root:
        return [None] * len(reader.pages)
    return list(reader.page_labels)


def _outline(reader) -> list[tuple[int, str, int, float | None]]:
    """(level, title, page index, top of the destination or None) for every outline entry, in order."""
    entries: list[tuple[int, str, int, float | None]] = []

    def walk(items, level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # noqa: BLE001 - an entry pointing nowhere is skipped, not fatal
                continue
            title = " ".join(str(item.title or "").split())
            if page is None or page < 0 or not title:
                continue
            top = item.get("/Top")
            entries.append((level, title, page, float(top) if isinstance(top, (int, float)) else None))

    walk(reader.outline, 1)
    return entries


def _metadata_title(reader) -> str | None:
    try:
        title = " ".join(str((reader.metadata or {}).get("/Title") or "").split())
    except Exception:  # noqa: BLE001 - broken metadata only costs the title
        return None
    return title if title and not _UNHELPFUL_TITLES.match(title) else None


def _edge_indexes(lines: list[_Line]) -> list[tuple[str, int]]:
    """("top", i) and ("bottom", i) for the lines near the page's top and bottom."""
    count = len(lines)
    top = [("top", i) for i in range(min(EDGE_LINES, count))]
    bottom = [("bottom", i) for i in range(max(count - EDGE_LINES, EDGE_LINES if count > EDGE_LINES else 0), count)]
    return top + bottom


def _running_key(text: str) -> str:
    return " ".join(_ROMAN_OR_DIGITS.sub(" ", text.lower()).split())


def _drop_running_lines(pages: list[list[_Line]], labels: list[str | None]) -> None:
    """Remove bare page numbers and headers or footers that come back on several pages (in place)."""
    seen: dict[tuple[str, str], set[int]] = {}
    for number, lines in enumerate(pages):
        for edge, index in _edge_indexes(lines):
            seen.setdefault((edge, _running_key(lines[index].text)), set()).add(number)
    needed = min(MIN_RUNNING_PAGES, max(2, len(pages)))
    large = _body_size(pages) * HEADING_SIZE_RATIO  # a title page repeating the running header keeps its title
    for number, lines in enumerate(pages):
        doomed = set()
        for edge, index in _edge_indexes(lines):
            text = lines[index].text
            key = _running_key(text)
            pages_with_it = len(seen[(edge, key)]) if key else 0
            # "Chapter 2: Syntax 7" on a chapter's two pages: it carries the page's own number
            numbered = pages_with_it >= 2 and _carries_page_number(text, number + 1, labels[number])
            repeated = (pages_with_it >= needed or numbered) and lines[index].size < large
            if _PAGE_NUMBER.match(text) or text == labels[number] or repeated:
                doomed.add(index)
        pages[number] = [line for i, line in enumerate(lines) if i not in doomed]


def _drop_number_runs(pages: list[list[_Line]]) -> None:
    """Remove runs of lines that are bare numbers (in place): a chart's axis ticks, no words to find."""
    for number, lines in enumerate(pages):
        bare = [bool(_BARE_NUMBER.match(line.text)) for line in lines]
        doomed = set()
        start = 0
        while start < len(lines):
            end = start
            while end < len(lines) and bare[end]:
                end += 1
            if end - start >= MIN_NUMBER_RUN:
                doomed.update(range(start, end))
            start = end + 1
        if doomed:
            pages[number] = [line for i, line in enumerate(lines) if i not in doomed]


def _carries_page_number(text: str, number: int, label: str | None) -> bool:
    words = text.split()
    marks = {str(number), label} if label else {str(number)}
    return len(words) > 1 and (words[0] in marks or words[-1] in marks)


def _comparable(text: str) -> str:
    return re.sub(r"\W+", "", text.lower())


def _headings_from_outline(
    pages: list[list[_Line]], outline: list[tuple[int, str, int, float | None]]
) -> dict[tuple[int, int], list[_Heading]]:
    """Place each outline entry on its page: on the lines that print its title, else where its destination points."""
    headings: dict[tuple[int, int], list[_Heading]] = {}
    taken: set[tuple[int, int]] = set()
    for level, title, page, top in outline:
        if page >= len(pages):
            continue
        lines = pages[page]
        start = 0
        if top is not None:
            start = next((i for i, line in enumerate(lines) if line.y <= top + 2), len(lines))
        wanted = _comparable(title)
        position, used, printed = start, 0, title
        for first in range(start, min(start + 6, len(lines))):
            for last in range(first, min(first + 3, len(lines))):
                if (page, last) in taken:
                    break
                text = " ".join(line.text for line in lines[first : last + 1])
                # "2.1 Syntax" for the entry "Syntax", "Appendix A Copying" for "A Copying"
                forms = {
                    _comparable(text),
                    _comparable(_NUMBER_PREFIX.sub("", text)),
                    _comparable(_LABEL_WORD.sub("", text)),
                }
                if wanted in forms:
                    position, used, printed = first, last - first + 1, text
                    break
                if not any(wanted.startswith(form) for form in forms):
                    break
            if used:
                break
        taken.update((page, i) for i in range(position, position + used))
        headings.setdefault((page, position), []).append(_Heading(level, printed, used))
    return headings


def _add_headings_below_outline(headings: dict[tuple[int, int], list[_Heading]], pages: list[list[_Line]]) -> None:
    """Add the headings an outline leaves out (in place): those set smaller than every heading it has.

    An outline often stops at some depth (a manual's function entries, a paper's
    paragraphs); a heading found by its font below that depth nests under the outline
    heading before it.
    """
    printed = [(page, index) for (page, index), found in headings.items() for heading in found if heading.line_count]
    if not printed:
        return
    smallest = min(pages[page][index].size for page, index in printed)
    taken = {(p, i + k) for (p, i), found in headings.items() for h in found for k in range(h.line_count)}
    outline = sorted((position, heading.level) for position, found in headings.items() for heading in found)
    positions = [position for position, _ in outline]
    for (page, index), found in sorted(_headings_from_fonts(pages).items()):
        before = bisect.bisect_right(positions, (page, index)) - 1
        for heading in found:
            lines = range(index, index + heading.line_count)
            if before < 0 or pages[page][index].size >= smallest or any((page, i) in taken for i in lines):
                continue
            headings.setdefault((page, index), []).append(_Heading(outline[before][1] + 1, heading.title, len(lines)))


def _headings_from_fonts(pages: list[list[_Line]]) -> dict[tuple[int, int], list[_Heading]]:
    """Headings without an outline: short lines set larger than the body, or numbered and bold.

    A heading set on up to MAX_HEADING_LINES lines (a long title wrapped) is one heading
    starting at its first line.
    """
    body = _body_size(pages)
    found: list[tuple[int, int, int, str, tuple[float, int]]] = []  # page, first line, last line, title, level key
    for page, lines in enumerate(pages):
        for index, line in enumerate(lines):
            text = line.text
            if len(text) > MAX_HEADING_CHARS or len(text.split()) > MAX_HEADING_WORDS or text.endswith((".", ",", ";")):
                continue
            if not any(ch.isalpha() for ch in text):
                continue
            numbered = _NUMBERED.match(text)
            larger = line.size >= body * HEADING_SIZE_RATIO
            if not (larger or (numbered and (line.bold or line.size > body + 0.5))):
                continue
            depth = numbered.group(1).count(".") + 1 if numbered else 0
            if found and not numbered:
                last_page, first, last, title, key = found[-1]
                wrapped = last_page == page and last == index - 1 and key[0] == -line.size
                if wrapped and last - first + 1 < MAX_HEADING_LINES:
                    found[-1] = (page, first, index, f"{title} {text}", key)
                    continue
            found.append((page, index, index, text, (-line.size, depth)))
    # An unnumbered heading ("Contents", "References") set like numbered ones is their sibling, not their parent.
    numbered_depths: dict[float, int] = {}
    for *_, (size, depth) in found:
        if depth:
            numbered_depths[size] = min(depth, numbered_depths.get(size, depth))
    found = [(p, f, last, t, (size, depth or numbered_depths.get(size, 0))) for p, f, last, t, (size, depth) in found]
    levels = {key: rank + 1 for rank, key in enumerate(sorted({key for *_, key in found}))}
    headings: dict[tuple[int, int], list[_Heading]] = {}
    for page, first, last, title, key in found:
        headings.setdefault((page, first), []).append(_Heading(levels[key], title, last - first + 1))
    return headings


def _first_page_title(pages: list[list[_Line]]) -> str | None:
    """The largest text on the first page with text (on up to MAX_HEADING_LINES lines), when it is short
    and set larger than the body."""
    body = _body_size(pages)
    for lines in pages:
        if not lines:
            continue
        first = max(range(len(lines)), key=lambda i: lines[i].size)
        size = lines[first].size
        if size < body * HEADING_SIZE_RATIO:
            return None
        wrapped = [lines[first].text]  # a long title set on two or three lines
        for line in lines[first + 1 : first + MAX_HEADING_LINES]:
            if line.size != size:
                break
            wrapped.append(line.text)
        title = " ".join(wrapped)
        return title if len(title) <= MAX_HEADING_CHARS else None
    return None


def _body_size(pages: list[list[_Line]]) -> float:
    """The font size that sets the most characters."""
    sizes: Counter = Counter()
    for lines in pages:
        for line in lines:
            sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _assemble(
    assembler: DocumentAssembler,
    pages: list[list[_Line]],
    labels: list[str | None],
    headings: dict[tuple[int, int], list[_Heading]],
) -> None:
    """Feed pages, headings, paragraph breaks and lines to the assembler, joining words hyphenated at line ends."""
    starts = _paragraph_starts(pages)
    events: list[tuple[str, object]] = []
    for page, lines in enumerate(pages):
        events.append(("page", (page + 1, labels[page])))
        skip = 0
        for index in range(len(lines) + 1):
            for heading in headings.get((page, index), []):
                events.append(("heading", heading))
                skip = max(skip, heading.line_count)
            if index == len(lines):
                break
            if skip:
                skip -= 1
                continue
            if (page, index) in starts:
                events.append(("paragraph", None))
            events.append(("line", lines[index].text))
    vocabulary = Counter(word.lower() for kind, text in events if kind == "line" for word in _WORDS.findall(text))
    following: list[object] = [None] * len(events)  # the next event's value that is not a page start
    upcoming = None
    for position in range(len(events) - 1, -1, -1):
        following[position] = upcoming
        if events[position][0] != "page":
            upcoming = events[position][1]
    continues = False
    for position, (kind, value) in enumerate(events):
        if kind == "page":
            assembler.start_page(*value)
        elif kind == "heading":
            assembler.heading(value.level, value.title)
            continues = False
        elif kind == "paragraph":
            assembler.paragraph()
        else:
            text, joins_next = _unhyphenate(value, following[position], vocabulary)
            (assembler.join if continues else assembler.line)(text)
            continues = joins_next


def _paragraph_starts(pages: list[list[_Line]]) -> set[tuple[int, int]]:
    """(page, line) of the lines that start a paragraph: set further below the previous line than lines usually are,
    or starting with a bullet (also at the top of a page, where there is no gap to see).

    A paragraph's lines are set at the document's usual line distance; a blank
    gap (a paragraph, list item or table break) is wider. Passages are then cut
    between paragraphs, not inside them.
    """
    gaps: Counter = Counter()
    for lines in pages:
        for above, line in zip(lines, lines[1:], strict=False):
            if above.y - line.y > 0:
                gaps[round(above.y - line.y)] += 1
    if not gaps:
        return set()
    usual = gaps.most_common(1)[0][0]
    return {
        (page, index)
        for page, lines in enumerate(pages)
        for index in range(1, len(lines))
        if lines[index - 1].y - lines[index].y > usual * PARAGRAPH_GAP_RATIO or _BULLET.match(lines[index].text)
    } | {(page, 0) for page, lines in enumerate(pages) if lines and _BULLET.match(lines[0].text)}


def _unhyphenate(text: str, following: object, vocabulary: Counter) -> tuple[str, bool]:
    """(text to write, whether the next line continues its last word) for a line ending in a hyphen.

    The next line must go on in lower case (or both halves be capitals, as in
    "SE-QUENCE"). The hyphen goes unless the document writes the hyphenated
    form more often than the closed one ("well-known" stays, "infor-mation"
    becomes "information").
    """
    hyphen = _HYPHENATED_END.search(text)
    next_word = _LEADING_WORD.match(following) if hyphen and isinstance(following, str) else None
    if not next_word:
        return text, False
    head, tail = hyphen.group(1), next_word.group(1)
    if not (tail[:1].islower() or (head.isalpha() and head.isupper() and tail.isalpha() and tail.isupper())):
        return text, False
    compound, closed = f"{head}-{tail}".lower(), f"{head}{tail}".lower()
    if text.endswith("\u00ad") or vocabulary[compound] <= vocabulary[closed]:
        return text[:-1], True
    return text, True
