"""Documents to passages that follow the document: one per section, long ones windowed along its blocks.

A section too small to stand alone, or a short lead-in to its subsections, joins
a neighbour. A long section is cut into overlapping windows of whole blocks
(paragraphs, lists, tables, fenced and indented code), never inside one, and a sentence that introduces a block
stays with it; only a block longer than the model's window is cut (code at
lines, prose at sentences, then at spaces or characters), so every fence in a
passage is balanced and no text is left unembedded. A window never exceeds its
budget (counted with the model's own tokenizer): the model's sequence limit, or on a
small corpus up to two of them, each model window inside embedded too (`split_corpus`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .corpus import HEADING_PATH_SEPARATOR, Document, Section, fence_closes, fence_opening, line_spans
from .readers.assembly import page_span
from .sentences import sentence_spans

TokenCounter = Callable[[Sequence[str]], list[int]]

# A section whose body has fewer tokens than this (a heading and one short line) joins a neighbour.
MIN_SECTION_TOKENS = 24
# ... unless it holds a sentence of at least this many words: one such sentence answers questions.
MIN_SENTENCE_WORDS = 5
# No piece is longer than this many characters per token of budget: text no tokenizer splits
# (a line with no spaces is one unknown token) is cut by characters, in linear time.
MAX_CHARS_PER_TOKEN = 8

_SENTENCE_END = re.compile(r"\w[.!?][\"'”’)\]]*(?=\s|$)")
_ATX_LINE = re.compile(r"^ {0,3}#{1,6}[ \t]+\S")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,9}[.)])[ \t]+\S")
_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$")
# MkDocs admonitions and content tabs introduce the indented block that follows them.
_INTRODUCER = re.compile(r"^[ \t]*(?:!!!|\?\?\?\+?|===)[ \t]")


@dataclass(frozen=True)
class Passage:
    """A piece of a document small enough to embed, with where it came from.

    `text` is `document.text[start:end]`, unchanged.
    """

    passage_id: str
    doc_id: str
    source: str
    heading: str
    text: str
    start: int
    end: int
    # Paged formats (PDF): first and last physical page (1-based), and the first page's printed label
    # when the PDF prints another one ("iii" on physical page 7); None for formats without pages.
    page: int | None = None
    page_end: int | None = None
    page_label: str | None = None
    # (offset in `text`, physical page) of each later page that starts inside the passage.
    page_starts: tuple[tuple[int, int], ...] = ()

    @property
    def searchable_text(self) -> str:
        """What is embedded and indexed: the heading gives a section's context."""
        if not self.heading or self.heading == self.doc_id:
            return self.text
        return f"{self.heading}\n{self.text}"

    def to_dict(self) -> dict:
        return {
            "passage_id": self.passage_id,
            "doc_id": self.doc_id,
            "source": self.source,
            "heading": self.heading,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            **self.page_fields(),
        }

    def page_fields(self) -> dict:
        """`page`, `page_end`, `page_label` and `page_starts` where the passage has them (old indexes and
        text files do not)."""
        fields = {"page": self.page, "page_end": self.page_end, "page_label": self.page_label}
        found = {name: value for name, value in fields.items() if value is not None}
        if self.page_starts:
            found["page_starts"] = [list(start) for start in self.page_starts]
        return found

    def page_at(self, offset: int) -> int | None:
        """The physical page that `text[offset]` is printed on; None for formats without pages."""
        page = self.page
        for start, number in self.page_starts:
            if start <= offset:
                page = number
        return page


@dataclass(frozen=True)
class Block:
    """A run of lines read as one thing: "paragraph", "heading", "list", "table", "fence" or "indented"."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class _Unit:
    """What windows are made of; `group` is set on the pieces of one block cut because it was too long."""

    start: int
    end: int
    cost: int
    group: int | None = None


def split_documents(documents: Sequence[Document], count_tokens: TokenCounter, max_tokens: int) -> list[Passage]:
    """Every section of every document as passages of at most `max_tokens` tokens."""
    char_cap = max_tokens * MAX_CHARS_PER_TOKEN
    sections = [(document, section) for document in documents for section in document.sections]
    body_costs = _costs([d.text[s.start : s.end] for d, s in sections], count_tokens, char_cap)
    heading_costs = count_tokens([_heading_prefix(d, s) for d, s in sections]) if sections else []
    passages: list[Passage] = []
    ordinal: dict[str, int] = {}
    joined = _join_small_sections(sections, body_costs, heading_costs, max_tokens)
    # Joined sections hold a heading line more: count them again, all at once.
    joined_costs = _costs([d.text[s.start : s.end] for d, s, _ in joined], count_tokens, char_cap)
    for (document, section, heading_cost), body_cost in zip(joined, joined_costs, strict=True):
        if heading_cost + body_cost <= max_tokens:
            spans = [(section.start, section.end)]
        else:
            budget = max(8, max_tokens - heading_cost)
            spans = windows(document.text, section.start, section.end, count_tokens, budget)
        for start, end in spans:
            number = ordinal.get(document.doc_id, 0)
            ordinal[document.doc_id] = number + 1
            passages.append(
                Passage(
                    passage_id=f"{document.doc_id}#{number}",
                    doc_id=document.doc_id,
                    source=document.source,
                    heading=section.heading,
                    text=document.text[start:end],
                    start=start,
                    end=end,
                    **_pages_of(section, start, end),
                )
            )
    return passages


def split_corpus(
    documents: Sequence[Document], count_tokens: TokenCounter, max_tokens: int, budget_for: Callable[[int], int]
) -> tuple[list[Passage], list[Passage]]:
    """The passages, and the corpus cut at the model's window `max_tokens` (the windows).

    The passages are the windows, unless `budget_for(window count)` (`_defaults.passage_budget`)
    allows more tokens: then the corpus is cut again at that budget, and each window of a longer
    passage gets its own vector (hkai_qa.window_vectors).
    """
    windows = split_documents(documents, count_tokens, max_tokens)
    budget = budget_for(len(windows))
    return (split_documents(documents, count_tokens, budget) if budget > max_tokens else windows), windows


def _pages_of(section: Section, start: int, end: int) -> dict:
    """The page fields of the passage `[start, end)` of `section`: none for formats without pages."""
    if not section.pages:
        return {}
    first, last = page_span(section, start, end)
    label = next((label for offset, number, label in reversed(section.pages) if number == first), None)
    starts = tuple(
        (section.start + offset - start, number)
        for offset, number, _ in section.pages
        if start < section.start + offset < end and number > first
    )
    return {
        "page": first,
        "page_end": last,
        "page_label": label if label and label != str(first) else None,
        "page_starts": starts,
    }


def _heading_prefix(document: Document, section: Section) -> str:
    return "" if section.heading == document.doc_id else section.heading + "\n"


def _costs(texts: list[str], count_tokens: TokenCounter, char_cap: int) -> list[float]:
    """Token counts; a text over `char_cap` characters is not counted (it will be cut anyway): inf."""
    countable = [i for i, text in enumerate(texts) if len(text) <= char_cap]
    counted = count_tokens([texts[i] for i in countable]) if countable else []
    costs: list[float] = [float("inf")] * len(texts)
    for i, cost in zip(countable, counted, strict=True):
        costs[i] = cost
    return costs


@dataclass(frozen=True)
class _Part:
    """A section on its way to passages, with its heading's and its whole cost in tokens."""

    document: Document
    section: Section
    heading_cost: int
    cost: float

    @property
    def small(self) -> bool:
        """Too small to stand alone: a few tokens that do not make a sentence (a label, a signature)."""
        if self.cost - self.heading_cost >= MIN_SECTION_TOKENS:
            return False
        body = self.document.text[self.section.start : self.section.end]
        return not any(len(body[:end].split()) >= MIN_SENTENCE_WORDS for end in _sentence_ends(body))

    def leads_into(self, following: _Part) -> bool:
        """A short lead-in to its own subsections ("Each hook has these variables set:"), which it
        introduces the way a sentence introduces a list: alone, its vector is mostly its heading.
        A document's opening stays its own passage: it says what the whole document is about."""
        return (
            self.cost - self.heading_cost < MIN_SECTION_TOKENS
            and HEADING_PATH_SEPARATOR in self.section.heading
            and following.document is self.document
            and following.section.heading.startswith(self.section.heading + HEADING_PATH_SEPARATOR)
        )


def _sentence_ends(text: str) -> list[int]:
    return [match.end() for match in _SENTENCE_END.finditer(text)]


def _join_small_sections(
    sections: list[tuple[Document, Section]], body_costs: list[float], heading_costs: list[int], max_tokens: int
) -> list[tuple[Document, Section, int]]:
    """Sections, each one too small to stand alone joined to the next (else the previous) one."""
    parts = [
        _Part(document, section, heading_cost, heading_cost + body_cost)
        for (document, section), body_cost, heading_cost in zip(sections, body_costs, heading_costs, strict=True)
    ]
    forward: list[_Part] = []
    index = 0
    while index < len(parts):
        part = parts[index]
        index += 1
        while (
            index < len(parts)
            and (part.small or part.leads_into(parts[index]))
            and (joined := _join(part, parts[index], max_tokens))
        ):
            part = joined
            index += 1
        forward.append(part)
    backward: list[_Part] = []
    for part in forward:
        joined = _join(backward[-1], part, max_tokens) if part.small and backward else None
        if joined:
            backward[-1] = joined
        else:
            backward.append(part)
    return [(part.document, part.section, part.heading_cost) for part in backward]


def _join(first: _Part, second: _Part, max_tokens: int) -> _Part | None:
    """The two neighbours as one, or None (another document; or too long and the heading would change)."""
    if first.document is not second.document:
        return None
    larger = first if first.cost >= second.cost else second
    heading = _joined_heading(first.section.heading, second.section.heading, larger.section.heading)
    if first.cost + second.cost > max_tokens and heading != larger.section.heading:
        # Windowed anyway, the larger part would lose its own heading for its parent's.
        return None
    section = Section(heading, first.section.start, second.section.end, _joined_pages(first.section, second.section))
    return _Part(first.document, section, max(first.heading_cost, second.heading_cost), first.cost + second.cost)


def _joined_pages(first: Section, second: Section) -> tuple[tuple[int, int, str | None], ...]:
    """The page starts of two neighbouring sections joined into one, relative to the first's start."""
    shift = second.start - first.start
    moved = tuple((offset + shift, number, label) for offset, number, label in second.pages)
    if moved and first.pages and moved[0][1] == first.pages[-1][1]:
        moved = moved[1:]  # the second section starts on the page the first one ends on
    return first.pages + moved


def _joined_heading(first: str, second: str, larger: str) -> str:
    """The heading of two joined sections: a parent's with its child's is the larger part's;
    siblings share their parent's path; flat plain-text headings keep the larger part's."""
    first_path, second_path = first.split(HEADING_PATH_SEPARATOR), second.split(HEADING_PATH_SEPARATOR)
    common = []
    for a, b in zip(first_path, second_path, strict=False):
        if a != b:
            break
        common.append(a)
    if len(common) == min(len(first_path), len(second_path)) or not common:
        return larger
    return HEADING_PATH_SEPARATOR.join(common)


# --- blocks -----------------------------------------------------------------------------------


def blocks(text: str, start: int, end: int) -> list[Block]:
    """The blocks of `text[start:end]`, in order, each trimmed of white space around it."""
    lines = line_spans(text, start, end)
    found: list[Block] = []
    i = 0
    while i < len(lines):
        offset, line = lines[i]
        if not line.strip():
            i += 1
            continue
        after_blank = i == 0 or not lines[i - 1][1].strip()
        fence = fence_opening(line)
        if fence is not None:
            j = i + 1
            while j < len(lines) and not fence_closes(lines[j][1], fence):
                j += 1
            kind, last = "fence", min(j, len(lines) - 1)
        elif _ATX_LINE.match(line):
            kind, last = "heading", i
        elif after_blank and _indent(line) >= 4:
            kind, last = "indented", _last_of(lines, i, lambda s: not s.strip() or _indent(s) >= 4)
        elif line.lstrip().startswith("|") or (i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1][1])):
            kind, last = "table", _last_of(lines, i, lambda s: bool(s.strip()) and fence_opening(s) is None)
        elif _LIST_ITEM.match(line):
            kind, last = "list", _list_end(lines, i)
        else:
            kind, last = "paragraph", _last_of(lines, i, _continues_paragraph)
        while last > i and not lines[last][1].strip():
            last -= 1
        block_start = offset + (len(line) - len(line.lstrip()) if kind == "paragraph" else 0)
        found.append(Block(block_start, lines[last][0] + len(lines[last][1].rstrip()), kind))
        i = last + 1
    return found


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())


def _last_of(lines: list[tuple[int, str]], first: int, belongs: Callable[[str], bool]) -> int:
    last = first
    while last + 1 < len(lines) and belongs(lines[last + 1][1]):
        last += 1
    return last


def _continues_paragraph(line: str) -> bool:
    return bool(line.strip()) and fence_opening(line) is None and not _ATX_LINE.match(line)


def _list_end(lines: list[tuple[int, str]], first: int) -> int:
    """A list runs over its items, their continuation lines and blank lines between items."""
    last = first
    i = first + 1
    while i < len(lines):
        line = lines[i][1]
        if fence_opening(line) is not None or _ATX_LINE.match(line):
            break
        if line.strip():
            if not lines[i - 1][1].strip() and not (_LIST_ITEM.match(line) or _indent(line) >= 2):
                break
            last = i
        i += 1
    return last


# --- windows ----------------------------------------------------------------------------------


def windows(text: str, start: int, end: int, count_tokens: TokenCounter, budget: int) -> list[tuple[int, int]]:
    """Windows of whole blocks within `budget` tokens, of about even size, each starting with the
    previous one's last unit when that is small."""
    units = _units(text, start, end, count_tokens, budget)
    char_cap = budget * MAX_CHARS_PER_TOKEN
    # Aim for windows of even size: greedy filling would leave a small last window.
    total = sum(unit.cost for unit in units)
    target = total / max(1, math.ceil(total / budget))
    remaining = [0] * (len(units) + 1)  # tokens from each unit to the end
    for i in range(len(units) - 1, -1, -1):
        remaining[i] = remaining[i + 1] + units[i].cost
    spans: list[tuple[int, int]] = []
    first = 0
    while first < len(units):
        last, used = first, units[first].cost
        while (
            last + 1 < len(units)
            and units[last + 1].group == units[first].group
            and used + units[last + 1].cost <= budget
            and (used + units[last + 1].cost / 2 <= target or used + remaining[last + 1] <= budget)
            and units[last + 1].end - units[first].start <= char_cap
        ):
            last += 1
            used += units[last].cost
        if last + 1 >= len(units) and first > 0 and used < MIN_SECTION_TOKENS:
            # A tail too small to stand alone: the last window reaches back as far as it can instead.
            while (
                first > 0
                and units[first - 1].group == units[last].group
                and used + units[first - 1].cost <= budget
                and units[last].end - units[first - 1].start <= char_cap
            ):
                first -= 1
                used += units[first].cost
        spans.append((units[first].start, units[last].end))
        if last + 1 >= len(units):
            break
        # Overlap by one unit when it is small and belongs with what follows (and fits with it: else
        # the next window would be that unit alone, already in this one).
        overlap = (
            last > first
            and units[last].cost <= budget // 3
            and units[last].group == units[last + 1].group
            and units[last].cost + units[last + 1].cost <= budget
        )
        first = last if overlap else last + 1
    return spans


def _units(text: str, start: int, end: int, count_tokens: TokenCounter, budget: int) -> list[_Unit]:
    """Blocks (an introducing sentence glued to its block) that fit, and the pieces of those that do not."""
    char_cap = budget * MAX_CHARS_PER_TOKEN
    found = blocks(text, start, end)
    costs = _costs([text[b.start : b.end] for b in found], count_tokens, char_cap)
    units: list[_Unit] = []
    i = 0
    while i < len(found):
        # An introducing line (ending in ":", a heading, an admonition) stays with the block it introduces.
        last, cost = i, costs[i]
        while (
            last + 1 < len(found)
            and _introduces(text, found[last])
            and cost + costs[last + 1] <= budget
            and found[last + 1].end - found[i].start <= char_cap
        ):
            last += 1
            cost += costs[last]
        if cost <= budget:
            units.append(_Unit(found[i].start, found[last].end, int(cost)))
        else:
            units.extend(_cut_block(text, found[i], count_tokens, budget, group=i))
        i = last + 1
    return units


def _introduces(text: str, block: Block) -> bool:
    if block.kind == "heading":
        return True
    if block.kind != "paragraph":
        return False
    last_line_start = text.rfind("\n", block.start, block.end) + 1 or block.start
    last_line = text[max(block.start, last_line_start) : block.end]
    return last_line.rstrip().endswith(":") or bool(_INTRODUCER.match(text[block.start : block.end]))


def _cut_block(text: str, block: Block, count_tokens: TokenCounter, budget: int, group: int) -> list[_Unit]:
    """A block too long for one window, as pieces that fit: code at lines, prose at sentences.

    A fenced block's own fence lines are left out, so no piece holds half a fence.
    """
    if block.kind == "fence":
        lines = line_spans(text, block.start, block.end)
        closed = len(lines) > 1 and fence_closes(lines[-1][1], fence_opening(lines[0][1]) or "`")
        spans = [(offset, offset + len(line)) for offset, line in lines[1 : -1 if closed else None] if line.strip()]
    elif block.kind in ("paragraph", "heading"):
        spans = sentence_spans(text, block.start, block.end)
    else:
        lines = line_spans(text, block.start, block.end)
        spans = [(offset, offset + len(line)) for offset, line in lines if line.strip()]
    char_cap = budget * MAX_CHARS_PER_TOKEN
    pieces = [piece for span in spans for piece in _cut_characters(text, span, char_cap)]
    pieces = _fit_tokens(text, pieces, count_tokens, budget)
    costs = count_tokens([text[s:e] for s, e in pieces])
    return [_Unit(s, e, cost, group) for (s, e), cost in zip(pieces, costs, strict=True)]


def _cut_characters(text: str, span: tuple[int, int], char_cap: int) -> list[tuple[int, int]]:
    """`span` in pieces of at most `char_cap` characters, cut at the last space before the cap if any."""
    start, end = span
    pieces = []
    while end - start > char_cap:
        cut = start + char_cap
        space = max(text.rfind(" ", start + char_cap // 2, cut), text.rfind("\n", start + char_cap // 2, cut))
        cut = space if space > start else cut
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append((start, end))
    return pieces


def _fit_tokens(
    text: str, spans: list[tuple[int, int]], count_tokens: TokenCounter, budget: int
) -> list[tuple[int, int]]:
    """Cut any span longer than `budget` tokens at white space (else anywhere), so every piece fits."""
    costs = count_tokens([text[s:e] for s, e in spans]) if spans else []
    fitted: list[tuple[int, int]] = []
    for (start, end), cost in zip(spans, costs, strict=True):
        if cost <= budget or end - start <= 1:
            fitted.append((start, end))
            continue
        fitted.extend(_fit_tokens(text, _pieces_of(text, start, end, cost, budget), count_tokens, budget))
    return fitted


def _pieces_of(text: str, start: int, end: int, cost: int, budget: int) -> list[tuple[int, int]]:
    """`text[start:end]` in pieces of about `budget` tokens' length, cut at spaces where there are some."""
    step = max(1, (end - start) // (-(-cost // budget) + 1))
    pieces = []
    position = start
    while position < end:
        cut = min(end, position + step)
        if cut < end:
            space = text.rfind(" ", position + 1, cut)
            cut = space if space > position else cut
        pieces.append((position, cut))
        position = cut
        while position < end and text[position].isspace():
            position += 1
    return pieces
