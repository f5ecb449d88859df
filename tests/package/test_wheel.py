"""A built wheel, installed away from the checkout, answers from the bundled article (issue 12, part 1)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import GOVERNMENT_QUESTION, REPO

pytestmark = pytest.mark.slow

SCRIPT = """
import json, sys
import hkai_qa
from hkai_qa import QA
qa = QA()
answer = qa.ask(sys.argv[1])
print(json.dumps({"module": hkai_qa.__file__, "index": str(qa.index_dir), "corpus": str(qa.corpus_path),
                  "section": answer.hits[0].section, "answerable": answer.answerable}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel of this checkout, installed with pip into a folder of its own."""
    # Built from a copy of the sources, so setuptools leaves no build/ folder in the checkout.
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(REPO / "hkai_qa", source / "hkai_qa", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    wheels = tmp_path_factory.mktemp("wheels")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, source], check=True)
    [wheel] = wheels.glob("hkai_qa-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "hkai_qa/data/hong_kong_ai_ecosystem.txt" in names and "hkai_qa/stores/faiss.py" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    target = tmp_path_factory.mktemp("site")
    subprocess.run([*pip, "install", "--no-deps", "--target", target, wheel], check=True)
    return target


def run(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`args` run from `cwd` with only the installed copy of hkai_qa importable, the cache in `cwd`."""
    env = {k: v for k, v in os.environ.items() if k not in ("HKAI_QA_INDEX_ROOT", "PYTHONPATH")}
    # The session's ONNX export is reused (exporting again would only cost time); indexes go to the user cache.
    env.update(PYTHONPATH=str(installed), XDG_CACHE_HOME=str(cwd / "cache"), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def test_qa_from_the_installed_wheel_answers_from_the_packaged_article(installed, tmp_path, bundled_qa):
    done = run(installed, tmp_path, "-c", SCRIPT, GOVERNMENT_QUESTION)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(result["module"]).is_relative_to(installed)
    assert Path(result["corpus"]).is_relative_to(installed / "hkai_qa" / "data")
    assert Path(result["index"]).is_relative_to(tmp_path / "cache" / "hkai-qa" / "indexes")
    assert result["section"] == "Government Support" and result["answerable"] is True
    assert done.stderr == "", "the library prints nothing itself"


def test_the_cli_from_the_installed_wheel_answers(installed, tmp_path, bundled_qa):
    check = "import hkai_qa.cli, sys; print(hkai_qa.cli.__file__); sys.exit(hkai_qa.cli.main(sys.argv[1:]))"
    done = run(installed, tmp_path, "-c", check, "ask", "How do banks use AI?", "--json")
    assert done.returncode == 0, done.stderr
    module, payload = done.stdout.split("\n", 1)
    assert Path(module).is_relative_to(installed)
    assert json.loads(payload)["hits"][0]["section"] == "AI in Finance and Business"
    assert list((tmp_path / "cache" / "hkai-qa" / "indexes").glob("hong_kong_ai_ecosystem-*/manifest.json"))
