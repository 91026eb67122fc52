"""Run the faithfulness eval: ask the tutor every item, judge the answers, write a run folder.

A run folder (under settings.eval_runs_dir) holds:
- config.json: settings, models, git commit, eval set version;
- records.jsonl: one line per item, appended as soon as the item is done, so an
  interrupted run resumes where it stopped (`run_eval(..., run_dir=<that folder>)`);
- summary.json: the aggregate scores;
- report.html: a self-contained report (inline SVG, no external JS/CSS; `evals.report`).

Finished runs are also recorded in `<data_dir>/eval-history.sqlite` (`evals.history`) for
trend plots; `evals.compare.compare_runs` diffs two run folders per metric and per question.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import EvalDataError
from core.jsonl import read_jsonl
from core.paths import REPO_ROOT
from core.settings import Settings
from evals.history import record_history
from evals.item_scoring import aggregate, score_item
from evals.judge import Judge, JudgeConfig, SupportJudge
from evals.records import EvalItem, EvalRun
from evals.report import render_report, validation_line
from evals.retrieval import gold_passages, gold_spans
from evals.schemas import EvalRecord, FaithfulnessLine

if TYPE_CHECKING:
    from agent.runtime import Runtime

Progress = Callable[[str, int, int], None]

RECORDS = "records.jsonl"
CONFIG = "config.json"
SUMMARY = "summary.json"
REPORT = "report.html"
JUDGE_VALIDATION = REPO_ROOT / "evals" / "judge-validation.json"

# Metrics where higher is better, and the drop that counts as a regression.
# --------------------------------------------------------------------------- the eval set

SCHEMA = "evals/FAITHFULNESS.md"


def load_eval_set(path: Path) -> list[EvalItem]:
    """Read the faithfulness eval set (JSONL, schema `evals.schemas.FaithfulnessLine`).
    EvalDataError names the line and the field."""
    rows = read_jsonl(
        path,
        FaithfulnessLine,
        what="the eval set",
        schema=SCHEMA,
        error=EvalDataError,
        id_of=lambda row: row.id,
        empty="no items - the eval set is empty",
    )
    return [
        EvalItem(
            id=r.id,
            version=r.version,
            question=r.question,
            language=r.language,
            history=tuple((t.question, t.answer) for t in r.history),
            answerable=r.answerable,
            reference_answer=r.reference_answer,
            gold=gold_passages(r.gold),
            tags=r.tags,
            line=line,
        )
        for line, r in rows
    ]


def eval_set_version(path: Path, items: Sequence[EvalItem]) -> str:
    """The items' version(s) plus a short hash of the file, e.g. "1+3f2a9c1d"."""
    versions = sorted({i.version for i in items})
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:8]
    return f"{'/'.join(versions)}+{digest}"


def pick_subset(items: Sequence[EvalItem], n: int | None) -> list[EvalItem]:
    """n items spread evenly over the file (so a subset mixes sections, languages, kinds)."""
    if n is None or n >= len(items):
        return list(items)
    if n < 1:
        raise EvalDataError(f"subset must be at least 1, got {n}")
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


# --------------------------------------------------------------------------- the run


def git_commit(repo: Path = REPO_ROOT) -> str | None:
    """HEAD's commit, with "+dirty" when the work tree has changes; None without git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def judge_model_id(runtime: Runtime) -> str:
    """What identifies the judge's model for the cache: endpoint and model name/file."""
    s = runtime.settings
    if runtime.fake_responses is not None:
        return "fake"
    if s.evals.judge_base_url:
        return f"{s.evals.judge_base_url}|{s.evals.judge_model or s.llm.model}"
    if s.llm.base_url:
        return f"{s.llm.base_url}|{s.llm.model}"
    from agent.llm.model_files import MODEL_SHA256

    return f"embedded|{s.llm.gguf_path or 'bundled:' + MODEL_SHA256[:12]}"


def make_judge(
    runtime: Runtime, config: JudgeConfig | None = None, kind: str | None = None
) -> Judge | SupportJudge:
    """The judge a run uses (`kind`, else settings.evals.judge): the support model, or
    runtime.judge_model cached under settings.cache_dir/judge."""
    kind = kind or runtime.settings.evals.judge
    if kind == "support":
        return SupportJudge(runtime.embedder, runtime.support_model)
    config = config or JudgeConfig()
    embed = runtime.embedder.embed_queries if config.evidence in ("dense", "hybrid") else None
    return Judge(
        runtime.judge_model(max_tokens=160),
        runtime.settings.cache_dir / "judge",
        model_id=judge_model_id(runtime),
        config=config,
        embed=embed,
    )


def read_records(run_dir: Path) -> list[dict[str, Any]]:
    """The records of a run, each checked by `evals.schemas.EvalRecord`; a torn last line
    (the run was killed mid-write) is dropped, a broken line elsewhere is an EvalDataError
    naming it (it was skipped before, and its item silently asked again on resume)."""
    path = Path(run_dir) / RECORDS
    if not path.is_file():
        return []
    rows = read_jsonl(
        path, EvalRecord, what="the run's records", error=EvalDataError, torn_tail=True
    )
    return [record.as_dict() for _, record in rows]


def _new_run_dir(settings: Settings, version: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = settings.eval_runs_dir / f"{stamp}-v{version.split('+')[0].replace('/', '_')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _settings_json(settings: Settings) -> dict[str, Any]:
    data = settings.model_dump(mode="json")
    data.get("llm", {}).pop("api_key", None)  # never write a key to disk
    return data


def run_eval(
    runtime: Runtime,
    eval_set_path: Path,
    subset: int | None = None,
    run_dir: Path | None = None,
    progress: Progress | None = None,
    judge: Judge | SupportJudge | None = None,
    validation_path: Path | None = None,
) -> EvalRun:
    """Ask, judge and score every item; write the run folder; record it in the history.

    Passing the `run_dir` of an interrupted run resumes it: items already in its
    records.jsonl are not asked again. Gold substrings are all resolved before the first
    question, so a broken eval set fails at once.
    """
    from corpus.documents import load_corpus

    settings = runtime.settings
    eval_set_path = Path(eval_set_path)
    all_items = load_eval_set(eval_set_path)
    version = eval_set_version(eval_set_path, all_items)
    items = pick_subset(all_items, subset)
    doc_texts = {d.name: d.text for d in load_corpus(settings.corpus.dir)}
    spans = {item.id: gold_spans(item.as_case(), doc_texts) if item.gold else [] for item in items}

    resuming = run_dir is not None and (Path(run_dir) / CONFIG).is_file()
    run_dir = Path(run_dir) if run_dir is not None else _new_run_dir(settings, version)
    run_dir.mkdir(parents=True, exist_ok=True)
    judge = judge or make_judge(runtime)
    if resuming:
        config = json.loads((run_dir / CONFIG).read_text(encoding="utf-8"))
        if config.get("eval_set_version") != version:
            raise EvalDataError(
                f"{run_dir} was started with eval set {config.get('eval_set_version')}, "
                f"now {version}: start a new run instead of resuming"
            )
        started_by = (config.get("judge") or {}).get("model_id")
        if started_by != judge.describe()["model_id"]:
            raise EvalDataError(
                f"{run_dir} was judged by {started_by}, now by {judge.describe()['model_id']}: "
                "one run has one judge, start a new run instead of resuming"
            )
    else:
        endpoint = runtime.endpoint
        config = {
            "run_id": run_dir.name,
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "eval_set": str(eval_set_path),
            "eval_set_version": version,
            "subset": subset,
            "item_ids": [i.id for i in items],
            "git_commit": git_commit(),
            "tutor_model": {"base_url": endpoint.base_url, "model": endpoint.model},
            "judge": judge.describe(),
            "answer_correctness": "token F1 against reference_answer",
            "settings": _settings_json(settings),
        }
        (run_dir / CONFIG).write_text(json.dumps(config, indent=2, ensure_ascii=False), "utf-8")

    records = read_records(run_dir)
    done = {r["id"] for r in records}
    todo = [i for i in items if i.id not in done]
    with open(run_dir / RECORDS, "a", encoding="utf-8") as out:
        for n, item in enumerate(todo):
            if progress:
                progress("eval", len(done) + n, len(items))
            answer = runtime.tutor.ask(item.question, history=list(item.history))
            record = score_item(item, answer, spans[item.id], judge)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            records.append(record)
    if progress:
        progress("eval", len(items), len(items))
    order = {i.id: n for n, i in enumerate(items)}
    records = sorted((r for r in records if r["id"] in order), key=lambda r: order[r["id"]])
    summary = aggregate(records)
    summary["judge_calls"] = judge.calls
    summary["judge_cache_hits"] = judge.cache_hits
    validation = load_validation(validation_path) if validation_path else validation_for(judge)
    summary["judge"] = judge.describe().get("kind", "LLM")
    summary["judge_validation"] = validation_line(validation)
    config["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    (run_dir / CONFIG).write_text(json.dumps(config, indent=2, ensure_ascii=False), "utf-8")
    (run_dir / SUMMARY).write_text(json.dumps(summary, indent=2, ensure_ascii=False), "utf-8")
    run = EvalRun(run_dir, config, records, summary)
    (run_dir / REPORT).write_text(render_report(run, validation), encoding="utf-8")
    record_history(settings, run)
    return run


def load_run(run_dir: Path) -> EvalRun:
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).is_file():
        raise EvalDataError(f"{run_dir} is not an eval run folder (no {CONFIG})")
    config = json.loads((run_dir / CONFIG).read_text(encoding="utf-8"))
    records = read_records(run_dir)
    summary_path = run_dir / SUMMARY
    summary = (
        json.loads(summary_path.read_text(encoding="utf-8"))
        if summary_path.is_file()
        else aggregate(records)
    )
    return EvalRun(run_dir, config, records, summary)


# --------------------------------------------------------------------------- judge validation


def validation_for(judge: Judge | SupportJudge) -> dict[str, Any] | None:
    """The measured agreement with people of the judge that scored a run: the support
    model's on the claims it never saw (its test split), the LLM judge's as recorded by
    `tutor eval judge --write`."""
    if isinstance(judge, SupportJudge):
        held = judge.support_model.trained_on.get("test_split", {})
        if not isinstance(held, dict):
            return None
        return {
            "judge": judge.describe(),
            "datasets": {
                f"{name} (unseen claims)": held[name] for name in ("wice", "begin") if name in held
            },
        }
    return load_validation(JUDGE_VALIDATION)


def load_validation(path: Path) -> dict[str, Any] | None:
    """The judge's measured agreement with people (`tutor eval judge`), if measured."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None
