"""`hkai-qa mcp` spawned by the official MCP SDK's stdio client, as an agent spawns it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import GOVERNMENT_QUESTION, REPO

pytestmark = pytest.mark.slow
pytest.importorskip("mcp", reason="the MCP tests need the extra: pip install -e '.[mcp]' (make test installs it)")


def server_parameters(*args: str):
    from mcp.client.stdio import StdioServerParameters

    # The SDK passes a spawned server only a few variables (HOME, PATH, ...): hand on where tests keep things.
    names = ("HF_HUB_OFFLINE", "HKAI_QA_INDEX_ROOT", "HKAI_QA_MODEL_CACHE")
    env = {name: os.environ[name] for name in names if name in os.environ}
    env["PYTHONPATH"] = str(REPO)
    return StdioServerParameters(command=sys.executable, args=["-m", "hkai_qa.cli", "mcp", *args], env=env, cwd=REPO)


def with_client(index, session):
    """Run `session(client)` against a freshly spawned `hkai-qa mcp --index INDEX`; returns what it returns."""
    from mcp import Client

    async def main():
        async with Client(server_parameters("--index", str(index))) as client:
            return await session(client)

    return asyncio.run(main())


def test_tools_are_listed_with_their_required_arguments(bundled_qa):
    async def session(client):
        return (await client.list_tools()).tools

    tools = {tool.name: tool for tool in with_client(bundled_qa.index_dir, session)}
    assert set(tools) == {"search", "get_passage", "status"}
    search = tools["search"].input_schema
    assert search["required"] == ["query"] and search["properties"]["k"]["default"] == 5
    assert tools["get_passage"].input_schema["required"] == ["passage_id"]
    assert "answerable" in tools["search"].output_schema["properties"]


def test_search_then_get_passage(bundled_qa):
    async def session(client):
        found = await client.call_tool("search", {"query": GOVERNMENT_QUESTION, "k": 2})
        first = found.structured_content["passages"][0]["passage_id"]
        passage = await client.call_tool("get_passage", {"passage_id": first})
        status = await client.call_tool("status", {})
        return found, passage, status

    found, passage, status = with_client(bundled_qa.index_dir, session)
    assert not found.is_error
    result = found.structured_content
    expected = bundled_qa.ask(GOVERNMENT_QUESTION, k=2)
    assert result["answerable"] is True and result["best_score"] == expected.best_score
    assert [p["passage_id"] for p in result["passages"]] == [hit.passage_id for hit in expected.hits]
    first = result["passages"][0]
    assert first["rank"] == 1 and first["section"] == "Government Support"
    assert first["source"] == "hong_kong_ai_ecosystem.txt" and first["page"] is None
    assert first["evidence"] and all(first["text"][e["start"] : e["end"]] == e["text"] for e in first["evidence"])
    assert json.loads(found.content[0].text) == result  # the same result for clients that read text only
    assert passage.structured_content["text"] == first["text"]
    assert passage.structured_content["section"] == "Government Support"
    assert status.structured_content["passages"] == len(bundled_qa.passages)
    assert status.structured_content["corpus"] == bundled_qa.corpus_name


def test_a_query_the_documents_do_not_answer_says_so(bundled_qa):
    async def session(client):
        return await client.call_tool("search", {"query": "What is the capital of France?"})

    result = with_client(bundled_qa.index_dir, session).structured_content
    assert result["answerable"] is False and len(result["passages"]) == 5
    # No word of it is in the article, so it was judged against the dense threshold: the one shown.
    assert result["threshold"] == bundled_qa.ask("What is the capital of France?").threshold != bundled_qa.threshold


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("search", {"query": GOVERNMENT_QUESTION, "k": "many"}, "valid integer"),
        ("search", {"query": GOVERNMENT_QUESTION, "k": 0}, "greater than or equal to 1"),
        ("search", {"k": 3}, "query"),
        ("search", {"query": "  "}, "the question is empty"),
        ("get_passage", {"passage_id": "nope#9"}, "no passage has the id 'nope#9'. Use a passage_id from search"),
    ],
)
def test_bad_arguments_are_tool_errors_with_a_message(bundled_qa, tool, arguments, message):
    async def session(client):
        return await client.call_tool(tool, arguments)

    result = with_client(bundled_qa.index_dir, session)
    assert result.is_error
    assert message in result.content[0].text


def test_a_missing_corpus_is_a_one_line_error(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "hkai_qa.cli", "mcp", "--corpus", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("Error: corpus path") and done.stderr.count("\n") == 1


def test_the_server_module_imports_no_ui_or_torch():
    code = "import sys, hkai_qa.mcp_server; print(sorted({m.split('.')[0] for m in sys.modules}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    modules = done.stdout
    assert "'torch'" not in modules and "'gradio'" not in modules and "'fastapi'" not in modules
