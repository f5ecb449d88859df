"""`hkai-qa mcp`: search over the documents for AI agents, through the Model Context Protocol.

Three tools, built with the official `mcp` SDK (`pip install 'hkai-qa[mcp]'`):
`search(query, k)` returns the best passages with their section, source and
evidence, and whether the documents answer the query at all; `get_passage`
returns one passage by id; `status` describes the corpus. An agent spawns the
server over stdio (the default) or reaches it over streamable HTTP (`--http PORT`).

Agents spawn a server per session, so start-up time matters: nothing heavier
than the SDK and the index is loaded, and no model beyond the question encoder.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field

from hkai_qa import QA, HkaiQaError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

MAX_K = 20
INSTRUCTIONS = (
    "Searches a fixed set of documents and quotes the passages that answer a query, with their section "
    "headings and sources. Use `search` first; `answerable` false means the documents do not answer it, "
    "so do not make up an answer from the closest passages. `get_passage` fetches one passage by id."
)


class Evidence(BaseModel):
    """A sentence of the passage that best matches the query."""

    start: int = Field(description="offset of the sentence in the passage text")
    end: int
    text: str


class FoundPassage(BaseModel):
    rank: int = Field(description="1 for the best passage")
    passage_id: str
    section: str = Field(description="the heading of the section the passage comes from")
    source: str = Field(description="the document the passage comes from")
    page: int | None = Field(None, description="the page in the source, when it has pages")
    score: float = Field(description="orders the passages; comparable across queries")
    text: str
    evidence: list[Evidence]


class SearchResult(BaseModel):
    query: str
    answerable: bool = Field(description="false when the documents do not answer the query")
    best_score: float
    threshold: float = Field(description="best_score below this means the documents do not answer it")
    notes: list[str] = Field(description="why it is not answerable, or advice about the query")
    passages: list[FoundPassage] = Field(description="best first")


class Passage(BaseModel):
    passage_id: str
    section: str
    source: str
    page: int | None = None
    doc_id: str
    start: int = Field(description="offset of the passage in its document")
    end: int
    text: str


class Status(BaseModel):
    corpus: str
    documents: int | None
    passages: int
    model: str | None
    mode: str
    threshold: float
    built_at: str | None


def create_server(qa: QA) -> MCPServer:
    """The MCP server answering from `qa`: tools search, get_passage and status."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer(name="hkai-qa", instructions=INSTRUCTIONS, log_level="WARNING")
    passages_by_id: dict[str, Any] = {}

    @server.tool()
    def search(
        query: Annotated[str, Field(description="a question or keywords, up to 2,000 characters")],
        k: Annotated[int, Field(ge=1, le=MAX_K, description="how many passages to return")] = 5,
    ) -> SearchResult:
        """Find the passages of the documents that best answer `query`, best first, and whether they answer it."""
        try:
            answer = qa.ask(query, k=k)
        except (HkaiQaError, ValueError) as error:
            raise ToolError(str(error)) from None
        return SearchResult(
            query=answer.question,
            answerable=answer.answerable,
            best_score=answer.best_score,
            threshold=qa.threshold if answer.threshold is None else answer.threshold,
            notes=answer.notes,
            passages=[
                FoundPassage(
                    rank=hit.rank,
                    passage_id=hit.passage_id,
                    section=hit.section,
                    source=hit.source,
                    page=getattr(hit, "page", None),
                    score=hit.score,
                    text=hit.text,
                    evidence=[Evidence(start=s, end=e, text=hit.text[s:e]) for s, e in hit.evidence],
                )
                for hit in answer.hits
            ],
        )

    @server.tool()
    def get_passage(
        passage_id: Annotated[str, Field(description="a passage_id from search, like 'report.md#3'")],
    ) -> Passage:
        """One passage of the documents by its id, with its section and where it sits in its document."""
        if not passages_by_id:
            passages_by_id.update((p.passage_id, p) for p in qa.passages)
        passage = passages_by_id.get(passage_id)
        if passage is None:
            example = next(iter(passages_by_id), "")
            raise ToolError(f"no passage has the id {passage_id!r}. Use a passage_id from search, like {example!r}.")
        return Passage(
            passage_id=passage.passage_id,
            section=passage.heading,
            source=passage.source,
            page=getattr(passage, "page", None),
            doc_id=passage.doc_id,
            start=passage.start,
            end=passage.end,
            text=passage.text,
        )

    @server.tool()
    def status() -> Status:
        """The corpus being searched: its name, size, model, mode and the 'not in the documents' threshold."""
        manifest = qa.manifest
        return Status(
            corpus=qa.corpus_name,
            documents=manifest.get("document_count"),
            passages=len(qa.passages),
            model=manifest.get("model", {}).get("name"),
            mode=qa.mode,
            threshold=qa.threshold,
            built_at=manifest.get("built_at"),
        )

    return server


def run(
    corpus: str | None = None,
    index: str | None = None,
    *,
    http_port: int | None = None,
    host: str = "127.0.0.1",
    **options: Any,
) -> None:
    """Open the index (building it if needed), then serve MCP over stdio, or streamable HTTP on `http_port`.

    `options` are QA's keyword arguments (model, mode, encoder, store, rerank). Stdout
    belongs to the protocol, so every message goes to stderr.
    """
    if http_port is not None and not 0 < http_port < 65536:
        raise HkaiQaError(f"port {http_port} is out of range. Pass a port between 1 and 65535, e.g. --http 8765.")
    options = {name: value for name, value in options.items() if value is not None}
    # The index opens in a thread while the SDK imports: an agent waits for both before its first search.
    with ThreadPoolExecutor(max_workers=1) as pool:
        opening = pool.submit(QA, corpus, index, **options)
        try:
            import mcp.server.mcpserver  # noqa: F401
        except ImportError:
            opening.cancel()
            raise HkaiQaError("hkai-qa mcp needs the MCP SDK. Install it: pip install 'hkai-qa[mcp]'") from None
        qa = opening.result()
    server = create_server(qa)
    if http_port is None:
        server.run("stdio")
        return
    print(f"hkai-qa: MCP over streamable HTTP on http://{host}:{http_port}/mcp (Ctrl+C to stop)", file=sys.stderr)
    server.run("streamable-http", host=host, port=http_port)
