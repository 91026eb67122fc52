"""How well a free-text question finds its self-check question (evals/question_match.jsonl).

    python bench/question_match_bench.py            # tune on the odd ids, report the even ones
    python bench/question_match_bench.py --threshold 0.86   # score a given threshold

Prints one JSON object: the threshold tuned on the tuning half, its score there, and its
score on the held-out half (never tuned on); with --threshold, that threshold's score on
both halves. Uses the real e5 embedder and the shipped question bank.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.question_match import QuestionMatcher  # noqa: E402
from core.settings import load_settings  # noqa: E402
from corpus.questions import load_question_bank  # noqa: E402
from evals.question_match import (  # noqa: E402
    load_question_match_set,
    score,
    split_of,
    tune_threshold,
)
from index.embedders import make_embedder  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "evals" / "question_match.jsonl")
    ap.add_argument("--threshold", type=float, help="score this threshold instead of tuning")
    args = ap.parse_args(argv)

    settings = load_settings()
    cases = load_question_match_set(args.data)
    matcher = QuestionMatcher(
        load_question_bank(settings.corpus.dir), make_embedder(settings.embedder), 1.0
    )
    tops = [r[0] for r in matcher.ranked([c.query for c in cases])]
    halves = {
        name: [(c, t) for c, t in zip(cases, tops, strict=True) if split_of(c) == name]
        for name in ("tune", "heldout")
    }

    def on(name: str, threshold: float) -> dict:
        cs, ts = zip(*halves[name], strict=True)
        return asdict(score(list(cs), list(ts), threshold))

    if args.threshold is None:
        cs, ts = zip(*halves["tune"], strict=True)
        threshold = tune_threshold(list(cs), list(ts))
    else:
        threshold = args.threshold
    out = {
        "threshold": threshold,
        "tuned": args.threshold is None,
        "tune": on("tune", threshold),
        "heldout": on("heldout", threshold),
        "current_setting": settings.grading.question_match,
        "similarities": {
            c.id: {"top": t[0], "sim": round(t[1], 4), "gold": c.question_id}
            for c, t in zip(cases, tops, strict=True)
        },
    }
    json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
