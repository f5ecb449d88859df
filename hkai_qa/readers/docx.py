"""Word documents (.docx): heading styles become sections, tables stay whole.

Read with python-docx. A paragraph is a heading when its style (or a style it
is based on) is "Heading N" or carries an outline level, which is what Word,
LibreOffice and pandoc all write; the Title style roots the section paths. A
paragraph in a code style (pandoc's "Source Code", Word's "HTML Preformatted" or
"Plain Text", any style named for code) is code: a run of them is one code block,
fenced so that passages keep it whole.
"""

from __future__ import annotations

import io
import re
import zipfile

from ..documents import Document, title_from_filename
from ..errors import CorpusError
from .assembly import DocumentAssembler

_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_CODE_STYLE = re.compile(r"\bcode\b|source\s*code|preformatted|^plain text$|^macro text$", re.IGNORECASE)


def read_docx(data: bytes, source: str) -> Document:
    """One Word document; its title is the core properties' title, else its first heading, else the file name."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        word = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise CorpusError(
            f"{source}: not a readable Word .docx file ({error or type(error).__name__}). "
            "Re-save it as .docx (Word 2007 or later), or remove it."
        ) from None
    assembler = DocumentAssembler()
    first_heading = None
    code: list[str] = []  # the lines of the code block being read
    for item in word.iter_inner_content():
        if not isinstance(item, docx.table.Table) and _is_code(item):
            code.append(item.text)
            continue
        if code:
            assembler.code("\n".join(code))
            code = []
        if isinstance(item, docx.table.Table):
            assembler.block(_table_rows(item))
            continue
        text = item.text
        level = _heading_level(item)
        if level is not None and text.strip():
            assembler.heading(level, text)
            first_heading = first_heading or " ".join(text.split())
        else:
            assembler.block(text)
    if code:
        assembler.code("\n".join(code))
    title = (word.core_properties.title or "").strip() or first_heading or title_from_filename(source)
    return assembler.document(doc_id=source, source=source, title=title)


def _heading_level(paragraph) -> int | None:
    """0 for Title, N for Heading N (or outline level N-1), else None."""
    own = _outline_level(paragraph._p)
    if own is not None:
        return own
    style = paragraph.style
    while style is not None:
        name = style.name or ""
        if name.lower() == "title":
            return 0
        match = _HEADING_STYLE.match(name)
        if match:
            return int(match.group(1))
        level = _outline_level(style.element)
        if level is not None:
            return level
        style = style.base_style
    return None


def _is_code(paragraph) -> bool:
    """A paragraph whose style, or a style it is based on, is a code style."""
    style = paragraph.style
    while style is not None:
        if _CODE_STYLE.search(style.name or ""):
            return True
        style = style.base_style
    return False


def _outline_level(element) -> int | None:
    from docx.oxml.ns import qn

    properties = element.find(qn("w:pPr"))
    outline = properties.find(qn("w:outlineLvl")) if properties is not None else None
    if outline is None:
        return None
    value = int(outline.get(qn("w:val"), "9"))
    return value + 1 if value < 9 else None


def _table_rows(table) -> str:
    """A table as readable rows: `cell | cell | cell`, a merged cell written once."""
    lines = []
    for row in table.rows:
        cells, seen = [], []  # lxml gives the same element object while a reference is held
        for cell in row.cells:
            if any(cell._tc is element for element in seen):
                continue
            seen.append(cell._tc)
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(lines)
