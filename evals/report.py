"""The eval run's HTML report and its plots, rendered from Jinja2 templates.

Plain functions here turn an `EvalRun`'s config, summary and records into the numbers
and rows the report shows (`report_context`, `bar_plot`, `histogram_plot`, `line_plot`);
the templates in `evals/templates/` only lay them out as self-contained HTML with inline
SVG: no external scripts, styles or fonts, so a report opens offline and can be shown in
a sandboxed frame. The templates are rendered with autoescaping on, so every piece of
text from the corpus, the model or the eval set is escaped where it is written, and a
value left out of the context is an error rather than an empty cell.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

    from evals.records import EvalRun

TEMPLATES = "templates"  # beside this module, shipped as package data (pyproject.toml)
REPORT_TEMPLATE = "report.html.j2"
PLOTS_TEMPLATE = "plots.svg.j2"


def validation_line(validation: dict[str, Any] | None) -> str:
    """The judge's measured agreement with people, as one line for the report.

    >>> validation_line({"datasets": {"wice": {"balanced_accuracy": 0.6364, "n": 25}}})
    'judge balanced accuracy: wice 0.636 (n=25)'
    >>> validation_line(None)
    'judge balanced accuracy: not measured'
    """
    if not validation or not validation.get("datasets"):
        return "judge balanced accuracy: not measured"
    parts = [
        f"{name} {d['balanced_accuracy']:.3f} (n={d['n']})"
        for name, d in sorted(validation["datasets"].items())
    ]
    return "judge balanced accuracy: " + ", ".join(parts)


# Aggregate rows of the report: key, label, whether the judge's agreement applies to it.
_REPORT_METRICS = [
    ("faithfulness", "Faithfulness (supported claims / claims, mean per answer)", True),
    ("faithfulness_micro", "Faithfulness (all claims pooled)", True),
    ("citation_precision", "Citation precision (ALCE)", True),
    ("citation_recall", "Citation recall (ALCE)", True),
    ("context_recall", "Context recall (gold spans in the tutor's context)", False),
    ("any_gold_retrieved", "Any gold passage retrieved", False),
    ("cited_context_recall", "Context recall of the cited passages", False),
    ("answer_f1", "Answer correctness (token F1 vs reference)", False),
    ("answerable_answered", "Answerable questions answered", False),
    ("unanswerable_declined", "Unanswerable questions declined", False),
]


def _blank_none(value: Any) -> Any:
    """Jinja2's `finalize`: a missing value (None) prints as nothing, not as "None"."""
    return "" if value is None else value


@functools.cache
def environment() -> jinja2.Environment:
    """The templates' environment: loaded from the `evals` package, autoescape always on.

    `autoescape=True` rather than `select_autoescape`, which decides by the file's last
    extension and so would leave `report.html.j2` unescaped; every template here is HTML
    or SVG. Undefined names raise, so a template cannot silently print an empty cell.
    """
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("evals", TEMPLATES),
        autoescape=True,
        finalize=_blank_none,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _plot(macro: str, plot: dict[str, Any]) -> str:
    return str(getattr(environment().get_template(PLOTS_TEMPLATE).module, macro)(plot))


def _fmt(value: Any, digits: int = 3) -> str:
    """A score as the report prints it.

    >>> _fmt(0.66666), _fmt(2.345, 1), _fmt(None), _fmt(3)
    ('0.667', '2.3', '-', '3')
    """
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def bar_plot(values: Sequence[tuple[str, float | None]], width: int = 560) -> dict[str, Any]:
    """Geometry of horizontal bars for scores in 0..1 (None: an empty row).

    >>> p = bar_plot([("recall", 0.5), ("f1", None)], width=470)
    >>> p["height"], p["span"], [(r["bar_w"], r["value"]) for r in p["rows"]]
    (54, 200, [('100.0', '0.500'), (None, '-')])
    """
    row = 22
    label_w = 210
    span = width - label_w - 60
    rows = []
    for i, (label, v) in enumerate(values):
        y = 5 + i * row
        rows.append(
            {
                "label": label,
                "text_y": y + 14,
                "bar_y": y + 3,
                "bar_w": None if v is None else f"{max(0.0, min(1.0, v)) * span:.1f}",
                "value": _fmt(v),
            }
        )
    return {
        "width": width,
        "height": row * len(values) + 10,
        "label_w": label_w,
        "span": span,
        "value_x": label_w + span + 6,
        "rows": rows,
    }


def bar_svg(values: Sequence[tuple[str, float | None]], width: int = 560) -> str:
    """Horizontal bars for scores in 0..1 (None drawn as an empty row)."""
    return _plot("bars", bar_plot(values, width))


def histogram_plot(
    values: Sequence[float | None], bins: int = 10, width: int = 400
) -> dict[str, Any]:
    """Geometry of a histogram of per-item scores in 0..1 (None left out).

    >>> p = histogram_plot([0.0, 0.95, 1.0, None], bins=2, width=240)
    >>> p["top"], [(b["count"], b["lo"], b["hi"], b["h"]) for b in p["bins"]]
    (2, [(1, '0.0', '0.5', '60.0'), (2, '0.5', '1.0', '120.0')])
    """
    kept = [v for v in values if v is not None]
    counts = [0] * bins
    for v in kept:
        counts[min(bins - 1, int(max(0.0, min(1.0, v)) * bins))] += 1
    top = max(counts, default=0) or 1
    h = 120
    bw = (width - 40) / bins
    return {
        "width": width,
        "height": h + 30,
        "axis_y": h + 22,
        "one_x": width - 20,
        "top": top,
        "bins": [
            {
                "x": f"{30 + i * bw:.1f}",
                "y": f"{h - c / top * h + 5:.1f}",
                "w": f"{bw - 2:.1f}",
                "h": f"{c / top * h:.1f}",
                "lo": f"{i / bins:.1f}",
                "hi": f"{(i + 1) / bins:.1f}",
                "count": c,
            }
            for i, c in enumerate(counts)
        ],
    }


def histogram_svg(values: Sequence[float | None], bins: int = 10, width: int = 400) -> str:
    """Histogram of per-item scores in 0..1."""
    return _plot("histogram", histogram_plot(values, bins, width))


_COLOURS = ["#4a7bb7", "#c0504d", "#9bbb59", "#8064a2", "#f79646", "#4bacc6"]


def line_plot(
    series: Mapping[str, Sequence[float | None]], labels: Sequence[str], width: int = 640
) -> dict[str, Any]:
    """Geometry of one polyline per series over runs (x: run index, y: 0..1; None skipped).

    >>> p = line_plot({"f1": [1.0, None, 0.0]}, ["run-000001", "b", "c"], width=260)
    >>> p["series"][0]["points_attr"], [label["text"] for label in p["labels"]]
    ('40.0,5.0 240.0,205.0', ['000001', 'b', 'c'])
    """
    h = 200
    n = max(len(labels), 1)
    step = (width - 60) / max(n - 1, 1)
    lines = []
    for k, (name, values) in enumerate(series.items()):
        points = [
            (f"{40 + i * step:.1f}", f"{5 + (1 - max(0.0, min(1.0, v))) * h:.1f}")
            for i, v in enumerate(values)
            if v is not None
        ]
        lines.append(
            {
                "name": name,
                "colour": _COLOURS[k % len(_COLOURS)],
                "points": points,
                "points_attr": " ".join(f"{x},{y}" for x, y in points),
                "legend_y": h + 36 + 16 * k,
            }
        )
    return {
        "width": width,
        "height": h + 40 + 16 * len(series),
        "axis_y": h + 5,
        "axis_x2": width - 20,
        "label_y": h + 20,
        "series": lines,
        "labels": [
            {"x": f"{40 + i * step:.1f}", "text": label[-6:]} for i, label in enumerate(labels)
        ],
    }


def line_svg(
    series: Mapping[str, Sequence[float | None]], labels: Sequence[str], width: int = 640
) -> str:
    """One polyline per series over runs (x: run index, y: 0..1)."""
    return _plot("lines", line_plot(series, labels, width))


def history_svg(runs: Sequence[dict[str, Any]]) -> str:
    """Trend of the main scores over the recorded runs."""
    names = [
        "faithfulness",
        "citation_recall",
        "context_recall",
        "answer_f1",
        "answerable_answered",
    ]
    series = {n: [r["summary"].get(n) for r in runs] for n in names}
    return line_svg(series, [r["run_id"] for r in runs])


_LATENCY_KEYS = ("first_token_mean_s", "first_token_p90_s", "total_mean_s", "total_p90_s")
_COUNT_KEYS = (
    "n_claims",
    "n_unsupported_claims",
    "n_answerable",
    "n_unanswerable",
    "judge_calls",
    "judge_cache_hits",
)


def _item(rec: dict[str, Any]) -> dict[str, Any]:
    """One question's row: the record's texts as they are, its scores formatted."""
    m = rec["metrics"]
    return {
        "id": rec["id"],
        "tags": ", ".join(rec["tags"]),
        "history": [(q, a) for q, a in rec.get("history", [])],
        "question": rec["question"],
        "answerable": rec["answerable"],
        "answer": rec["answer"],
        "abstained": rec["abstained"],
        "abstain_reason": rec.get("abstain_reason"),
        "draft": rec.get("draft") or None,
        "claims": [{"supported": c["supported"], "text": c["text"]} for c in rec["claims"]],
        "citations": [
            {
                "n": c["n"],
                "source": c["source"],
                "section": list(c["section"]),
                "gold": bool(c.get("gold")),
                "text": c["text"],
            }
            for c in rec["citations"]
        ],
        "retrieved": [
            {
                "rank": r["rank"],
                "source": r["source"],
                "start": r["start"],
                "end": r["end"],
                "versions": [v["source"] for v in r.get("versions", [])],
                "gold": bool(r.get("gold")),
            }
            for r in rec["retrieved"]
        ],
        "scores": {
            "faithfulness": _fmt(m["faithfulness"], 2),
            "citation_precision": _fmt(m["citation_precision"], 2),
            "citation_recall": _fmt(m["citation_recall"], 2),
            "context_recall": _fmt(m["context_recall"], 2),
            "answer_f1": _fmt(m["answer_f1"], 2),
            "total_s": _fmt(m["total_s"], 1),
        },
    }


def report_context(run: EvalRun, validation: dict[str, Any] | None) -> dict[str, Any]:
    """Everything the report shows, as plain data: numbers formatted, rows built, plots
    computed. Texts are left as they are; the template escapes them."""
    s = run.summary
    c = run.config
    return {
        "run_id": run.run_id,
        "n_items": len(run.records),
        "config": {
            "eval_set_version": c.get("eval_set_version"),
            "eval_set": c.get("eval_set"),
            "git_commit": c.get("git_commit"),
            "tutor_model": json.dumps(c.get("tutor_model")),
            "judge": json.dumps(c.get("judge")),
            "answer_correctness": c.get("answer_correctness"),
            "started_at": c.get("started_at"),
            "finished_at": c.get("finished_at"),
        },
        "judge_line": validation_line(validation),
        "scores": [
            {"label": label, "value": _fmt(s.get(key)), "judged": judged}
            for key, label, judged in _REPORT_METRICS
        ],
        "counts": {key: s.get(key) for key in _COUNT_KEYS},
        "score_bars": bar_plot(
            [(label.split(" (")[0], s.get(key)) for key, label, _ in _REPORT_METRICS]
        ),
        "faithfulness_histogram": histogram_plot(
            [r["metrics"]["faithfulness"] for r in run.records]
        ),
        "latency": [{"name": k, "value": _fmt(s.get(k), 2)} for k in _LATENCY_KEYS],
        "latency_bars": bar_plot(
            [
                (
                    r["id"],
                    None if r["metrics"]["total_s"] is None else r["metrics"]["total_s"] / 120,
                )
                for r in run.records[:40]
            ]
        ),
        "tags": [
            {
                "tag": tag,
                "n": t["n"],
                "faithfulness": _fmt(t["faithfulness"]),
                "context_recall": _fmt(t["context_recall"]),
                "abstained": _fmt(t["abstained"]),
            }
            for tag, t in s.get("by_tag", {}).items()
        ],
        "items": [_item(rec) for rec in run.records],
    }


def render_report(run: EvalRun, validation: dict[str, Any] | None) -> str:
    """The self-contained HTML report of a run, from `report.html.j2` (autoescaped)."""
    return environment().get_template(REPORT_TEMPLATE).render(report_context(run, validation))
