"""Chat server speed: start-up to first answer, and `/ask` latency under 32 concurrent requests.

    python benchmarks/server.py [--cold] [--concurrency N ...] [--requests 32] [--threads 8] [--rounds 1]

Starts `python app.py` (what `make run` runs) on a free port, polls until it serves
its page, asks `/ask` once with `gradio_client` and prints the time from process
start to that first answer. Then it
sends the same 32 article questions from 8 threads and prints p50/p95 latency,
beside the bare baseline: the same questions through `QA.ask` in this process,
from 8 threads and one at a time (the server is also timed one request at a
time, to show its own per-request cost). `--cold` gives the server an empty index
folder, so the start-up includes building the index. `--concurrency 0 1 4` repeats
the server run with each queue concurrency (HKAI_QA_UI_CONCURRENCY; 0 is the
default); `--rounds 3` sends the batch three times for steadier percentiles.
"""

from __future__ import annotations

import argparse
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from measure import QUESTIONS, REPO, machine, percentile, report, table

sys.path.insert(0, str(REPO))

from hkai_qa import QA  # noqa: E402

STARTUP_LIMIT_SECONDS = 600


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timed_batch(ask, questions: list[str], threads: int) -> tuple[list[float], float]:
    """Per-question latencies (s) and wall time for `questions` sent from `threads` threads at once."""

    def one(question: str) -> float:
        started = time.perf_counter()
        ask(question)
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        latencies = list(pool.map(one, questions))
    return latencies, time.perf_counter() - started


def run_server(concurrency: int | None, cold: bool, questions: list[str], threads: int, rounds: int) -> dict:
    import httpx
    from gradio_client import Client

    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "HF_HUB_OFFLINE": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    if concurrency:
        env["HKAI_QA_UI_CONCURRENCY"] = str(concurrency)
    with tempfile.TemporaryDirectory() as scratch:
        if cold:
            env["HKAI_QA_INDEX_ROOT"] = scratch
        log = Path(scratch) / "server.log"
        url = f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        with log.open("w") as output:
            process = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=output, stderr=output)
        try:
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"app.py exited with {process.returncode}:\n{log.read_text()}")
                if time.perf_counter() - started > STARTUP_LIMIT_SECONDS:
                    raise SystemExit(f"app.py gave no answer within {STARTUP_LIMIT_SECONDS} s:\n{log.read_text()}")
                try:
                    if httpx.get(f"{url}/config", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            page_served = time.perf_counter() - started
            first = Client(url, verbose=False).predict(questions[0], 3, api_name="/ask")
            first_answer = time.perf_counter() - started
            assert first["hits"], first
            # One client per thread, as separate users: a gradio_client 2.7 Client shared by threads
            # can lose a request sent just as the server closes its session's stream.
            clients: queue.SimpleQueue = queue.SimpleQueue()
            for _ in range(threads):
                clients.put(Client(url, verbose=False))

            def ask(question: str) -> None:
                client = clients.get()
                try:
                    client.predict(question, 3, api_name="/ask")
                finally:
                    clients.put(client)

            latencies, wall = [], 0.0
            for _ in range(rounds):
                more, seconds = timed_batch(ask, questions, threads)
                latencies, wall = latencies + more, wall + seconds
            alone, alone_wall = timed_batch(ask, questions, 1)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return {
        "page": page_served,
        "first": first_answer,
        "latencies": latencies,
        "wall": wall,
        "alone": alone,
        "alone_wall": alone_wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="start with no index, so it is built first")
    parser.add_argument("--concurrency", type=int, nargs="*", default=[0], help="queue concurrencies (0: the default)")
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1, help="send the batch this many times (all latencies count)")
    args = parser.parse_args()
    questions = (QUESTIONS * (args.requests // len(QUESTIONS) + 1))[: args.requests]

    rows, starts = [], []
    for concurrency in args.concurrency:
        result = run_server(concurrency or None, args.cold, questions, args.threads, args.rounds)
        label = f"server /ask, queue concurrency {concurrency or 'default (2)'}"
        rows.append((label, result["latencies"], result["wall"]))
        rows.append(("  same server, one request at a time", result["alone"], result["alone_wall"]))
        starts.append((label, result["first"]))
        print(
            f"{label}: page served {result['page']:.1f} s, first answer {result['first']:.1f} s after start",
            flush=True,
        )

    qa = QA()
    qa.ask("warm-up", k=1)
    for label, threads in (
        (f"in-process QA.ask, {args.threads} threads", args.threads),
        ("in-process, one at a time", 1),
    ):
        latencies, wall = [], 0.0
        for _ in range(args.rounds):
            more, seconds = timed_batch(lambda q: qa.ask(q, k=3), questions, threads)
            latencies, wall = latencies + more, wall + seconds
        rows.append((label, latencies, wall))

    baseline = statistics.median(rows[-2][1])  # in-process QA.ask with the same threads
    text = table(
        f"Chat server: {len(questions)} questions at once from {args.threads} threads, x{args.rounds} rounds, k=3",
        ["", "p50 ms", "p95 ms", "mean ms", "wall s", "q/s", "p50 vs in-process"],
        [
            [
                label,
                f"{1000 * statistics.median(latencies):.1f}",
                f"{1000 * percentile(latencies, 95):.1f}",
                f"{1000 * statistics.fmean(latencies):.1f}",
                f"{wall:.2f}",
                f"{len(latencies) / wall:.1f}",
                f"{statistics.median(latencies) / baseline:.1f}×",
            ]
            for label, latencies, wall in rows
        ],
        [
            *(f"`python app.py` start to first /ask answer: {s:.1f} s ({label})." for label, s in starts),
            f"Baseline: the same questions through `QA.ask` in the benchmark's own process. {machine()}.",
        ],
    )
    report("server", text, {"rows": {label: lat for label, lat, _ in rows}, "first_answer_s": dict(starts)})


if __name__ == "__main__":
    main()
