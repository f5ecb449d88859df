"""The JSON API through httpx, a real HTTP client, against a real server: answers, refusals, limits, OpenAPI."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import GOVERNMENT_QUESTION, SECTION_QUESTIONS

pytestmark = pytest.mark.slow


def test_ask_returns_the_cli_json(server_url, bundled_qa):
    response = httpx.post(f"{server_url}/api/ask", json={"question": GOVERNMENT_QUESTION, "k": 2})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == bundled_qa.ask(GOVERNMENT_QUESTION, k=2).to_dict()
    assert response.json()["hits"][0]["section"] == "Government Support"


def test_k_defaults_to_three_and_mode_can_be_chosen(server_url, bundled_qa):
    question = "Which universities are key players in AI research?"
    default = httpx.post(f"{server_url}/api/ask", json={"question": question}).json()
    assert [hit["rank"] for hit in default["hits"]] == [1, 2, 3]
    bm25 = httpx.post(f"{server_url}/api/ask", json={"question": question, "mode": "bm25"}).json()
    assert bm25 == bundled_qa.with_mode("bm25").ask(question, k=3).to_dict()
    assert bm25["hits"][0]["section"] == "Research and Innovation"


def test_a_question_the_documents_do_not_answer_says_so(server_url):
    answer = httpx.post(f"{server_url}/api/ask", json={"question": "What is the capital of France?"}).json()
    assert answer["answerable"] is False and len(answer["hits"]) == 3


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"question": ""}, 422, "the question is empty"),
        ({"question": "   "}, 422, "the question is empty"),
        ({"question": "x" * 2001}, 422, "the limit is 2,000"),
        ({"question": None}, 422, "a question must be text, not NoneType"),
        ({"question": GOVERNMENT_QUESTION, "k": "3"}, 422, "k must be a whole number of passages, 1 or more; got '3'"),
        ({"question": GOVERNMENT_QUESTION, "k": 2.5}, 422, "k must be a whole number of passages"),
        ({"question": GOVERNMENT_QUESTION, "k": 0}, 422, "k must be a whole number of passages, 1 or more; got 0"),
        ({"question": GOVERNMENT_QUESTION, "k": True}, 422, "k must be a whole number"),
        ({"question": GOVERNMENT_QUESTION, "mode": "hybird"}, 422, 'Did you mean "hybrid"?'),
        ({"question": GOVERNMENT_QUESTION, "mode": ["bm25"]}, 422, "unknown mode"),
        (
            {"qestion": GOVERNMENT_QUESTION},
            422,
            "unknown field 'qestion'; the fields are question, k and mode. Did you mean \"question\"?",
        ),
        ({}, 422, "the request has no question"),
        ([GOVERNMENT_QUESTION], 422, "the request body must be a JSON object"),
    ],
)
def test_bad_requests_get_the_library_message_as_json(server_url, body, status, message):
    response = httpx.post(f"{server_url}/api/ask", json=body)
    assert response.status_code == status
    assert message in response.json()["detail"]


def test_a_question_that_is_not_utf8_gets_the_library_message(server_url):
    """Issue 17 item 9: a lone surrogate (JSON allows the escape) reached the encoder and came back as null."""
    body = b'{"question": "AI \\ud800 banks"}'
    response = httpx.post(f"{server_url}/api/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("the question is not valid text: character 4 is a byte that is not")


def test_the_chat_ask_endpoint_gives_the_library_message_for_a_question_that_is_not_utf8(server_url):
    """Gradio's /ask said {"error": null} for it; now its error event carries the library's message."""
    body = b'{"data": ["AI \\ud800 banks", 3]}'
    start = httpx.post(f"{server_url}/gradio_api/call/ask", content=body, headers={"content-type": "application/json"})
    assert start.status_code == 200, start.text
    events = httpx.get(f"{server_url}/gradio_api/call/ask/{start.json()['event_id']}", timeout=60).text
    assert "event: error" in events
    assert "the question is not valid text: character 4 is a byte that is not UTF-8" in events


def test_a_body_that_is_not_json_is_a_400(server_url):
    response = httpx.post(f"{server_url}/api/ask", content=b"question=hello")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("the request body is not JSON")


def test_a_huge_body_is_refused_with_413_before_it_is_read(server_url):
    body = json.dumps({"question": "x" * (1024 * 1024)}).encode()
    response = httpx.post(f"{server_url}/api/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "over the limit of 64 KB" in response.json()["detail"]


def test_a_huge_chunked_body_is_refused_with_413_too(server_url):
    def chunks():
        for _ in range(200):
            yield b"x" * 1024

    response = httpx.post(f"{server_url}/api/ask", content=chunks())
    assert response.status_code == 413
    small = httpx.post(f"{server_url}/api/ask", content=iter([json.dumps({"question": GOVERNMENT_QUESTION}).encode()]))
    assert small.status_code == 200 and small.json()["hits"][0]["section"] == "Government Support"


def test_health_and_info(server_url, bundled_qa):
    health = httpx.get(f"{server_url}/api/health").json()
    assert health["status"] == "ok" and health["passages"] == len(bundled_qa.passages)
    assert health["workers"] >= 1 and health["in_flight"] == 0
    info = httpx.get(f"{server_url}/api/info").json()
    assert info["corpus"] == bundled_qa.corpus_name
    assert info["passages"] == len(bundled_qa.passages) and info["documents"] == 1
    assert info["model"] == "all-MiniLM-L6-v2" and info["store"] == {"kind": "faiss"}
    assert (
        info["abstention"]["threshold"] == bundled_qa.threshold
        and "below the threshold" in info["abstention"]["rule"]
        and "never mention" in info["abstention"]["rule"]
    )


def test_openapi_describes_the_api(server_url):
    schema = httpx.get(f"{server_url}/openapi.json").json()
    ask = schema["paths"]["/api/ask"]["post"]
    body = ask["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["question"] and set(body["properties"]) == {"question", "k", "mode"}
    assert {"200", "413", "422", "503"} <= set(ask["responses"])
    assert {"/api/health", "/api/info"} <= set(schema["paths"])
    docs = httpx.get(f"{server_url}/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text


def test_the_chat_ui_and_gradio_ask_share_the_port(server_url, bundled_qa):
    from gradio_client import Client

    page = httpx.get(f"{server_url}/")
    assert page.status_code == 200 and "gradio" in page.text.lower()
    result = Client(server_url, verbose=False).predict(GOVERNMENT_QUESTION, 2, api_name="/ask")
    assert result == bundled_qa.ask(GOVERNMENT_QUESTION, k=2).to_dict()


def test_no_cors_headers_unless_asked(server_url):
    response = httpx.post(
        f"{server_url}/api/ask", json={"question": GOVERNMENT_QUESTION}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_32_concurrent_requests_all_come_back_right(server_url):
    questions = (SECTION_QUESTIONS * 6)[:32]

    def ask(pair):
        question, _ = pair
        answer = httpx.post(f"{server_url}/api/ask", json={"question": question, "k": 3}, timeout=60).json()
        return answer["question"], answer["hits"][0]["section"]

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(ask, questions))
    assert results == questions


def test_the_chat_page_refuses_huge_bodies_too(server_url):
    """Gradio's own endpoints read whatever they are sent; here they stop at 4 MB (issue 17 item 12)."""
    huge = b'{"data": ["' + b"x" * (5 * 1024 * 1024) + b'"]}'
    response = httpx.post(
        f"{server_url}/gradio_api/call/ask", content=huge, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "over the limit of 4,096 KB" in response.json()["detail"]
