"""The MCP server's search and the LangChain retriever give a PDF hit's page."""

from __future__ import annotations

import pytest

from tests.conftest import PDF_ANSWER, PDF_QUESTION, printed_on

pytestmark = pytest.mark.slow


def test_mcp_search_and_get_passage_give_the_page(pdf_qa):
    pytest.importorskip("mcp", reason="the MCP tests need the extra: pip install -e '.[mcp]' (make test installs it)")
    from tests.api.test_mcp import with_client

    async def session(client):
        found = await client.call_tool("search", {"query": PDF_QUESTION, "k": 3})
        first = found.structured_content["passages"][0]
        passage = await client.call_tool("get_passage", {"passage_id": first["passage_id"]})
        return first, passage.structured_content

    first, passage = with_client(pdf_qa.index_dir, session)
    expected = pdf_qa.ask(PDF_QUESTION, k=3).hits[0]
    assert first["source"] == "spec.pdf" and first["page"] == expected.page is not None
    assert passage["page"] == expected.page


def test_langchain_documents_carry_the_page(pdf_qa):
    pytest.importorskip("langchain_core", reason="the LangChain tests need langchain-core (make test installs it)")
    from hkai_qa.integrations.langchain import documents

    page, _label = printed_on(pdf_qa.corpus_path / "spec.pdf", PDF_ANSWER)
    top = documents(pdf_qa.ask(PDF_QUESTION, k=3))[0]
    assert top.metadata["source"] == "spec.pdf" and top.metadata["page"] == page
