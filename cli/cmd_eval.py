"""`tutor eval [run]`, `tutor eval judge|compare|history|retrieval`.

`tutor eval` with no action runs the faithfulness eval (the same as `tutor eval run`); the
options of the run are accepted in both places.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agent.runtime import Runtime

DEFAULT_VALIDATION = Path(__file__).resolve().parent.parent / "evals" / "judge-validation.json"


def _judge_overrides(args: argparse.Namespace) -> dict[str, Any]:
    url, model = getattr(args, "judge_url", None), getattr(args, "judge_model", None)
    return {
        "evals.judge_base_url": url,
        "evals.judge_model": model,
        # Naming a judge endpoint or model asks for the LLM judge: the support model
        # would otherwise judge and the options would be silently ignored.
        "evals.judge": "llm" if url or model else None,
    }


def _add_judge_options(p: argparse.ArgumentParser, suppress: bool = False) -> None:
    # On the sub-action parser the defaults are SUPPRESS so they do not overwrite what was
    # given before the action (`tutor eval --json run` and `tutor eval run --json` both work).
    default = argparse.SUPPRESS if suppress else None
    p.add_argument("--judge-url", default=default, help="OpenAI-compatible endpoint of the judge")
    p.add_argument("--judge-model", default=default, help="model name at --judge-url")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS if suppress else False)


def _add_run_options(p: argparse.ArgumentParser, suppress: bool = False) -> None:
    default = argparse.SUPPRESS if suppress else None
    p.add_argument("--subset", type=int, default=default, help="only N items, spread over the set")
    p.add_argument("--eval-set", type=Path, default=default, help="eval set (default: settings)")
    p.add_argument("--run-dir", type=Path, default=default, help="resume this run folder")
    _add_judge_options(p, suppress)


def register(sub: Any, handlers: dict[str, Any]) -> None:
    from cli.output import Handler

    def add(name: str, handler: Handler, parser: argparse.ArgumentParser) -> None:
        parser.set_defaults(handler_key=name)
        handlers[name] = handler

    p_eval = sub.add_parser(
        "eval", help="faithfulness eval, judge validation, run comparison and history"
    )
    _add_run_options(p_eval)
    p_eval.set_defaults(settings_overrides=_judge_overrides)
    add("eval run", cmd_run, p_eval)
    esub = p_eval.add_subparsers(dest="eval_command", metavar="ACTION")

    p = esub.add_parser("run", help="run the faithfulness eval (the default action)")
    _add_run_options(p, suppress=True)
    add("eval run", cmd_run, p)

    p = esub.add_parser("judge", help="measure the judge against human labels (WiCE/BEGIN)")
    p.add_argument("--data", type=Path, required=True, action="append", help="labelled JSONL")
    p.add_argument("--limit", type=int, default=None, help="items per file (fixed sample)")
    p.add_argument(
        "--write",
        type=Path,
        nargs="?",
        const=DEFAULT_VALIDATION,
        default=None,
        help=f"record the result for reports (default file: {DEFAULT_VALIDATION.name})",
    )
    p.add_argument(
        "--unseen",
        action="store_true",
        help="only the items the support model never saw (its test split: WiCE claims, BEGIN "
        "snippets), so the judges compare on honest ground",
    )
    p.add_argument(
        "--judges",
        choices=("support", "llm", "both"),
        default="both",
        help="which judge to measure (both: side by side on the same items)",
    )
    _add_judge_options(p, suppress=True)
    add("eval judge", cmd_judge, p)

    p = esub.add_parser("compare", help="compare two runs, flag regressions")
    p.add_argument("run_a", type=Path, help="the baseline run folder")
    p.add_argument("run_b", type=Path, help="the new run folder")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    add("eval compare", cmd_compare, p)

    p = esub.add_parser("history", help="recorded runs, with a trend plot")
    p.add_argument("--svg", type=Path, help="write the trend plot (SVG) here")
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    add("eval history", cmd_history, p)

    p = esub.add_parser("retrieval", help="recall@5 and MRR of dense, BM25 and hybrid retrieval")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    add("eval retrieval", cmd_retrieval, p)


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def cmd_run(args: argparse.Namespace, rt: Runtime) -> int:
    from cli.output import StderrProgress, print_json
    from evals.report import validation_line
    from evals.runner import JUDGE_VALIDATION, load_validation, run_eval

    eval_set = getattr(args, "eval_set", None) or rt.settings.evals.eval_set
    try:
        run = run_eval(
            rt,
            eval_set,
            subset=getattr(args, "subset", None),
            run_dir=getattr(args, "run_dir", None),
            progress=StderrProgress(enabled=True),
        )
    finally:
        rt.close()
    s = run.summary
    if args.json:
        print_json({"run_dir": str(run.run_dir), "summary": s})
        return 0
    judge_line = s.get("judge_validation") or validation_line(load_validation(JUDGE_VALIDATION))
    print(f"run: {run.run_dir} ({s['n_items']} items, judged by the {s.get('judge', 'LLM')})")
    for key in (
        "faithfulness",
        "citation_precision",
        "citation_recall",
        "context_recall",
        "answer_f1",
        "answerable_answered",
        "unanswerable_declined",
        "first_token_mean_s",
        "total_mean_s",
    ):
        print(f"  {key:24s} {_fmt(s.get(key))}")
    print(f"  ({judge_line})")
    print(f"report: {run.run_dir / 'report.html'}")
    return 0


def _judge_result(reports: list[Any], judge: Any, unseen: bool = False) -> dict[str, Any]:
    from agent.support import training_sets

    trained = training_sets(judge.support_model) if hasattr(judge, "support_model") else set()
    # One number per judge: the mean over the files, each file weighted equally.
    balanced = sum(r.balanced_accuracy for r in reports) / len(reports)
    return {
        "balanced_accuracy": round(balanced, 4),
        "n": sum(r.n for r in reports),
        "judge": judge.describe(),
        "datasets": {
            Path(r.data).stem: {
                **{k: v for k, v in r.to_json().items() if k != "items"},
                # The support model's final weights saw these rows: its honest number is
                # the claim-held-out one in docs/support-model.md.
                "in_training_data": Path(r.data).name in trained and not unseen,
            }
            for r in reports
        },
    }


def cmd_judge(args: argparse.Namespace, rt: Runtime) -> int:
    from cli.output import StderrProgress, print_json
    from core.errors import ConfigError
    from evals.judge_benchmark import evaluate_labelled
    from evals.runner import make_judge

    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {args.limit}")
    kinds = ("support", "llm") if args.judges == "both" else (args.judges,)
    results: dict[str, dict[str, Any]] = {}
    try:
        for kind in kinds:
            judge = make_judge(rt, kind=kind)
            try:
                reports = [
                    evaluate_labelled(
                        path,
                        judge,
                        limit=args.limit,
                        progress=StderrProgress(True),
                        unseen_only=args.unseen,
                    )
                    for path in args.data
                ]
            finally:
                judge.close()
            results[kind] = _judge_result(reports, judge, args.unseen)
    finally:
        rt.close()
    result = results[kinds[0]] if len(kinds) == 1 else {"judges": results}
    if args.write:
        # The file records the LLM judge's agreement for reports (evals.runner reads it);
        # the support model carries its own, measured on claims it never saw.
        if "llm" not in results:
            raise ConfigError(
                "--write records the LLM judge's agreement: use --judges llm or both "
                "(the support model's is in agent/support_model.json)"
            )
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(
            json.dumps(results["llm"], indent=2, ensure_ascii=False) + "\n", "utf-8"
        )
    if getattr(args, "json", False):
        print_json(result)
        return 0
    for kind, res in results.items():
        for name, d in res["datasets"].items():
            c = d["confusion"]
            seen = " [in the support model's training data]" if d["in_training_data"] else ""
            print(
                f"{kind:8s} {name}: balanced_accuracy {d['balanced_accuracy']:.3f} "
                f"(n={d['n']}; tp {c['tp']} fp {c['fp']} tn {c['tn']} fn {c['fn']}; "
                f"{d['calls']} model calls, {d['cache_hits']} cached, {d['seconds']:.0f} s){seen}"
            )
        print(f"{kind:8s} balanced_accuracy {res['balanced_accuracy']:.3f}")
    return 0


def cmd_compare(args: argparse.Namespace, rt: Runtime) -> int:
    from cli.output import print_json
    from evals.compare import compare_runs

    cmp = compare_runs(args.run_a, args.run_b)
    if getattr(args, "json", False):
        print_json(cmp.to_json())
        return 1 if cmp.regressions else 0
    print(f"{'metric':24s} {'A':>8s} {'B':>8s} {'delta':>8s}")
    for name, m in cmp.metrics.items():
        flag = "  REGRESSION" if m["regression"] else ""
        print(f"{name:24s} {_fmt(m['a']):>8s} {_fmt(m['b']):>8s} {_fmt(m['delta']):>8s}{flag}")
    for q in cmp.questions:
        if q["regressions"]:
            print(f"  {q['id']}: {'; '.join(q['regressions'])}")
    print(f"{len(cmp.regressions)} regression(s)")
    return 1 if cmp.regressions else 0


def cmd_history(args: argparse.Namespace, rt: Runtime) -> int:
    from cli.output import print_json
    from evals.history import history
    from evals.report import history_svg

    runs = history(rt.settings)
    if args.svg:
        args.svg.write_text(history_svg(runs), encoding="utf-8")
    if getattr(args, "json", False):
        print_json(runs)
        return 0
    if not runs:
        print("no eval runs recorded yet: run `tutor eval`")
        return 0
    print(f"{'run':28s} {'items':>5s} {'faith':>6s} {'citR':>6s} {'ctxR':>6s} {'F1':>6s}  commit")
    for r in runs:
        s = r["summary"]
        print(
            f"{r['run_id']:28s} {r['n_items']:5d} {_fmt(s.get('faithfulness')):>6s} "
            f"{_fmt(s.get('citation_recall')):>6s} {_fmt(s.get('context_recall')):>6s} "
            f"{_fmt(s.get('answer_f1')):>6s}  {(r['git_commit'] or '-')[:12]}"
        )
    return 0


def cmd_retrieval(args: argparse.Namespace, rt: Runtime) -> int:
    from cli.output import print_json
    from core.errors import ConfigError
    from corpus.documents import load_corpus
    from evals.retrieval import (
        evaluate,
        format_report,
        gold_spans,
        load_retrieval_set,
        ranked_spans,
    )

    if args.k < 1:
        raise ConfigError(f"--k must be at least 1, got {args.k}")
    cases = load_retrieval_set(rt.settings.evals.retrieval_set)
    doc_texts = {d.name: d.text for d in load_corpus(rt.settings.corpus.dir)}
    results: dict[str, Any] = {}
    for mode in ("dense", "bm25", "hybrid"):

        def run_fn(case: Any, mode: str = mode) -> list[tuple[str, int, int]]:
            hits = rt.retriever.search(case.query, k=args.k, mode=mode)  # type: ignore[arg-type]
            # One ranked slot per hit; it counts when the passage or any of its
            # versions (the same passage in another language) overlaps gold.
            return ranked_spans(
                [[(c.source, c.start, c.end) for c in (h.chunk, *h.versions)] for h in hits],
                gold_spans(case, doc_texts),
            )

        results[mode] = evaluate(cases, run_fn, doc_texts, k=args.k)
    if getattr(args, "json", False):
        print_json(
            {
                mode: {
                    "k": r.k,
                    "n_cases": r.n_cases,
                    f"recall@{r.k}": r.recall_at_k,
                    "mrr": r.mrr,
                    "misses": r.misses,
                    "by_tag": {t: vars(s) for t, s in r.by_tag.items()},
                }
                for mode, r in results.items()
            }
        )
        return 0
    for mode, r in results.items():
        print(f"{mode:7s} recall@{r.k} {r.recall_at_k:.3f}  MRR@{r.k} {r.mrr:.3f}  (n={r.n_cases})")
    if sys.stdout.isatty():
        print()
        print(format_report(results["hybrid"]))
    return 0
