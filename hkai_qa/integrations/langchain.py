"""hkai-qa as a LangChain retriever: `HkaiQaRetriever` (`pip install 'hkai-qa[langchain]'`, langchain-core only).

    >>> from hkai_qa import QA
    >>> from hkai_qa.integrations.langchain import HkaiQaRetriever
    >>> retriever = HkaiQaRetriever(qa=QA("my_docs/"), k=4)
    >>> retriever.invoke("How does the government support AI?")[0].metadata["section"]

Each passage becomes a `Document` whose metadata carries its section heading,
source, passage id, page (None when the source has no pages), score and
`answerable`: whether hkai-qa judged that the documents answer the query at all,
so a chain can say "not in the documents" instead of answering from near misses.
"""

from __future__ import annotations

import asyncio
from typing import Any

try:
    from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
except ImportError:  # pragma: no cover - the message is the point
    raise ImportError(
        "hkai_qa.integrations.langchain needs langchain-core. Install it: pip install 'hkai-qa[langchain]'"
    ) from None
from pydantic import ConfigDict, Field

from hkai_qa import QA, Answer


class HkaiQaRetriever(BaseRetriever):
    """The `k` best passages of a `QA`'s documents for a query, best first, as LangChain `Document`s."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    qa: QA = Field(description="the corpus and index to search, e.g. QA('my_docs/')")
    k: int = Field(default=4, ge=1, description="how many passages to return")

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return documents(self.qa.ask(query, k=self.k))

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        # Answering is CPU-bound: a worker thread keeps the event loop free meanwhile.
        return documents(await asyncio.to_thread(self.qa.ask, query, self.k))


def documents(answer: Answer) -> list[Document]:
    """An answer's hits as Documents, best first."""
    return [
        Document(
            page_content=hit.text,
            id=hit.passage_id,
            metadata=_metadata(hit, answer.answerable),
        )
        for hit in answer.hits
    ]


def _metadata(hit: Any, answerable: bool) -> dict[str, Any]:
    return {
        "section": hit.section,
        "source": hit.source,
        "passage_id": hit.passage_id,
        "page": getattr(hit, "page", None),
        "score": hit.score,
        "answerable": answerable,
        "rank": hit.rank,
        "evidence": [hit.text[start:end] for start, end in hit.evidence],
    }
