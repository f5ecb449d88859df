"""Reading a corpus path (a file or a folder) into documents with sections.

Supported: plain text (`.txt`), Markdown (`.md`, `.markdown`), BEIR
`corpus.jsonl` (one document per line), and PDF, HTML and Word (`.docx`)
through `hkai_qa.readers`. Each section keeps the character
offsets of its body in the document's original text, so a passage can always
be traced back to where it came from.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from .documents import HEADING_PATH_SEPARATOR, Document, Section, title_from_filename
from .errors import CorpusError
from .readers import BINARY_SUFFIXES  # read as bytes and parsed by hkai_qa.readers

TEXT_SUFFIXES = (".txt", ".text")
MARKDOWN_SUFFIXES = (".md", ".markdown")
JSONL_SUFFIXES = (".jsonl",)
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + MARKDOWN_SUFFIXES + JSONL_SUFFIXES + BINARY_SUFFIXES

MAX_HEADING_CHARS = 100
MAX_HEADING_WORDS = 16


@dataclass
class Corpus:
    """All documents under a path, with a hash of every file read."""

    root: Path
    documents: list[Document]
    file_hashes: dict[str, str]

    @property
    def name(self) -> str:
        return self.root.stem if self.root.is_file() else self.root.name


def corpus_files(path: Path) -> list[Path]:
    """The supported files at `path`: the file itself, or a folder's files, sorted.

    A BEIR folder (with `corpus.jsonl`) yields just its corpus, not its queries.
    """
    path = Path(path)
    if not path.exists():
        raise CorpusError(
            f"corpus path {path} does not exist. Pass a .txt or .md file, a folder, or a BEIR corpus.jsonl."
        )
    if not path.is_file() and not path.is_dir():
        raise CorpusError(
            f"corpus path {path} is {_special_kind(path)}, not a file or a folder. "
            "Pass a .txt or .md file, a folder, or a BEIR corpus.jsonl."
        )
    if path.is_file():
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise CorpusError(
                f"{path} has an unsupported extension {path.suffix or '(none)'!r}. "
                f"Supported: {', '.join(SUPPORTED_SUFFIXES)}."
            )
        return [path]
    if (path / "corpus.jsonl").is_file():
        return [path / "corpus.jsonl"]
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )
    if not files:
        raise CorpusError(
            f"folder {path} holds no supported files. "
            "Add .txt, .md, .pdf, .html, .docx or a BEIR corpus.jsonl, or point at another folder."
        )
    return files


def _special_kind(path: Path) -> str:
    """What a path that is neither a file nor a folder is, in words."""
    mode = path.stat().st_mode
    kinds = [(stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device")]
    return next((name for test, name in kinds if test(mode)), "a special file")


def source_name(file: Path, base: Path) -> str:
    """`file` relative to `base`, as it is shown and stored: a byte that is not UTF-8 in a name is written `\\xe9`.

    Python keeps such bytes as lone surrogates, which no JSON writer, tokenizer or terminal accepts.
    """
    name = file.relative_to(base).as_posix()
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as error:
        raise CorpusError(
            f"cannot read {os.fsencode(file).decode('utf-8', 'backslashreplace')} ({error.strerror or error}). "
            "Make it readable (chmod u+r FILE) or move it out of the corpus."
        ) from None


def load_corpus(path: str | Path) -> Corpus:
    """Read every supported file under `path` into documents."""
    root = Path(path)
    files = corpus_files(root)
    base = root if root.is_dir() else root.parent
    documents: list[Document] = []
    hashes: dict[str, str] = {}
    text_without_sections = []
    for file in files:
        relative = source_name(file, base)
        data = _read(file)
        hashes[relative] = hashlib.sha256(data).hexdigest()
        if file.suffix.lower() in BINARY_SUFFIXES:
            documents.extend(_read_binary(data, relative, file.suffix.lower(), skip_unreadable=root.is_dir()))
            continue
        text = _decode(file, data)
        parsed = parse_file(text, relative, file.suffix.lower())
        if text.strip() and not any(d.sections for d in parsed):
            text_without_sections.append(relative)
        documents.extend(parsed)
    documents = [d for d in documents if d.sections]
    if not documents and text_without_sections:
        raise CorpusError(
            f"corpus {root} has headings but no text under them ({', '.join(text_without_sections[:3])}). "
            "Add text below the headings, or point at another path."
        )
    if not documents:
        raise CorpusError(f"corpus {root} has no text: every file is empty. Add some text, or point at another path.")
    return Corpus(root=root, documents=documents, file_hashes=hashes)


def hash_corpus_files(path: str | Path) -> dict[str, str]:
    """sha256 of every file `load_corpus` would read, keyed like `Corpus.file_hashes`."""
    root = Path(path)
    base = root if root.is_dir() else root.parent
    return {source_name(f, base): hashlib.sha256(_read(f)).hexdigest() for f in corpus_files(root)}


def parse_file(text: str, source: str, suffix: str) -> list[Document]:
    """Split one file's text into documents, by its format."""
    if suffix in JSONL_SUFFIXES:
        return parse_beir_jsonl(text, source)
    doc_id = source
    title = title_from_filename(source)
    if suffix in MARKDOWN_SUFFIXES:
        sections = markdown_sections(text, title)
    else:
        sections = plain_text_sections(text, title)
    return [Document(doc_id=doc_id, source=source, text=text, sections=sections)]


def _read_binary(data: bytes, source: str, suffix: str, skip_unreadable: bool) -> list[Document]:
    """PDF, HTML or Word; in a folder, an unreadable file (scanned, encrypted, damaged) is a warning, not a stop."""
    from .readers import read_document

    try:
        return read_document(data, source, suffix)
    except CorpusError as error:
        if not skip_unreadable:
            raise
        logging.getLogger("hkai_qa").warning("skipped %s", error)
        return []


def _decode(file: Path, data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), or UTF-16/32 with one; NUL bytes anywhere mean binary."""
    for bom, encoding in _UNICODE_BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as error:
                raise CorpusError(
                    f"{file} starts like {encoding.upper()} text but has a bad byte at offset {error.start}. "
                    f"Re-save it as UTF-8 (iconv -f {encoding.upper()} -t UTF-8), or remove it."
                ) from None
    nul = data.find(b"\x00")
    if nul >= 0:
        utf16 = len(data) > 3 and max(data[0::2].count(0), data[1::2].count(0)) * 4 > len(data)
        hint = (
            " If it is UTF-16 text without a byte-order mark, convert it: iconv -f UTF-16LE -t UTF-8."
            if utf16
            else " Remove it from the corpus folder."
        )
        raise CorpusError(f"{file} looks like a binary file (it contains a NUL byte at offset {nul:,}).{hint}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CorpusError(
            f"{file} is not valid UTF-8 (bad byte at offset {error.start}). Re-save it as UTF-8, or remove it."
        ) from None


# UTF-32 first: its little-endian mark starts with UTF-16's.
_UNICODE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# --- plain text -------------------------------------------------------------------------------

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
_FINAL_PUNCTUATION = tuple(".!?;,…\"'”’)]}。！？；，")
_LIST_MARKERS = ("-", "*", "•", "+", ">", "|")
_NUMBERED_ITEM = re.compile(r"^\s*\d{1,9}[.)]\s")


def _lines(text: str) -> list[tuple[int, str]]:
    """(offset, line without its newline) for every line of `text`."""
    return line_spans(text, 0, len(text))


def line_spans(text: str, start: int, end: int) -> list[tuple[int, str]]:
    """(offset, line without its newline) for every line of `text[start:end]`."""
    lines = []
    for match in _LINE.finditer(text, start, end):
        if match.start() == end and match.start() > start:
            break
        lines.append((match.start(), match.group().rstrip("\r\n")))
    return lines


def _is_plain_heading(line: str) -> bool:
    stripped = line.strip()
    if not stripped or len(stripped) > MAX_HEADING_CHARS or len(stripped.split()) > MAX_HEADING_WORDS:
        return False
    if stripped.startswith(_LIST_MARKERS):
        return False
    if stripped.endswith(":"):
        return len(stripped) > 1
    return not stripped.endswith(_FINAL_PUNCTUATION)


def plain_text_sections(text: str, title: str) -> list[Section]:
    """Sections of a plain-text document.

    A heading is a short line standing alone between blank lines that ends in
    a colon or has no final punctuation. Text before the first heading belongs
    to the document's title: the first line when it is a heading, else the
    file name. Indented code (a line set in by four spaces or more, in a run of
    such lines or right after a line ending in a colon) is never a heading, nor is
    a line ending in a colon that introduces such code or a list: both are the
    body of their section, as in Markdown.
    """
    lines = _lines(text)
    filled = [i for i, (_, line) in enumerate(lines) if line.strip()]
    headings: list[tuple[int, int, str]] = []  # (line start, body start, heading)
    for position, i in enumerate(filled):
        offset, line = lines[i]
        before_blank = i == 0 or not lines[i - 1][1].strip()
        after_blank = i + 1 < len(lines) and not lines[i + 1][1].strip()
        previous = lines[filled[position - 1]][1] if position else None
        following = lines[filled[position + 1]][1] if position + 1 < len(filled) else None
        if (
            before_blank
            and after_blank
            and _is_plain_heading(line)
            and not _in_indented_code(line, previous, following)
            and not _introduces_block(line, following)
        ):
            body_start = offset + len(line)
            headings.append((offset, body_start, line.strip().rstrip(":").strip()))
    return _sections_between(text, headings, title)


def _indented(line: str) -> bool:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip()) >= 4


def _in_indented_code(line: str, previous: str | None, following: str | None) -> bool:
    """An indented line next to other indented lines, or introduced by a line ending in a colon, is code."""
    if not _indented(line):
        return False
    return any(n is not None and _indented(n) for n in (previous, following)) or (
        previous is not None and previous.rstrip().endswith(":")
    )


def _introduces_block(line: str, following: str | None) -> bool:
    """A line ending in a colon followed by indented code or a list leads into it: it is no heading."""
    if not line.rstrip().endswith(":") or following is None:
        return False
    return _indented(following) or following.lstrip().startswith(_LIST_MARKERS) or bool(_NUMBERED_ITEM.match(following))


def _sections_between(
    text: str, headings: list[tuple[int, int, str]], title: str, body_start: int = 0
) -> list[Section]:
    """Turn heading positions into sections; text from `body_start` to the first heading goes under `title`.

    When the document opens with a heading, that heading is the title and its
    section takes the text up to the next heading.
    """
    sections: list[Section] = []
    first_start = headings[0][0] if headings else len(text)
    if text[body_start:first_start].strip():
        sections.append(_section(text, title, body_start, first_start))
    for index, (_, body_start, heading) in enumerate(headings):
        end = headings[index + 1][0] if index + 1 < len(headings) else len(text)
        section = _section(text, heading, body_start, end)
        if section.start < section.end:
            sections.append(section)
    return sections


def _section(text: str, heading: str, start: int, end: int) -> Section:
    """A section whose span is trimmed of surrounding white space."""
    chunk = text[start:end]
    lead = len(chunk) - len(chunk.lstrip())
    trail = len(chunk) - len(chunk.rstrip())
    start, end = start + lead, max(start + lead, end - trail)
    return Section(heading=heading, start=start, end=end)


# --- Markdown ---------------------------------------------------------------------------------

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
# Any indentation: a fence inside a list item is still a fence.
_FENCE_OPENING = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$")
_FRONT_MATTER_END = ("---", "...")
_FRONT_MATTER_TITLE = re.compile(r"^title[ \t]*:[ \t]*(.*?)[ \t]*$", re.IGNORECASE)


def fence_opening(line: str) -> str | None:
    """The fence a line opens (its character repeated, e.g. "````"), or None.

    A backtick fence's info string may not hold a backtick: "```a`b```" is inline code.
    """
    match = _FENCE_OPENING.match(line)
    if not match or (match.group(1)[0] == "`" and "`" in match.group(2)):
        return None
    return match.group(1)


def fence_closes(line: str, fence: str) -> bool:
    """Whether `line` closes `fence`: the same character, at least as many, nothing else."""
    stripped = line.strip()
    return len(stripped) >= len(fence) and stripped == fence[0] * len(stripped)


def front_matter(text: str) -> tuple[str | None, int]:
    """A YAML front matter block's `title` (or None) and where the document's body starts."""
    lines = _lines(text)
    if not lines or lines[0][1].rstrip() != "---":
        return None, 0
    title = None
    for offset, line in lines[1:]:
        if line.rstrip() in _FRONT_MATTER_END:
            return title, offset + len(line)
        match = _FRONT_MATTER_TITLE.match(line)
        if match and title is None:
            title = match.group(1).strip("\"'").strip() or None
    return None, 0  # never closed: not front matter, just a rule


def markdown_sections(text: str, title: str) -> list[Section]:
    """Sections of a Markdown document, each heading path rooted in the document's title.

    The title is the front matter's `title`, else the first top-level heading,
    else `title` (the file name made readable); nested headings become
    `Title › Parent › Child`. Lines inside fenced code blocks (a fence ends only
    at its own character, at least as long) or HTML comments are never headings.
    """
    fm_title, body_start = front_matter(text)
    lines = [(offset, line) for offset, line in _lines(text) if offset >= body_start]
    found: list[tuple[int, int, int, str]] = []  # (level, line start, body start, heading)
    fence: str | None = None
    in_comment = False
    for i, (offset, line) in enumerate(lines):
        if fence is not None:
            if fence_closes(line, fence):
                fence = None
            continue
        if in_comment:
            in_comment = "-->" not in line
            continue
        fence = fence_opening(line)
        if fence is not None:
            continue
        if line.lstrip().startswith("<!--"):
            in_comment = "-->" not in line[line.index("<!--") + 4 :]
            continue
        atx = _ATX_HEADING.match(line)
        if atx and atx.group(2).strip():
            found.append((len(atx.group(1)), offset, offset + len(line), atx.group(2).strip()))
        elif i + 1 < len(lines) and line.strip() and _SETEXT_UNDERLINE.match(lines[i + 1][1]):
            if (i == 0 or not lines[i - 1][1].strip()) and fence_opening(lines[i + 1][1]) is None:
                level = 1 if lines[i + 1][1].strip().startswith("=") else 2
                found.append((level, offset, lines[i + 1][0] + len(lines[i + 1][1]), line.strip()))
    top = next((heading for level, _, _, heading in found if level == 1), None)
    root = fm_title or top or title
    headings: list[tuple[int, int, str]] = []
    stack: list[tuple[int, str]] = []
    for level, line_start, heading_body, heading in found:
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
        path = [h for _, h in stack]
        if path[0] != root:
            path.insert(0, root)
        headings.append((line_start, heading_body, HEADING_PATH_SEPARATOR.join(path)))
    return _sections_between(text, headings, root, body_start)


# --- BEIR corpus.jsonl ------------------------------------------------------------------------


def parse_beir_jsonl(text: str, source: str) -> list[Document]:
    """One document per line of a BEIR `corpus.jsonl`: `_id`, `title`, `text`."""
    documents = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise CorpusError(
                f"{source} line {number}: not valid JSON ({error.msg}). Fix or remove the line."
            ) from None
        if not isinstance(row, dict) or "_id" not in row or "text" not in row:
            raise CorpusError(
                f'{source} line {number}: a BEIR corpus line needs "_id" and "text" fields. Fix or remove that line.'
            )
        doc_id = str(row["_id"])
        if doc_id in seen:
            raise CorpusError(f"{source} line {number}: duplicate _id {doc_id!r}. Each document needs its own id.")
        seen.add(doc_id)
        body = str(row.get("text") or "")
        heading = str(row.get("title") or "").strip() or doc_id
        sections = [_section(body, heading, 0, len(body))] if body.strip() or row.get("title") else []
        if sections and sections[0].start == sections[0].end:
            sections = [Section(heading=heading, start=0, end=0)]
        documents.append(Document(doc_id=doc_id, source=source, text=body, sections=sections))
    return documents
