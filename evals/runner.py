"""Run the faithfulness eval: ask the tutor every item, judge the answers, write a run folder.

A run folder (under settings.eval_runs_dir) holds:
- config.json: settings, models, git commit, eval set version;
- records.jsonl: one line per item, appended as soon as the item is done, so an
  interrupted run resumes where it stopped (`run_eval(..., run_dir=<that folder>)`);
- summary.json: the aggregate scores;
- report.html: a self-contained report (inline SVG, no external JS/CSS; `evals.report`).

Finished runs are also recorded in `<data_dir>/eval-history.sqlite` for `history()` and
trend plots; `compare_runs` diffs two run folders per metric and per question.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import EvalDataError
from core.jsonl import read_jsonl
from core.paths import REPO_ROOT
from core.settings import Settings
from evals import metrics as M
from evals.judge import Judge, JudgeConfig, SupportJudge
from evals.records import EvalRun
from evals.report import render_report, validation_line
from evals.retrieval import GoldPassage, RetrievalCase, gold_passages, gold_spans
from evals.schemas import EvalRecord, FaithfulnessLine

if TYPE_CHECKING:
    from agent.runtime import Runtime

Progress = Callable[[str, int, int], None]

RECORDS = "records.jsonl"
CONFIG = "config.json"
SUMMARY = "summary.json"
REPORT = "report.html"
HISTORY_DB = "eval-history.sqlite"
JUDGE_VALIDATION = REPO_ROOT / "evals" / "judge-validation.json"

# Metrics where higher is better, and the drop that counts as a regression.
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


# --------------------------------------------------------------------------- the eval set

SCHEMA = "evals/FAITHFULNESS.md"


@dataclass(frozen=True)
class EvalItem:
    id: str
    version: str
    question: str
    language: str
    history: tuple[tuple[str, str], ...]  # (question, answer) turns before this question
    answerable: bool
    reference_answer: str
    gold: tuple[GoldPassage, ...]
    tags: tuple[str, ...]
    line: int = field(default=0, compare=False)

    def as_case(self) -> RetrievalCase:
        return RetrievalCase(
            self.id, self.question, self.language, self.gold, self.tags, line=self.line
        )


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


# --------------------------------------------------------------------------- scoring one item


def _sentences_for_citations(answer: Any) -> list[Any]:
    from agent.citations import is_substantive

    return [s for s in answer.sentences if is_substantive(s.text)]


def context_used(answer: Any) -> list[dict[str, Any]]:
    """The passages the tutor put in its prompt, in its order: its citations, after its
    own retrieval (filters, the study-note lead, the token budget). Context recall is
    measured on these, not on a second search that the answer never saw."""
    return [
        {
            "rank": c.n,
            "source": c.source,
            "section": list(c.section),
            "start": c.start,
            "end": c.end,
            "dense_score": c.dense_score,
            "versions": [],  # the prompt holds the passage in one language only
        }
        for c in answer.citations
    ]


def score_item(
    item: EvalItem,
    answer: Any,
    spans: Sequence[M.Span],
    judge: Judge | SupportJudge,
) -> dict[str, Any]:
    """Judge one answer and compute its per-item metrics (a JSON-able record).

    Context recall is over `context_used(answer)`: what the tutor answered from.
    """
    retrieved = context_used(answer)
    cited_texts = {c.n: c.text for c in answer.citations}
    context = [c.text for c in answer.citations]
    claims: list[str] = []
    verdicts: list[bool] = []
    if not answer.abstained:
        claims = judge.split_claims(answer.answer)
        evidence = "\n".join(context)
        verdicts = [judge.verdict(c, evidence) if context else False for c in claims]
    faith = M.faithfulness(claims, verdicts)

    sentence_rows = []
    cites: list[list[int]] = []
    joint: list[bool] = []
    single: dict[tuple[int, int], bool] = {}
    if not answer.abstained:
        for i, s in enumerate(_sentences_for_citations(answer)):
            ns = [n for n in s.citations if n in cited_texts]
            ok = judge.verdict(s.text, "\n".join(cited_texts[n] for n in ns)) if ns else False
            if len(ns) == 1:
                single[(i, ns[0])] = ok
            else:
                for n in ns:
                    single[(i, n)] = judge.verdict(s.text, cited_texts[n])
            cites.append(ns)
            joint.append(ok)
            sentence_rows.append({"text": s.text, "citations": ns, "supported_by_citations": ok})
    cit = M.citation_scores(cites, joint, single)

    cited_spans = [(c.source, c.start, c.end) for c in answer.citations]
    retrieved_spans = [(r["source"], r["start"], r["end"]) for r in retrieved]
    for r in retrieved:
        retrieved_spans.extend((v["source"], v["start"], v["end"]) for v in r.get("versions", []))
    t = answer.timings
    return {
        "id": item.id,
        "question": item.question,
        "language": item.language,
        "tags": list(item.tags),
        "answerable": item.answerable,
        "history": [list(h) for h in item.history],
        "reference_answer": item.reference_answer,
        "answer": answer.answer,
        "standalone_question": answer.standalone_question,
        "abstained": answer.abstained,
        "abstain_reason": answer.abstain_reason,
        # The model's own words, kept when the tutor declined them (why it abstained).
        "draft": answer.draft if answer.abstained else None,
        "claims": [{"text": c, "supported": v} for c, v in zip(claims, verdicts, strict=True)],
        "sentences": sentence_rows,
        "citations": [
            {
                "n": c.n,
                "source": c.source,
                "section": list(c.section),
                "start": c.start,
                "end": c.end,
                "text": c.text,
                "gold": any(M.overlaps((c.source, c.start, c.end), g) for g in spans),
            }
            for c in answer.citations
        ],
        "retrieved": [
            {**r, "gold": any(M.overlaps((r["source"], r["start"], r["end"]), g) for g in spans)}
            for r in retrieved
        ],
        "gold_spans": [list(s) for s in spans],
        "metrics": {
            "faithfulness": faith.score,
            "n_claims": faith.n_claims,
            "unsupported_claims": list(faith.unsupported),
            "citation_precision": cit.precision,
            "citation_recall": cit.recall,
            "context_recall": M.context_recall(spans, retrieved_spans),
            "cited_context_recall": M.context_recall(spans, cited_spans),
            "any_gold_retrieved": M.any_gold_retrieved(spans, retrieved_spans),
            "answer_f1": (
                M.token_f1(answer.answer, item.reference_answer)
                if item.answerable and not answer.abstained
                else None
            ),
            "first_token_s": t.first_token_s,
            "total_s": t.total_s,
        },
    }


def aggregate(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run's scores: means over the items where each metric is defined."""

    def col(name: str) -> list[Any]:
        return [r["metrics"].get(name) for r in records]

    abst = M.abstention_rates([r["answerable"] for r in records], [r["abstained"] for r in records])
    lat = M.latency(col("first_token_s"), col("total_s"))
    any_gold = [None if v is None else float(v) for v in col("any_gold_retrieved")]
    n_claims = sum(r["metrics"]["n_claims"] for r in records)
    n_supported = sum(sum(c["supported"] for c in r["claims"]) for r in records)
    out = {
        "n_items": len(records),
        "faithfulness": M.mean(col("faithfulness")),
        "faithfulness_micro": n_supported / n_claims if n_claims else None,
        "n_claims": n_claims,
        "n_unsupported_claims": n_claims - n_supported,
        "citation_precision": M.mean(col("citation_precision")),
        "citation_recall": M.mean(col("citation_recall")),
        "context_recall": M.mean(col("context_recall")),
        "cited_context_recall": M.mean(col("cited_context_recall")),
        "any_gold_retrieved": M.mean(any_gold),
        "answer_f1": M.mean(col("answer_f1")),
        "unanswerable_declined": abst.unanswerable_declined,
        "answerable_answered": abst.answerable_answered,
        "n_answerable": abst.n_answerable,
        "n_unanswerable": abst.n_unanswerable,
        **asdict(lat),
    }
    by_tag: dict[str, dict[str, Any]] = {}
    for tag in sorted({t for r in records for t in r["tags"]}):
        rs = [r for r in records if tag in r["tags"]]
        by_tag[tag] = {
            "n": len(rs),
            "faithfulness": M.mean([r["metrics"]["faithfulness"] for r in rs]),
            "context_recall": M.mean([r["metrics"]["context_recall"] for r in rs]),
            "abstained": sum(r["abstained"] for r in rs) / len(rs),
        }
    out["by_tag"] = by_tag
    return out


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


# --------------------------------------------------------------------------- history


def _history_db(settings: Settings) -> sqlite3.Connection:
    settings.index.data_dir.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(settings.index.data_dir / HISTORY_DB)
    db.execute(
        "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, run_dir TEXT, started_at TEXT,"
        " finished_at TEXT, eval_set_version TEXT, n_items INTEGER, git_commit TEXT,"
        " tutor_model TEXT, judge TEXT, summary TEXT)"
    )
    return db


def record_history(settings: Settings, run: EvalRun) -> None:
    db = _history_db(settings)
    try:
        c = run.config
        db.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run.run_id,
                str(run.run_dir),
                c.get("started_at"),
                c.get("finished_at"),
                c.get("eval_set_version"),
                len(run.records),
                c.get("git_commit"),
                json.dumps(c.get("tutor_model")),
                json.dumps(c.get("judge")),
                json.dumps(run.summary),
            ),
        )
        db.commit()
    finally:
        db.close()


def history(settings: Settings) -> list[dict[str, Any]]:
    """Every recorded run, oldest first, with its summary."""
    path = settings.index.data_dir / HISTORY_DB
    if not path.is_file():
        return []
    db = _history_db(settings)
    try:
        rows = db.execute(
            "SELECT run_id, run_dir, started_at, finished_at, eval_set_version, n_items,"
            " git_commit, tutor_model, judge, summary FROM runs ORDER BY started_at, run_id"
        ).fetchall()
    finally:
        db.close()
    out = []
    for row in rows:
        out.append(
            {
                "run_id": row[0],
                "run_dir": row[1],
                "started_at": row[2],
                "finished_at": row[3],
                "eval_set_version": row[4],
                "n_items": row[5],
                "git_commit": row[6],
                "tutor_model": json.loads(row[7] or "null"),
                "judge": json.loads(row[8] or "null"),
                "summary": json.loads(row[9] or "{}"),
            }
        )
    return out


# --------------------------------------------------------------------------- comparing runs


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
