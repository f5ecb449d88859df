"""The README's headline figures are copied from benchmarks/results by a script, never retyped."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_readme_headline_block_matches_the_results_files():
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "headline.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_stays_a_users_readme():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250
    assert any("make run" in line for line in lines) and any("make test" in line for line in lines)
