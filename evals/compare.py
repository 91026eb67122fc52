"""Two eval runs side by side: each metric's change (flagged when it regressed past its
tolerance) and each question that changed (`tutor eval compare A B`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evals.records import EvalRun
from evals.runner import load_run

HIGHER_BETTER = {
    "faithfulness": 0.05,
    "citation_precision": 0.05,
    "citation_recall": 0.05,
    "context_recall": 0.05,
    "any_gold_retrieved": 0.05,
    "answer_f1": 0.03,
    "unanswerable_declined": 0.05,
    "answerable_answered": 0.05,
}
# Lower is better (seconds): a rise by this factor counts as a regression.
LOWER_BETTER = {"first_token_mean_s": 1.25, "total_mean_s": 1.25}


@dataclass
class Comparison:
    run_a: str
    run_b: str
    metrics: dict[str, dict[str, Any]]  # name -> {a, b, delta, regression}
    questions: list[dict[str, Any]]  # per common item: a/b faithfulness, abstained, flags
    regressions: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _metric_regressed(name: str, a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return False
    if name in HIGHER_BETTER:
        return b < a - HIGHER_BETTER[name]
    if name in LOWER_BETTER:
        return a > 0 and b > a * LOWER_BETTER[name]
    return False


def compare_runs(a: Path | EvalRun, b: Path | EvalRun) -> Comparison:
    """B against A: every aggregate metric and every common question; regressions flagged.

    A question regresses when its faithfulness drops by 0.25 or more, when an answerable
    question that A answered is declined in B, or when B answers an unanswerable question
    that A declined.
    """
    ra = a if isinstance(a, EvalRun) else load_run(a)
    rb = b if isinstance(b, EvalRun) else load_run(b)
    metrics: dict[str, dict[str, Any]] = {}
    regressions: list[str] = []
    for name in [*HIGHER_BETTER, *LOWER_BETTER, "answer_f1"]:
        if name in metrics:
            continue
        va, vb = ra.summary.get(name), rb.summary.get(name)
        delta = None if va is None or vb is None else vb - va
        bad = _metric_regressed(name, va, vb)
        metrics[name] = {"a": va, "b": vb, "delta": delta, "regression": bad}
        if bad:
            regressions.append(f"metric {name}: {va:.3f} -> {vb:.3f}")
    by_a = {r["id"]: r for r in ra.records}
    questions = []
    for rec in rb.records:
        old = by_a.get(rec["id"])
        if old is None:
            continue
        fa, fb = old["metrics"]["faithfulness"], rec["metrics"]["faithfulness"]
        flags = []
        if fa is not None and fb is not None and fb <= fa - 0.25:
            flags.append(f"faithfulness {fa:.2f} -> {fb:.2f}")
        if rec["answerable"] and not old["abstained"] and rec["abstained"]:
            flags.append("answerable question now declined")
        if not rec["answerable"] and old["abstained"] and not rec["abstained"]:
            flags.append("unanswerable question now answered")
        questions.append(
            {
                "id": rec["id"],
                "faithfulness_a": fa,
                "faithfulness_b": fb,
                "abstained_a": old["abstained"],
                "abstained_b": rec["abstained"],
                "answer_f1_a": old["metrics"].get("answer_f1"),
                "answer_f1_b": rec["metrics"].get("answer_f1"),
                "regressions": flags,
            }
        )
        regressions.extend(f"{rec['id']}: {f}" for f in flags)
    return Comparison(ra.run_id, rb.run_id, metrics, questions, regressions)
