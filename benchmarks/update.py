"""Incremental updates on SciFact: a full build, then one document changed, 50 added, 50 deleted.

    python benchmarks/update.py

Each step runs `QA(corpus, index)` in its own process (as `hkai-qa build` does) on a
copy of the corpus in a temporary folder, and reports the build's own seconds (the
update report's), the process's wall time and peak memory, and the ratio of each
update to the full build measured in the same run (the baseline). Target: one
changed document ≤ 3% of the full build. Then a fresh full build of the final
corpus, and the top-10 passage ids of every SciFact test query compared between the
updated index and the fresh one (hybrid mode, the default).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from measure import PYTHON, REPO, SCIFACT, check, environment, machine, report, run_process, table, verdict

STEP = """
import json, sys
from hkai_qa import QA
qa = QA(sys.argv[1], index=sys.argv[2], progress=False, rebuild=sys.argv[3] == "full")
print(json.dumps(qa.last_update.to_dict() if qa.last_update else None))
"""

COMPARE = """
import json, sys
from hkai_qa import QA
questions = json.loads(open(sys.argv[3], encoding="utf-8").read())
updated, fresh = QA.load(sys.argv[1]), QA.load(sys.argv[2])
a, b = updated.ask_many(questions, k=10), fresh.ask_many(questions, k=10)
same = sum([h.passage_id for h in x.hits] == [h.passage_id for h in y.hits] for x, y in zip(a, b))
print(json.dumps({"questions": len(questions), "same_top10": same}))
"""

TARGET_ONE_CHANGED = 0.03


def test_questions() -> list[str]:
    ids = {line.split("\t")[0] for line in (SCIFACT / "qrels" / "test.tsv").read_text().splitlines()[1:]}
    records = [json.loads(line) for line in (SCIFACT / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r["text"] for r in records if str(r["_id"]) in ids]


def edit(corpus: Path, how: str) -> None:
    """Change the corpus file in place: "change" one document, "add" 50 new ones, "delete" 50."""
    lines = corpus.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    if how == "change":
        records[len(records) // 2]["text"] += " This sentence was added to measure an update."
    elif how == "add":
        for i in range(50):
            donor, other = records[i], records[-1 - i]
            first = other["text"].split(". ")[0]
            records.append({"_id": f"new-{i}", "title": other["title"], "text": f"{first}. {donor['text']}"})
    elif how == "delete":
        del records[100:150]
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def step(corpus: Path, index: Path, kind: str) -> dict:
    run = check(run_process([PYTHON, "-c", STEP, str(corpus), str(index), kind], environment()), f"{kind} build")
    update = json.loads(run.stdout.strip().splitlines()[-1])
    return {"wall_s": run.seconds, "peak_mb": run.peak_rss_mb, **update}


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    with tempfile.TemporaryDirectory(prefix="hkai-qa-update-") as folder:
        work = Path(folder)
        corpus = work / "scifact"
        corpus.mkdir()
        shutil.copy(SCIFACT / "corpus.jsonl", corpus / "corpus.jsonl")
        index = work / "index"
        # First a tiny build, so the model's one-time ONNX export is not timed as part of the full build.
        step(REPO / "hkai_qa" / "data" / "hong_kong_ai_ecosystem.txt", work / "warm-up", "full")
        steps = {"full build": step(corpus, index, "full")}
        for name, how in (("1 document changed", "change"), ("50 added", "add"), ("50 deleted", "delete")):
            edit(corpus / "corpus.jsonl", how)
            steps[name] = step(corpus, index, "update")
        steps["fresh build of the final corpus"] = step(corpus, work / "fresh", "full")
        questions = work / "questions.json"
        questions.write_text(json.dumps(test_questions()), encoding="utf-8")
        compared = check(
            run_process([PYTHON, "-c", COMPARE, str(index), str(work / "fresh"), str(questions)], environment()),
            "comparison",
        )
        same = json.loads(compared.stdout.strip().splitlines()[-1])
    full = steps["full build"]["seconds"]
    rows = []
    for name, figures in steps.items():
        ratio = figures["seconds"] / full
        target = verdict(ratio, TARGET_ONE_CHANGED) if name == "1 document changed" else ""
        rows.append(
            [
                name,
                f"{figures['added']:,} / {figures['updated']:,} / {figures['unchanged']:,} / {figures['removed']:,}",
                f"{figures['seconds']:.1f}",
                f"{figures['wall_s']:.1f}",
                f"{ratio:.3f} {target}".strip(),
                f"{figures['peak_mb']:.0f}",
            ]
        )
    notes = [
        f"Machine: {machine()}. Build seconds are the update report's (in-process); wall includes "
        "starting Python and loading the model.",
        f"Top-10 passage ids, updated index vs a fresh build, SciFact test queries (hybrid): "
        f"{same['same_top10']} of {same['questions']} identical.",
        "Reproduce: python benchmarks/update.py",
    ]
    text = table(
        "Incremental updates on SciFact",
        ["step", "passages added / updated / unchanged / removed", "build s", "wall s", "÷ full build", "peak MB"],
        rows,
        notes,
    )
    report("update", text, {"steps": steps, "comparison": same})


if __name__ == "__main__":
    sys.exit(main())
