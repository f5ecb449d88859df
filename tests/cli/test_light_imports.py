"""`hkai-qa ask` on a built index and `hkai-qa --help` stay light: run in a fresh process, then look at sys.modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import GOVERNMENT_QUESTION, REPO

pytestmark = pytest.mark.slow

HEAVY = ("torch", "sentence_transformers", "transformers", "gradio", "matplotlib", "pandas")
# Runs the CLI as the `hkai-qa` script does, then reports what it imported on stderr's last line.
WRAPPER = """
import json, sys
from hkai_qa.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as stop:
    status = stop.code
print(json.dumps({"status": status, "modules": sorted({m.split(".")[0] for m in sys.modules})}), file=sys.stderr)
"""


def run_cli(*args: str) -> tuple[str, dict]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args], capture_output=True, text=True, cwd=REPO, env=env, check=False
    )
    return done.stdout, json.loads(done.stderr.strip().splitlines()[-1])


def test_ask_on_a_built_index_imports_no_torch(bundled_qa):
    out, report = run_cli("ask", GOVERNMENT_QUESTION, "--json", "--index", str(bundled_qa.index_dir))
    assert report["status"] == 0
    assert json.loads(out)["hits"][0]["section"] == "Government Support"
    assert "onnxruntime" in report["modules"]
    assert [m for m in HEAVY if m in report["modules"]] == []


def test_ask_with_the_torch_encoder_gives_the_same_hits(bundled_qa, capsys):
    from hkai_qa.cli import main

    args = ["ask", GOVERNMENT_QUESTION, "--json", "--index", str(bundled_qa.index_dir)]
    assert main(args) == 0
    onnx_hits = json.loads(capsys.readouterr().out)["hits"]
    assert main([*args, "--encoder", "torch"]) == 0
    torch_hits = json.loads(capsys.readouterr().out)["hits"]
    assert [h["passage_id"] for h in torch_hits] == [h["passage_id"] for h in onnx_hits]
    assert [h["score"] for h in torch_hits] == pytest.approx([h["score"] for h in onnx_hits], abs=1e-4)


def test_help_imports_nothing_heavy():
    out, report = run_cli("--help")
    assert report["status"] == 0 and "usage: hkai-qa" in out
    assert [m for m in (*HEAVY, "numpy", "faiss", "bm25s", "onnxruntime") if m in report["modules"]] == []
