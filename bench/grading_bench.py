"""Grader agreement with people, on answers it was not tuned on.

    python bench/grading_bench.py --set evals/grading-unseen.jsonl --split test \
        --semeval ../shared/benchmarks/grading/semeval2013-3way-train.jsonl --n 200

Prints one JSON object. `--split` picks half of a labelled set by question: the grader's
cut-offs were chosen on the odd-numbered self-check questions of evals/grading-unseen.jsonl
("tune"), so "test" (the even-numbered ones) is what to report. SemEval answers come only
from the questions the support model never saw (fold 0 by question,
agent.support_training.is_test_group): the numbers are for unseen questions. Each answer is
graded once per mode of `--graders` (default: points, the shipped grader, beside
deterministic, the support model alone; "combined" and "llm" add the model's holistic
verdict). Our sets report exact verdict
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
from agent.scoring import GradingParams  # noqa: E402
from agent.support_training import is_test_group, semeval_group  # noqa: E402
from core.errors import EvalDataError  # noqa: E402
from core.settings import load_settings  # noqa: E402
from evals.grading_sets import load_grading_set  # noqa: E402

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


def grade_all_modes(
    question: str,
    answer: str,
    rubric_or_reference: Any,
    graders: list[str],
    *,
    embedder: Any,
    chat: Any,
    settings: Any,
    params: GradingParams,
) -> dict[str, Any]:
    """One report per grader mode for one answer (the deterministic one calls no model)."""
    return {
        mode: grade_answer(
            question,
            answer,
            rubric_or_reference,
            embedder=embedder,
            chat_model=None if mode == "deterministic" else chat,
            settings=settings,
            params=params,
            mode=mode,
        )
        for mode in graders
    }


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
    graders = args.graders
    gold_v, gold_s = [], []
    pred: dict[str, tuple[list[str], list[int]]] = {name: ([], []) for name in graders}
    misses = []
    concise_correct_failed: Counter[str] = Counter()
    t0 = time.monotonic()
    rubrics: dict[str, Any] = {}
    for row in rows:
        qid = row["question_id"]
        rubric = rubrics.setdefault(
            qid, load_rubric(settings.grading.rubrics_dir, qid, settings.corpus.dir)
        )
        reports = grade_all_modes(
            rubric.question,
            row["answer"],
            rubric,
            graders,
            embedder=embedder,
            chat=chat,
            settings=settings,
            params=params,
        )
        _progress("ours", len(gold_v) + 1, len(rows), t0)
        gold_v.append(row["verdict"])
        gold_s.append(int(row["score"]))
        for name, report in reports.items():
            pred[name][0].append(report.verdict)
            pred[name][1].append(report.score)
            concise_correct = row.get("concise") and row["verdict"] == "correct"
            if concise_correct and report.verdict == "incorrect":
                concise_correct_failed[name] += 1
        first = reports[graders[0]]
        if first.verdict != row["verdict"]:
            misses.append(
                f"{row['id']} {qid} {row['kind']}/{row['language']}: "
                f"gold {row['verdict']} {row['score']}, got {first.verdict} {first.score} "
                f"({graders[0]})"
            )
    out: dict[str, Any] = {
        "set": str(args.set),
        "split": args.split,
        "n": len(rows),
        "seconds": round(time.monotonic() - t0, 1),
        "concise_correct_graded_incorrect": dict(concise_correct_failed),
        "by_language": {},
    }
    for lang in sorted({r["language"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["language"] == lang]
        out["by_language"][lang] = {"n": len(idx)} | {
            name: round(accuracy([gold_v[i] for i in idx], [pred[name][0][i] for i in idx]), 3)
            for name in graders
        }
    for name in graders:
        v, s = pred[name]
        out[name] = {
            "accuracy": round(accuracy(gold_v, v), 3),
            "macro_f1": round(macro_f1(gold_v, v), 3),
            "qwk": round(quadratic_kappa(gold_s, s), 3),
            "confusion": {
                f"{g} -> {p}": n for (g, p), n in sorted(Counter(zip(gold_v, v, strict=True)).items())
            },
        }
    out["misses"] = misses
    return out


def run_semeval(
    args: argparse.Namespace, settings: Any, embedder: Any, chat: Any
) -> dict[str, Any]:
    rows = [r for r in read_jsonl(args.semeval) if is_test_group(semeval_group(r["question_id"]))]
    sample = random.Random(args.seed).sample(rows, min(args.n, len(rows)))
    params = GradingParams()
    graders = args.graders
    gold: list[str] = []
    pred: dict[str, list[str]] = {name: [] for name in graders}
    t0 = time.monotonic()
    for row in sample:
        reports = grade_all_modes(
            row["question"],
            row["student_answer"],
            row["reference_answers"][0],
            graders,
            embedder=embedder,
            chat=chat,
            settings=settings,
            params=params,
        )
        gold.append(row["label"])
        _progress("semeval", len(gold), len(sample), t0)
        for name, report in reports.items():
            pred[name].append(SEMEVAL_MAP[report.verdict])
    out: dict[str, Any] = {
        "n": len(sample),
        "questions": len({r["question_id"] for r in sample}),
        "split": "questions the support model never saw (fold 0)",
        "seed": args.seed,
        "seconds": round(time.monotonic() - t0, 1),
        "gold_labels": dict(Counter(gold)),
    }
    for name in graders:
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
    ap.add_argument(
        "--graders",
        type=lambda v: [m for m in v.split(",") if m],
        default=["points", "deterministic"],
        help="comma-separated grader modes to compare (points, deterministic, combined, llm)",
    )
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
        if args.graders != ["deterministic"]:
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
