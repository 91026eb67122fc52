"""`tutor practice generate` on learner files nobody here tuned on: share kept, why drafts
were dropped, and the time per document on this machine.

    python bench/practice_generate_bench.py --data-dir SCRATCH FILE [FILE ...] [--n 5]

SCRATCH is a data dir of its own (the index of the shipped corpus is built there, or
reused; copy `<data dir>/cache` into it first to reuse cached vectors); the learner's
files are ingested there under the profile "bench". Prints one JSON object with every
document's `tutor practice generate --json` result and the totals. The kept questions
are what a reviewer labels (docs/grading.md records the labels).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.my_questions import generate_practice  # noqa: E402
from agent.runtime import Runtime  # noqa: E402
from core.settings import load_settings  # noqa: E402
from index.store import ensure_index  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--n", type=int, default=5)
    args = ap.parse_args(argv)

    settings = load_settings(
        overrides={"index.data_dir": args.data_dir, "llm.timeout_s": 600}, environ={}
    )
    rt = Runtime(settings)
    try:
        ensure_index(settings, rt.embedder)
        rt.tutor  # noqa: B018  (starts the model before the clock runs)
        docs = []
        for f in args.files:
            t = time.monotonic()
            result = generate_practice(rt, "bench", path=str(f), n=args.n)
            data = result.to_json()
            data["wall_seconds"] = round(time.monotonic() - t, 1)
            docs.append(data)
            print(f"{f.name}: kept {data['kept']}/{data['calls']}", file=sys.stderr)
    finally:
        rt.close()
    calls = sum(d["calls"] for d in docs)
    kept = sum(d["kept"] for d in docs)
    reasons: dict[str, int] = {}
    for d in docs:
        for r in d["rejected"]:
            key = r["reason"].split(":")[0].split(" (")[0]
            reasons[key] = reasons.get(key, 0) + 1
    print(
        json.dumps(
            {
                "n_per_doc": args.n,
                "documents": docs,
                "calls": calls,
                "kept": kept,
                "share_kept": round(kept / calls, 3) if calls else 0.0,
                "rejected_by_reason": reasons,
            },
            indent=1,
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
