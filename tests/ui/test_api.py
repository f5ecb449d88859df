"""The `/ask` endpoint through `gradio_client`, against `python app.py` run as `make run` runs it."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import GOVERNMENT_QUESTION, REPO, SECTION_QUESTIONS
from tests.ui.conftest import free_port

pytestmark = [pytest.mark.slow, pytest.mark.ui]

STARTUP_SECONDS = 300


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """`python app.py` on a free port given by GRADIO_SERVER_PORT, with its index in a temp folder.

    Ready once it prints its URL, which it does after the model and the index are loaded.
    """
    port = free_port()
    log = tmp_path_factory.mktemp("app") / "app.log"
    env = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
        "HKAI_QA_INDEX_ROOT": str(tmp_path_factory.mktemp("indexes")),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=output, stderr=output)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"app.py exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            if f"hkai-qa: chat on {url}" in log.read_text():
                break
            if time.monotonic() > deadline:
                pytest.fail(f"app.py did not start on {url} within {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        assert httpx.get(f"{url}/config", timeout=10).status_code == 200
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def test_ask_endpoint_returns_the_cli_json(client, bundled_qa):
    result = client.predict(GOVERNMENT_QUESTION, 2, api_name="/ask")
    assert result == bundled_qa.ask(GOVERNMENT_QUESTION, k=2).to_dict()
    assert result["hits"][0]["section"] == "Government Support"
    assert result["answerable"] is True and len(result["hits"]) == 2


def test_k_is_optional(client):
    result = client.predict("Which universities are key players in AI research?", api_name="/ask")
    assert [hit["rank"] for hit in result["hits"]] == [1, 2, 3]
    assert result["hits"][0]["section"] == "Research and Innovation"


def test_only_ask_is_public(client):
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/ask"]


@pytest.mark.parametrize(("question", "message"), [("", "the question is empty"), ("x" * 2001, "the limit is 2,000")])
def test_bad_question_is_an_error_with_the_message(client, question, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(question, api_name="/ask")


def test_unanswerable_question_says_so(client):
    result = client.predict("What is the capital of France?", api_name="/ask")
    assert result["answerable"] is False and len(result["hits"]) == 3


def test_32_concurrent_requests_all_come_back_right(app_url):
    """8 clients, as 8 people would be. One gradio_client 2.7 Client shared by threads can lose a
    request sent just as the server closes that session's stream (CancelledError, client side)."""
    from gradio_client import Client

    questions = (SECTION_QUESTIONS * 6)[:32]
    clients = queue.SimpleQueue()
    for _ in range(8):
        clients.put(Client(app_url, verbose=False))

    def ask(pair):
        question, section = pair
        client = clients.get()
        try:
            result = client.predict(question, 3, api_name="/ask")
        finally:
            clients.put(client)
        return result["question"], result["hits"][0]["section"], section

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(ask, questions))
    assert len(results) == 32
    assert [(q, got) for q, got, _ in results] == [(q, want) for q, want in questions]
