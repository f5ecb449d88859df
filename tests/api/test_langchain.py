"""HkaiQaRetriever through LangChain's own Runnable interface: invoke and ainvoke."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import GOVERNMENT_QUESTION, SECTION_QUESTIONS

pytestmark = pytest.mark.slow
pytest.importorskip("langchain_core", reason="needs the extra: pip install -e '.[langchain]' (make test installs it)")


@pytest.fixture(scope="module")
def retriever(bundled_qa):
    from hkai_qa.integrations.langchain import HkaiQaRetriever

    return HkaiQaRetriever(qa=bundled_qa, k=3)


def test_invoke_returns_documents_best_first(retriever, bundled_qa):
    from langchain_core.documents import Document

    documents = retriever.invoke(GOVERNMENT_QUESTION)
    expected = bundled_qa.ask(GOVERNMENT_QUESTION, k=3)
    assert all(isinstance(d, Document) for d in documents) and len(documents) == 3
    assert [d.page_content for d in documents] == [hit.text for hit in expected.hits]
    first = documents[0].metadata
    assert first["section"] == "Government Support" and first["source"] == "hong_kong_ai_ecosystem.txt"
    assert first["passage_id"] == expected.hits[0].passage_id == documents[0].id
    assert first["score"] == expected.hits[0].score and first["page"] is None
    assert first["answerable"] is True
    assert {"section", "source", "passage_id", "page", "score", "answerable"} <= set(first)


def test_ainvoke_gives_the_same_documents(retriever):
    async def main():
        return await asyncio.gather(*(retriever.ainvoke(question) for question, _ in SECTION_QUESTIONS))

    results = asyncio.run(main())
    assert [documents[0].metadata["section"] for documents in results] == [section for _, section in SECTION_QUESTIONS]
    assert results[2] == retriever.invoke(GOVERNMENT_QUESTION)


def test_a_question_not_in_the_documents_is_marked(retriever):
    documents = retriever.invoke("What is the capital of France?")
    assert len(documents) == 3 and {d.metadata["answerable"] for d in documents} == {False}


def test_k_is_checked_and_a_bad_question_raises_the_library_error(bundled_qa, retriever):
    from pydantic import ValidationError

    from hkai_qa import QuestionError
    from hkai_qa.integrations.langchain import HkaiQaRetriever

    with pytest.raises(ValidationError):
        HkaiQaRetriever(qa=bundled_qa, k=0)
    with pytest.raises(QuestionError, match="the question is empty"):
        retriever.invoke("   ")
