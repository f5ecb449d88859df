"""Every benchmark, one after another, each printing its table with its bare baseline and ratios.

    python benchmarks/run_all.py            # the figures the README quotes (about an hour on 2 busy cores)
    python benchmarks/run_all.py --quick    # fewer rounds, 500 SciFact documents, up to 100k passages

Order matters: the index build makes the SciFact index the batch and scale benchmarks use. The
tables are also written to benchmarks/results/*.md (and the figures to *.json); all the tables
together go to benchmarks/results/all.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def plan(quick: bool) -> list[tuple[str, list[str]]]:
    if quick:
        return [
            ("index_build", ["index_build.py", "--limit", "500"]),
            ("cold_start", ["cold_start.py", "--rounds", "2"]),
            ("query_latency_article", ["query_latency.py", "--rounds", "3"]),
            ("batch_questions", ["batch_questions.py", "--rounds", "2"]),
            ("scale", ["scale.py", "--sizes", "10000", "100000", "--queries", "100"]),
            ("server", ["server.py", "--requests", "8"]),
        ]
    return [
        ("index_build", ["index_build.py"]),
        ("cold_start", ["cold_start.py"]),
        ("query_latency_article", ["query_latency.py"]),
        ("query_latency_scifact", ["query_latency.py", "--corpus", str(HERE.parent.parent / "shared/data/scifact")]),
        ("batch_questions", ["batch_questions.py"]),
        ("scale", ["scale.py"]),
        ("server", ["server.py"]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fast check that every script runs")
    parser.add_argument("--only", nargs="+", help="run only these (names as in results/, e.g. cold_start)")
    args = parser.parse_args()
    failed = []
    for name, command in plan(args.quick):
        if args.only and name not in args.only:
            continue
        print(f"\n=== {name}: python benchmarks/{' '.join(command)}", flush=True)
        started = time.perf_counter()
        status = subprocess.run([sys.executable, str(HERE / command[0]), *command[1:]], cwd=HERE.parent).returncode
        print(f"=== {name}: {'done' if status == 0 else f'FAILED ({status})'} in {time.perf_counter() - started:.0f} s")
        if status:
            failed.append(name)
    tables = [RESULTS / f"{name}.md" for name, _ in plan(args.quick)]
    (RESULTS / "all.md").write_text("\n".join(t.read_text() for t in tables if t.is_file()), encoding="utf-8")
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
