"""Readers for documents that are not plain text: PDF, HTML and Word (.docx).

Each reader turns a file's bytes into `Document`s whose sections follow the
file's own structure (PDF outline or numbered headings, HTML h1-h6, Word
heading styles); PDF sections also record where each page starts, so a
passage can say which pages it came from (`page_span`).

The parsing libraries are imported only when a file of that kind is read.
"""

from __future__ import annotations

from ..documents import Document
from ..errors import CorpusError
from .assembly import page_span

# Read as bytes and parsed here (PDF, HTML, Word).
BINARY_SUFFIXES = (".pdf", ".html", ".htm", ".docx")

__all__ = ["read_document", "page_span"]


def read_document(data: bytes, source: str, suffix: str) -> list[Document]:
    """The documents in one file's bytes; a file that cannot be read raises `CorpusError` naming it."""
    suffix = suffix.lower()
    if suffix == ".pdf":
        from .pdf import read_pdf

        return [read_pdf(data, source)]
    if suffix in (".html", ".htm"):
        from .html import read_html

        return [read_html(data, source)]
    if suffix == ".docx":
        from .docx import read_docx

        return [read_docx(data, source)]
    raise CorpusError(f"{source}: no reader for {suffix!r}. Readers exist for {', '.join(BINARY_SUFFIXES)}.")
