"""`hkai-qa serve --watch`: a file added to the corpus is answered within seconds, and the page says so."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from hkai_qa import QA
from tests.ui.conftest import free_port

pytestmark = [pytest.mark.slow, pytest.mark.ui]

KITTENS = "# Kittens\n\nKittens are young cats; they sleep for most of the day and play in short bursts.\n"


def _passages(url: str) -> int | None:
    try:
        with urllib.request.urlopen(f"{url}/api/info", timeout=5) as response:
            return json.loads(response.read())["passages"]
    except OSError:
        return None


def test_serve_watch_picks_up_a_new_file(tmp_path, tiny_corpus, page):
    from playwright.sync_api import expect

    index = tmp_path / "ix"
    before = len(QA(tiny_corpus, index=index).passages)
    port = free_port()
    code = "import sys; from hkai_qa.cli import main; sys.exit(main(sys.argv[1:]))"
    args = ["serve", "--corpus", str(tiny_corpus), "--index", str(index), "--port", str(port), "--watch"]
    server = subprocess.Popen([sys.executable, "-c", code, *args])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while _passages(url) != before:
            assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.5)
        page.goto(url)
        expect(page.locator(".hkai-corpus")).to_contain_text(f"{before} passages", timeout=30_000)
        (tiny_corpus / "kittens.md").write_text(KITTENS, encoding="utf-8")
        added = time.monotonic()
        while _passages(url) != before + 1:
            assert time.monotonic() - added < 30, "the new file was not picked up"
            time.sleep(0.25)
        page.goto(url)  # a page opened after the update shows the new count in its header
        expect(page.locator(".hkai-corpus")).to_contain_text(f"{before + 1} passages", timeout=30_000)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
