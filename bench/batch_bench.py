"""Throughput of batch grading (`tutor grade --batch`): answers per second.

    python bench/batch_bench.py            # every answer of evals/grading.jsonl, twice
    python bench/batch_bench.py --repeat 5

Writes the labelled answers of evals/grading.jsonl (question id + answer) as a class CSV in
a temporary folder, grades it with `agent.batch_grading.grade_batch_file` (deterministic
grader, the e5 embedder loaded once, not recording) and prints one JSON object: rows,
the embedder's load time, the grading time and answers per second (reading, matching,
grading; writing the graded file is timed separately).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.batch_grading import grade_batch_file  # noqa: E402
from core.settings import load_settings  # noqa: E402
from evals.grading_sets import load_grading_set  # noqa: E402
from index.embedders import make_embedder  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "evals" / "grading.jsonl")
    ap.add_argument("--repeat", type=int, default=2, help="copies of the set in the file")
    args = ap.parse_args(argv)

    items = [r.model_dump() for r in load_grading_set(args.data)]
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(overrides={"index.data_dir": Path(tmp) / "data"})
        path = Path(tmp) / "class.csv"
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["learner", "question_id", "answer"])
            for k in range(args.repeat):
                for it in items:
                    w.writerow([f"learner{k}", it["question_id"], it["answer"]])
        t0 = time.monotonic()
        embedder = make_embedder(settings.embedder)
        embedder.embed_queries(["warm up"])
        load_s = time.monotonic() - t0
        t1 = time.monotonic()
        result = grade_batch_file(path, embedder=embedder, settings=settings)
        total_s = time.monotonic() - t1
        s = result.summary
    out = {
        "rows": s.rows,
        "graded": s.graded,
        "skipped": s.skipped,
        "cpus": os.cpu_count(),
        "embedder_load_s": round(load_s, 2),
        "grading_s": s.seconds,
        "answers_per_second": s.answers_per_second,
        "read_grade_write_s": round(total_s, 2),
    }
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
