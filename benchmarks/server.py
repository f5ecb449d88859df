"""Server speed: start-up to first answer; Gradio `/ask` and the JSON API under load; MCP start to first answer.

    python benchmarks/server.py [--cold] [--concurrency N ...] [--requests 32] [--threads 8] [--rounds 1]
                                [--api-rounds 5] [--mcp-spawns 5]

Starts `python app.py` (what `make run` runs: the chat UI and the JSON API on one
port) on a free port, polls until it serves its page, asks `/ask` once with
`gradio_client` and prints the time from process start to that first answer.
Then, against that one server process:
- Gradio `/ask`: the same 32 article questions from 8 threads, then one at a time;
- the JSON API `POST /api/ask` (httpx): one client asking one at a time, then 32
  clients asking at once (`--api-rounds` times; every latency counts).
Beside them, the bare baseline measured in the same run: the same questions through
`QA.ask` in this process, from 8 threads and one at a time. Last, `hkai-qa mcp` is
spawned `--mcp-spawns` times by the MCP SDK's stdio client, with the index built,
timing spawn to the first `search` answer.
`--cold` gives the server an empty index folder, so the start-up includes building
the index. `--concurrency 0 1 4` repeats the server run with each Gradio queue
concurrency (HKAI_QA_UI_CONCURRENCY; 0 is the default); `--rounds 3` sends the
Gradio batch three times for steadier percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
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

from measure import QUESTIONS, REPO, environment, hkai_qa_command, machine, percentile, report, table, verdict

sys.path.insert(0, str(REPO))

from hkai_qa import QA  # noqa: E402

STARTUP_LIMIT_SECONDS = 600
API_CLIENTS = 32
TARGET_API_ALONE = 4.0  # single-client p50 vs in-process one at a time
TARGET_API_LOADED = 5.0  # 32-client p50 vs in-process from 8 threads
TARGET_MCP_SECONDS = 1.5


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


def api_alone(url: str, questions: list[str]) -> tuple[list[float], float]:
    """One JSON API client asking `questions` one after another, on one keep-alive connection."""
    import httpx

    with httpx.Client(base_url=url, timeout=60) as client:
        client.post("/api/ask", json={"question": "warm-up", "k": 1}).raise_for_status()

        def ask(question: str) -> None:
            client.post("/api/ask", json={"question": question, "k": 3}).raise_for_status()

        return timed_batch(ask, questions, 1)


def api_loaded(url: str, questions: list[str], clients: int, rounds: int) -> tuple[list[float], float]:
    """`clients` JSON API clients, each with its own connection, asking at the same moment, `rounds` times."""
    import httpx

    async def one(client: httpx.AsyncClient, question: str) -> float:
        started = time.perf_counter()
        response = await client.post("/api/ask", json={"question": question, "k": 3})
        response.raise_for_status()
        return time.perf_counter() - started

    async def main() -> tuple[list[float], float]:
        sessions = [httpx.AsyncClient(base_url=url, timeout=60) for _ in range(clients)]
        try:
            # Open every connection first: the rounds time questions, not TCP handshakes.
            await asyncio.gather(*(session.get("/api/health") for session in sessions))
            latencies, wall = [], 0.0
            for _ in range(rounds):
                started = time.perf_counter()
                latencies += await asyncio.gather(
                    *(one(session, questions[i % len(questions)]) for i, session in enumerate(sessions))
                )
                wall += time.perf_counter() - started
            return latencies, wall
        finally:
            await asyncio.gather(*(session.aclose() for session in sessions))

    return asyncio.run(main())


def mcp_first_answers(spawns: int, env: dict[str, str]) -> list[float]:
    """Seconds from spawning `hkai-qa mcp` (the index built) to its first `search` answer, per spawn."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    command = hkai_qa_command()
    parameters = StdioServerParameters(command=command[0], args=[*command[1:], "mcp"], env=env, cwd=REPO)

    async def one() -> float:
        started = time.perf_counter()
        async with Client(parameters) as client:
            result = await client.call_tool("search", {"query": QUESTIONS[2], "k": 3})
            seconds = time.perf_counter() - started
        assert not result.is_error and result.structured_content["passages"], result
        return seconds

    return [asyncio.run(one()) for _ in range(spawns)]


def run_server(
    concurrency: int | None, cold: bool, questions: list[str], threads: int, rounds: int, api_rounds: int
) -> dict:
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
            api_single, api_single_wall = api_alone(url, questions)
            api_many, api_many_wall = api_loaded(url, questions, API_CLIENTS, api_rounds)
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
        "api_single": api_single,
        "api_single_wall": api_single_wall,
        "api_many": api_many,
        "api_many_wall": api_many_wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="start with no index, so it is built first")
    parser.add_argument("--concurrency", type=int, nargs="*", default=[0], help="queue concurrencies (0: the default)")
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1, help="send the batch this many times (all latencies count)")
    parser.add_argument("--api-rounds", type=int, default=5, help=f"rounds of {API_CLIENTS} JSON API clients at once")
    parser.add_argument("--mcp-spawns", type=int, default=5, help="times to spawn hkai-qa mcp (0: skip)")
    args = parser.parse_args()
    questions = (QUESTIONS * (args.requests // len(QUESTIONS) + 1))[: args.requests]

    rows, starts = [], []
    for concurrency in args.concurrency:
        result = run_server(concurrency or None, args.cold, questions, args.threads, args.rounds, args.api_rounds)
        label = f"Gradio /ask, {args.threads} threads, queue concurrency {concurrency or 'default (2)'}"
        rows.append((label, result["latencies"], result["wall"]))
        rows.append(("  Gradio /ask, one request at a time", result["alone"], result["alone_wall"]))
        rows.append(("JSON API /api/ask, one client", result["api_single"], result["api_single_wall"]))
        rows.append((f"JSON API /api/ask, {API_CLIENTS} clients at once", result["api_many"], result["api_many_wall"]))
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

    loaded_baseline = statistics.median(rows[-2][1])  # in-process QA.ask from the same threads
    alone_baseline = statistics.median(rows[-1][1])  # in-process, one at a time
    mcp_seconds = []
    if args.mcp_spawns:
        mcp_env = {name: value for name, value in environment().items() if name.startswith(("HF_", "HKAI_QA_"))}
        mcp_seconds = mcp_first_answers(args.mcp_spawns, {**mcp_env, "PYTHONPATH": str(REPO)})

    def against(label: str, latencies: list[float]) -> str:
        one_at_a_time = "one at a time" in label or "one client" in label
        ratio = statistics.median(latencies) / (alone_baseline if one_at_a_time else loaded_baseline)
        base = "one at a time" if one_at_a_time else f"{args.threads} threads"
        return f"{ratio:.1f}× ({base})"

    targets = []
    for label, latencies, _ in rows:
        if label.startswith("JSON API"):
            single = "one client" in label
            ratio = statistics.median(latencies) / (alone_baseline if single else loaded_baseline)
            target = TARGET_API_ALONE if single else TARGET_API_LOADED
            targets.append(f"{label}: p50 {ratio:.1f}× in-process, {verdict(ratio, target)}.")
    if mcp_seconds:
        mcp_median = statistics.median(mcp_seconds)
        met = "met" if mcp_median <= TARGET_MCP_SECONDS else "MISSED"
        targets.append(
            f"`hkai-qa mcp` spawn to first `search` answer (stdio, index built): median {mcp_median:.2f} s "
            f"over {len(mcp_seconds)} spawns ({', '.join(f'{s:.2f}' for s in mcp_seconds)}), "
            f"{met} (≤ {TARGET_MCP_SECONDS} s)."
        )
    text = table(
        f"Server: {len(questions)} questions, k=3; Gradio from {args.threads} threads x{args.rounds}, "
        f"JSON API {API_CLIENTS} clients at once x{args.api_rounds}",
        ["", "p50 ms", "p95 ms", "mean ms", "wall s", "q/s", "p50 vs in-process"],
        [
            [
                label,
                f"{1000 * statistics.median(latencies):.1f}",
                f"{1000 * percentile(latencies, 95):.1f}",
                f"{1000 * statistics.fmean(latencies):.1f}",
                f"{wall:.2f}",
                f"{len(latencies) / wall:.1f}",
                against(label, latencies),
            ]
            for label, latencies, wall in rows
        ],
        [
            *(f"`python app.py` start to first /ask answer: {s:.1f} s ({label})." for label, s in starts),
            *targets,
            "Baseline: the same questions through `QA.ask` in the benchmark's own process, measured in the same run; "
            "each row is compared with the in-process row of the same concurrency. "
            f"{machine()}.",
        ],
    )
    report(
        "server",
        text,
        {
            "rows": {label: lat for label, lat, _ in rows},
            "first_answer_s": dict(starts),
            "mcp_first_answer_s": mcp_seconds,
        },
    )


if __name__ == "__main__":
    main()
