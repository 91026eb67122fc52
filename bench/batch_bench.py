"""Throughput of batch grading (`tutor grade --batch`): answers per second.

    python bench/batch_bench.py            # every answer of evals/grading.jsonl, twice
    python bench/batch_bench.py --repeat 5 --graders deterministic

Writes the labelled answers of evals/grading.jsonl (question id + answer) as a class CSV in
a temporary folder, grades it with `agent.batch_grading.grade_batch_file` once per grader
mode (default: points, the shipped grader, and deterministic; the e5 embedder and the
model server started once, not recording) and prints one JSON object: rows, the
embedder's load time, and per mode the grading time and answers per second (reading,
matching, grading; writing the graded file is timed separately).
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
    ap.add_argument(
        "--graders",
        type=lambda v: [m for m in v.split(",") if m],
        default=["points", "deterministic"],
        help="comma-separated grader modes",
    )
    args = ap.parse_args(argv)

    items = [r.model_dump() for r in load_grading_set(args.data)]
    with tempfile.TemporaryDirectory() as tmp:
        # The default data dir: its model cache (nothing is recorded, outputs go to tmp).
        settings = load_settings(environ={})
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
        endpoint = chat = None
        per_mode: dict[str, dict[str, float]] = {}
        try:
            if args.graders != ["deterministic"]:
                from agent.llm.client import make_chat_model, resolve_endpoint

                endpoint = resolve_endpoint(settings.llm, settings.index.data_dir)
                chat = make_chat_model(settings.llm, endpoint)
            for mode in args.graders:
                t1 = time.monotonic()
                result = grade_batch_file(
                    path,
                    embedder=embedder,
                    settings=settings,
                    out=Path(tmp) / f"graded-{mode}.csv",
                    chat_model=None if mode == "deterministic" else chat,
                    mode=mode,
                )
                s = result.summary
                per_mode[mode] = {
                    "graded": s.graded,
                    "grading_s": s.seconds,
                    "answers_per_second": s.answers_per_second,
                    "read_grade_write_s": round(time.monotonic() - t1, 2),
                }
        finally:
            if endpoint is not None:
                endpoint.close()
    out = {
        "rows": s.rows,
        "skipped": s.skipped,
        "cpus": os.cpu_count(),
        "embedder_load_s": round(load_s, 2),
        **per_mode,
    }
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
