"""What every benchmark here shares: running processes with their wall time and peak memory, warm
workers that take turns, medians and percentiles, and printing (and saving) a table.

Timings on a shared machine are noisy, so each script measures its bare baseline in the same
run, interleaved with the candidate, and reports medians; ratios are candidate / baseline.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SCIFACT = REPO.parent / "shared" / "data" / "scifact"
RESULTS = REPO / "benchmarks" / "results"
PYTHON = sys.executable
QUESTIONS = [
    "What makes Hong Kong's infrastructure suitable for AI?",
    "Which universities are key players in AI research?",
    "How does the government support AI?",
    "How do banks and financial institutions use AI?",
    "How is AI used in transportation and healthcare in the city?",
    "What concerns about data privacy and ethics does AI raise?",
    "Which sectors use AI?",
    "Who funds AI startups in Hong Kong?",
    "Is there enough AI talent in the city?",
    "What is the capital of France?",
]


def query_texts(folder: Path = SCIFACT) -> list[str]:
    """Every query of a BEIR folder (judged or not), read by hkai-qa's own JSONL reader."""
    sys.path.insert(0, str(REPO))
    from hkai_qa.questions import jsonl_records, read_text

    return [str(record["text"]) for _, record in jsonl_records(read_text(folder / "queries.jsonl"), "queries.jsonl")]


def environment(**extra: str) -> dict[str, str]:
    """This worktree's hkai_qa first on the path, offline, plus `extra`."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.update(extra)
    return env


def hkai_qa_command() -> list[str]:
    """The installed `hkai-qa` script when there is one (as a user runs it), else `python -m hkai_qa.cli`."""
    script = Path(PYTHON).parent / "hkai-qa"
    return [str(script)] if script.is_file() else [PYTHON, "-m", "hkai_qa.cli"]


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


# A child's ru_maxrss starts at its parent's resident size when it forks (Linux records the
# copied address space's high-water mark at exec), so a benchmark holding a corpus in memory
# would inflate every figure. Children are therefore forked by this small spawner, started
# before anything big is loaded, which times them and reports their peak RSS.
_SPAWNER = """
import json, os, sys, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["stdin"], "rb") as given, open(job["stdout"], "wb") as out, open(job["stderr"], "wb") as err:
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os.chdir(job["cwd"])
            for source, target in ((given, 0), (out, 1), (err, 2)):
                os.dup2(source.fileno(), target)
            try:
                os.execvpe(job["args"][0], job["args"], job["env"])
            finally:
                os._exit(127)
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - started
    result = {"seconds": seconds, "maxrss_kb": usage.ru_maxrss, "returncode": os.waitstatus_to_exitcode(status)}
    print(json.dumps(result), flush=True)
"""
_spawner = subprocess.Popen(
    [sys.executable, "-S", "-c", _SPAWNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
)


def run_process(args: list, env: dict[str, str], stdin: str | None = None) -> Run:
    """Run to completion: wall time and the process's own peak RSS (wait4, in the spawner)."""
    with tempfile.TemporaryDirectory(prefix="hkai-qa-run-") as folder:
        files = {name: Path(folder) / name for name in ("stdin", "stdout", "stderr")}
        files["stdin"].write_text(stdin or "", encoding="utf-8")
        job = {"args": [str(a) for a in args], "env": env, "cwd": str(REPO), **{k: str(v) for k, v in files.items()}}
        _spawner.stdin.write(json.dumps(job) + "\n")
        result = json.loads(_spawner.stdout.readline())
        return Run(
            result["seconds"],
            result["maxrss_kb"] / 1024,
            result["returncode"],
            files["stdout"].read_text(encoding="utf-8", errors="replace"),
            files["stderr"].read_text(encoding="utf-8", errors="replace"),
        )


def check(run: Run, what: str) -> Run:
    if run.returncode != 0:
        raise SystemExit(f"{what} failed with status {run.returncode}:\n{run.stderr[-2000:]}")
    return run


def own_peak_rss_mb() -> float:
    """This process's peak resident memory so far (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def own_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- warm workers taking turns ------------------------------------------------------------------


class Worker:
    """A warm subprocess that runs one timed block per request: `python SCRIPT --worker KIND`.

    Each kind runs in its own process, so one library's idle threads never slow another, and the
    parent alternates blocks between kinds so load on the machine hits every kind alike.
    """

    def __init__(self, script: Path, kind: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.kind = kind
        self.process = subprocess.Popen(
            [PYTHON, str(script), "--worker", kind, *args],
            env=env or environment(),
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.ready = self._read()

    def block(self, **request) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._read()

    def _read(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"worker {self.kind} stopped (see its stderr above)")
        return json.loads(line)

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def run_interleaved(script: Path, kinds, extra: list[str], rounds: int) -> tuple[dict, dict[str, list[dict]]]:
    """One warm worker per kind, `rounds` rounds of one block each, the order rotating every round.

    QA kinds start first (the first builds a missing index); "bare-passive" runs with
    OMP_WAIT_POLICY=PASSIVE. Returns the first worker's ready line and each kind's blocks.
    """
    workers = [
        Worker(script, kind, *extra, env=environment(OMP_WAIT_POLICY="PASSIVE") if kind == "bare-passive" else None)
        for kind in sorted(kinds, key=lambda k: k.startswith("bare"))
    ]
    blocks: dict[str, list[dict]] = {kind: [] for kind in kinds}
    try:
        for round_number in range(rounds):
            shift = round_number % len(workers)
            for w in workers[shift:] + workers[:shift]:
                blocks[w.kind].append(w.block())
    finally:
        for w in workers:
            w.close()
    return workers[0].ready, blocks


def serve_worker(setup, handle) -> None:
    """The worker side: `setup()` once (its dict is the ready line), then `handle(request)` per line."""
    ready = setup() or {}
    print(json.dumps({"ready": True, **ready}), flush=True)
    for line in sys.stdin:
        result = handle(json.loads(line))
        print(json.dumps(result), flush=True)


# --- figures and tables -------------------------------------------------------------------------


def median(values) -> float:
    return float(np.median(np.asarray(values, dtype=float)))


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q))


def verdict(ratio: float, target: float, lower_is_better: bool = True) -> str:
    met = ratio <= target if lower_is_better else ratio >= target
    sign = "≤" if lower_is_better else "≥"
    return f"{'met' if met else 'MISSED'} ({sign} {target:g}×)"


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load:.1f} at the start"


def table(title: str, headers: list[str], rows: list[list[object]], notes: list[str] = ()) -> str:
    """A Markdown table (as the README shows it), with notes under it."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = [f"### {title}", ""]
    lines.append("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    if notes:
        lines.append("")
        lines.extend(notes)
    return "\n".join(lines) + "\n"


def report(name: str, text: str, figures: dict) -> None:
    """Print the table and keep it (Markdown, committed) with its figures (JSON, git-ignored)."""
    print(text, flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.md").write_text(text, encoding="utf-8")
    stamped = {"machine": machine(), "time": time.strftime("%Y-%m-%d %H:%M:%S"), **figures}
    (RESULTS / f"{name}.json").write_text(json.dumps(stamped, indent=2), encoding="utf-8")
