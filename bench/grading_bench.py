"""Grader agreement with people, on answers it was not tuned on.

    python bench/grading_bench.py --no-llm --set evals/grading-unseen.jsonl --split test \
        --semeval ../shared/benchmarks/grading/semeval2013-3way-train.jsonl --n 600

Prints one JSON object. `--split` picks half of a labelled set by question: the grader's
cut-offs were chosen on the odd-numbered self-check questions of evals/grading-unseen.jsonl
("tune"), so "test" (the even-numbered ones) is what to report. SemEval answers come only
from the questions the support model never saw (fold 0 by question,
agent.support_training.is_test_group): the numbers are for unseen questions. Each answer is
graded once with the model; the three methods (deterministic coverage, the model's verdict
alone, and the two combined) are computed from that one call. Our sets report exact verdict
accuracy, macro-F1, quadratic-weighted kappa on the 0-5 score and concise correct answers
graded incorrect. SemEval answers are graded against their first reference answer
(`--reference` mode) and our verdicts are mapped to its 3-way labels: correct -> correct,
incorrect -> contradictory, partially correct and off topic -> incorrect (SemEval's
"incorrect" covers partial and irrelevant answers).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.grading import grade_answer  # noqa: E402
from agent.rubrics import load_rubric  # noqa: E402
from agent.scoring import GradingParams, combine_scores  # noqa: E402
from agent.support_training import is_test_group, semeval_group  # noqa: E402
from core.errors import EvalDataError  # noqa: E402
from core.settings import load_settings  # noqa: E402
from evals.grading_sets import load_grading_set  # noqa: E402

METHODS = ("deterministic", "llm", "combined")
SEMEVAL_MAP = {
    "correct": "correct",
    "incorrect": "contradictory",
    "partially_correct": "incorrect",
    "off_topic": "incorrect",
}


def accuracy(gold: list[str], pred: list[str]) -> float:
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold) if gold else 0.0


def macro_f1(gold: list[str], pred: list[str]) -> float:
    """Mean F1 over the labels present in the gold set."""
    f1s = []
    for label in sorted(set(gold)):
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(p == label and g != label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / len(f1s) if f1s else 0.0


def quadratic_kappa(gold: list[int], pred: list[int], k: int = 6) -> float:
    """Cohen's kappa with quadratic weights over scores 0..k-1.

    >>> quadratic_kappa([0, 1, 2, 5], [0, 1, 2, 5])
    1.0
    """
    n = len(gold)
    if n == 0:
        return 0.0
    obs = [[0.0] * k for _ in range(k)]
    for g, p in zip(gold, pred, strict=True):
        obs[g][p] += 1
    hg, hp = Counter(gold), Counter(pred)
    num = den = 0.0
    for i in range(k):
        for j in range(k):
            w = (i - j) ** 2 / (k - 1) ** 2
            num += w * obs[i][j]
            den += w * hg[i] * hp[j] / n
    return 1.0 - num / den if den else 1.0


def _progress(stage: str, done: int, total: int, t0: float) -> None:
    sys.stderr.write(f"{stage}: {done}/{total} ({time.monotonic() - t0:.0f}s)\n")
    sys.stderr.flush()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise EvalDataError(f"{path}:{i}: not valid JSON ({exc})") from exc
    return rows


def method_results(report: Any, params: GradingParams) -> dict[str, tuple[str, int]]:
    """(verdict, score) of each method from one report (guards give the same to all)."""
    m = report.method
    if "guard" in m:
        return {name: (report.verdict, report.score) for name in METHODS}
    llm = (m["llm_verdict"], m["llm_score"]) if "llm_verdict" in m else None
    out = {}
    for name in METHODS:
        score, verdict = combine_scores(
            m["deterministic_score"],
            llm,
            m["misconceptions"],
            m["off_topic_gate"],
            m["relevance"],
            params,
            name,
        )
        out[name] = (verdict, score)
    return out


def in_split(question_id: str, split: str) -> bool:
    """Odd-numbered self-check questions tune, even-numbered ones test.

    >>> in_split("SQ03", "tune"), in_split("SQ04", "test"), in_split("SQ04", "all")
    (True, True, True)
    """
    if split == "all":
        return True
    odd = int(question_id[2:]) % 2 == 1
    return odd if split == "tune" else not odd


def run_ours(args: argparse.Namespace, settings: Any, embedder: Any, chat: Any) -> dict[str, Any]:
    labelled = [r.model_dump() for r in load_grading_set(args.set)]
    rows = [r for r in labelled if in_split(r["question_id"], args.split)]
    if args.limit:
        rows = rows[: args.limit]
    params = GradingParams()
    gold_v, gold_s = [], []
    pred: dict[str, tuple[list[str], list[int]]] = {name: ([], []) for name in METHODS}
    llm_status: Counter[str] = Counter()
    misses = []
    concise_correct_failed = 0
    t0 = time.monotonic()
    rubrics: dict[str, Any] = {}
    for row in rows:
        qid = row["question_id"]
        rubric = rubrics.setdefault(
            qid, load_rubric(settings.grading.rubrics_dir, qid, settings.corpus.dir)
        )
        report = grade_answer(
            rubric.question,
            row["answer"],
            rubric,
            embedder=embedder,
            chat_model=chat,
            settings=settings,
            params=params,
        )
        llm_status[str(report.method.get("llm", "guard"))] += 1
        _progress("ours", len(gold_v) + 1, len(rows), t0)
        gold_v.append(row["verdict"])
        gold_s.append(int(row["score"]))
        for name, (v, s) in method_results(report, params).items():
            pred[name][0].append(v)
            pred[name][1].append(s)
        if row.get("concise") and row["verdict"] == "correct" and report.verdict == "incorrect":
            concise_correct_failed += 1
        if report.verdict != row["verdict"]:
            misses.append(
                f"{row['id']} {qid} {row['kind']}/{row['language']}: "
                f"gold {row['verdict']} {row['score']}, got {report.verdict} "
                f"{report.score} (det {report.method.get('deterministic_score')}, "
                f"llm {report.method.get('llm_score')})"
            )
    out: dict[str, Any] = {
        "set": str(args.set),
        "split": args.split,
        "n": len(rows),
        "seconds": round(time.monotonic() - t0, 1),
        "concise_correct_graded_incorrect": concise_correct_failed,
        "by_language": {},
    }
    for lang in sorted({r["language"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["language"] == lang]
        det = pred["deterministic"][0]
        out["by_language"][lang] = {
            "n": len(idx),
            "accuracy": round(accuracy([gold_v[i] for i in idx], [det[i] for i in idx]), 3),
        }
    for name in METHODS:
        v, s = pred[name]
        out[name] = {
            "accuracy": round(accuracy(gold_v, v), 3),
            "macro_f1": round(macro_f1(gold_v, v), 3),
            "qwk": round(quadratic_kappa(gold_s, s), 3),
        }
    out["llm_calls"] = dict(llm_status)
    out["combined_misses"] = misses
    return out


def run_semeval(
    args: argparse.Namespace, settings: Any, embedder: Any, chat: Any
) -> dict[str, Any]:
    rows = [r for r in read_jsonl(args.semeval) if is_test_group(semeval_group(r["question_id"]))]
    sample = random.Random(args.seed).sample(rows, min(args.n, len(rows)))
    params = GradingParams()
    gold: list[str] = []
    pred: dict[str, list[str]] = {name: [] for name in METHODS}
    t0 = time.monotonic()
    for row in sample:
        report = grade_answer(
            row["question"],
            row["student_answer"],
            row["reference_answers"][0],
            embedder=embedder,
            chat_model=chat,
            settings=settings,
            params=params,
        )
        gold.append(row["label"])
        _progress("semeval", len(gold), len(sample), t0)
        for name, (v, _) in method_results(report, params).items():
            pred[name].append(SEMEVAL_MAP[v])
    out: dict[str, Any] = {
        "n": len(sample),
        "questions": len({r["question_id"] for r in sample}),
        "split": "questions the support model never saw (fold 0)",
        "seed": args.seed,
        "seconds": round(time.monotonic() - t0, 1),
        "gold_labels": dict(Counter(gold)),
    }
    for name in METHODS:
        two_way_gold = [g == "correct" for g in gold]
        two_way_pred = [p == "correct" for p in pred[name]]
        out[name] = {
            "accuracy": round(accuracy(gold, pred[name]), 3),
            "macro_f1": round(macro_f1(gold, pred[name]), 3),
            "accuracy_2way": round(accuracy(two_way_gold, two_way_pred), 3),  # type: ignore[arg-type]
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", type=Path, default=ROOT / "evals" / "grading-unseen.jsonl")
    ap.add_argument(
        "--split", choices=("tune", "test", "all"), default="test", help="half of --set, by question"
    )
    ap.add_argument("--semeval", type=Path, help="semeval2013-3way-train.jsonl (skipped if unset)")
    ap.add_argument("--n", type=int, default=60, help="SemEval sample size")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--limit", type=int, default=0, help="grade only the first N of our set")
    ap.add_argument("--skip-ours", action="store_true")
    ap.add_argument("--no-llm", action="store_true", help="deterministic grader only")
    ap.add_argument("--llm-url", help="OpenAI-compatible judge endpoint; unset: the local model")
    ap.add_argument("--gguf", type=Path, help="GGUF file for the embedded server")
    ap.add_argument("--data-dir", type=Path, help="data dir (server discovery, model cache)")
    args = ap.parse_args()

    from agent.llm.client import make_chat_model, resolve_endpoint
    from index.embedders import make_embedder

    settings = load_settings(
        overrides={
            "index.data_dir": args.data_dir,
            "llm.base_url": args.llm_url,
            "llm.gguf_path": args.gguf,
            "llm.max_tokens": 40,
        },
        environ={},
    )
    embedder = make_embedder(settings.embedder)
    endpoint = None
    chat = None
    result: dict[str, Any] = {"command": " ".join(sys.argv)}
    t0 = time.monotonic()
    try:
        if not args.no_llm:
            endpoint = resolve_endpoint(settings.llm, settings.index.data_dir)
            chat = make_chat_model(settings.llm, endpoint)
            result["llm"] = {
                "base_url": endpoint.base_url,
                "model": endpoint.model,
                "startup_s": round(time.monotonic() - t0, 1),
            }
        if not args.skip_ours:
            result["ours"] = run_ours(args, settings, embedder, chat)
        if args.semeval:
            result["semeval"] = run_semeval(args, settings, embedder, chat)
    finally:
        if endpoint is not None:
            endpoint.close()
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
