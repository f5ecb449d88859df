"""Who may call the JSON API: the bearer token, CORS origins, and the loopback-only default of `hkai-qa serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import GOVERNMENT_QUESTION, REPO
from tests.ui.conftest import free_port

pytestmark = pytest.mark.slow

TOKEN = "correct horse battery staple"


@pytest.fixture(scope="module")
def guarded_url(bundled_qa):
    from hkai_qa.http_api import create_api
    from hkai_qa.server import running

    app = create_api(bundled_qa, token=TOKEN, cors_origins=["https://app.example.org"])
    with running(app) as url:
        yield url


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_without_the_token_ask_and_info_are_401(guarded_url, headers):
    ask = httpx.post(f"{guarded_url}/api/ask", json={"question": GOVERNMENT_QUESTION}, headers=headers)
    assert ask.status_code == 401 and ask.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer <token>" in ask.json()["detail"]
    assert httpx.get(f"{guarded_url}/api/info", headers=headers).status_code == 401


def test_with_the_token_it_answers(guarded_url):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    ask = httpx.post(f"{guarded_url}/api/ask", json={"question": GOVERNMENT_QUESTION}, headers=headers)
    assert ask.status_code == 200 and ask.json()["hits"][0]["section"] == "Government Support"
    assert httpx.get(f"{guarded_url}/api/info", headers=headers).status_code == 200
    assert httpx.get(f"{guarded_url}/api/health").json()["status"] == "ok"  # for load balancers, no token


def test_cors_allows_only_the_origins_given(guarded_url):
    preflight = {"Origin": "https://app.example.org", "Access-Control-Request-Method": "POST"}
    allowed = httpx.options(f"{guarded_url}/api/ask", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.org"
    refused = httpx.options(f"{guarded_url}/api/ask", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in refused.headers


def this_machines_other_address() -> str | None:
    """A non-loopback address of this machine (a UDP 'connect' sends nothing), or None when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_serve_binds_loopback_only_and_serves_both_faces(tmp_path, bundled_qa):
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    env.pop("HKAI_QA_TOKEN", None)
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "hkai_qa.cli", "serve", "--index", str(bundled_qa.index_dir), "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=output,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while f"hkai-qa: chat on {url}, JSON API on {url}/api" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        answer = httpx.post(f"{url}/api/ask", json={"question": GOVERNMENT_QUESTION}).json()
        assert answer["hits"][0]["section"] == "Government Support"
        assert httpx.get(f"{url}/").status_code == 200
        other = this_machines_other_address()
        if other is not None:
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://{other}:{port}/api/health", timeout=5)
        assert "Warning" not in log.read_text()
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0 or process.returncode == -15
