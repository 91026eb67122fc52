"""The eval run's HTML report and its plots: pure functions from run records to text.

Everything here is rendered from plain data (an `EvalRun`'s config, summary and
records) into self-contained HTML with inline SVG: no external scripts, styles or
fonts, so a report opens offline and can be shown in a sandboxed frame. Every piece
of text from the corpus, the model or the eval set is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evals.records import EvalRun


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


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;
vertical-align:top;text-align:left}th{background:#f3f3f3}.ok{color:#176317}.bad{color:#a31515}
.muted{color:#777;font-size:.9em}details{margin:.2em 0}pre{white-space:pre-wrap;margin:0}
.num{text-align:right;font-variant-numeric:tabular-nums}
"""

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


def _e(value: Any) -> str:
    import html

    return html.escape("" if value is None else str(value), quote=True)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def bar_svg(values: Sequence[tuple[str, float | None]], width: int = 560) -> str:
    """Horizontal bars for scores in 0..1 (None drawn as an empty row)."""
    row = 22
    label_w = 210
    height = row * len(values) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'role="img" font-size="12">'
    ]
    span = width - label_w - 60
    for i, (label, v) in enumerate(values):
        y = 5 + i * row
        parts.append(f'<text x="0" y="{y + 14}">{_e(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{span}" height="14" fill="#eee"/>')
        if v is not None:
            w = max(0.0, min(1.0, v)) * span
            parts.append(
                f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="14" fill="#4a7bb7"/>'
            )
        parts.append(f'<text x="{label_w + span + 6}" y="{y + 14}">{_e(_fmt(v))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram_svg(values: Sequence[float | None], bins: int = 10, width: int = 400) -> str:
    """Histogram of per-item scores in 0..1."""
    kept = [v for v in values if v is not None]
    counts = [0] * bins
    for v in kept:
        counts[min(bins - 1, int(max(0.0, min(1.0, v)) * bins))] += 1
    top = max(counts, default=0) or 1
    h = 120
    bw = (width - 40) / bins
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h + 30}" '
        'role="img" font-size="11">'
    ]
    for i, c in enumerate(counts):
        bh = c / top * h
        x = 30 + i * bw
        parts.append(
            f'<rect x="{x:.1f}" y="{h - bh + 5:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}" '
            f'fill="#4a7bb7"><title>{i / bins:.1f}-{(i + 1) / bins:.1f}: {c}</title></rect>'
        )
    parts.append(f'<text x="30" y="{h + 22}">0</text>')
    parts.append(f'<text x="{width - 20}" y="{h + 22}">1</text>')
    parts.append(f'<text x="0" y="14">{top}</text></svg>')
    return "".join(parts)


def line_svg(
    series: Mapping[str, Sequence[float | None]], labels: Sequence[str], width: int = 640
) -> str:
    """One polyline per series over runs (x: run index, y: 0..1)."""
    colours = ["#4a7bb7", "#c0504d", "#9bbb59", "#8064a2", "#f79646", "#4bacc6"]
    h = 200
    n = max(len(labels), 1)
    step = (width - 60) / max(n - 1, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{h + 40 + 16 * len(series)}" role="img" font-size="11">',
        f'<line x1="40" y1="{h + 5}" x2="{width - 20}" y2="{h + 5}" stroke="#999"/>',
        f'<line x1="40" y1="5" x2="40" y2="{h + 5}" stroke="#999"/>',
        '<text x="0" y="12">1.0</text>',
        f'<text x="0" y="{h + 5}">0.0</text>',
    ]
    for k, (name, values) in enumerate(series.items()):
        colour = colours[k % len(colours)]
        points = [
            f"{40 + i * step:.1f},{5 + (1 - max(0.0, min(1.0, v))) * h:.1f}"
            for i, v in enumerate(values)
            if v is not None
        ]
        if points:
            joined = " ".join(points)
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{joined}"/>'
            )
            for p in points:
                x, y = p.split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>')
        parts.append(
            f'<text x="40" y="{h + 36 + 16 * k}" fill="{colour}">&#9632; {_e(name)}</text>'
        )
    for i, label in enumerate(labels):
        parts.append(f'<text x="{40 + i * step:.1f}" y="{h + 20}">{_e(label[-6:])}</text>')
    parts.append("</svg>")
    return "".join(parts)


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


_OK = '<span class="ok">&#10003;</span>'
_BAD = '<span class="bad">&#10007;</span>'


def _claims_html(rec: dict[str, Any]) -> str:
    if rec["abstained"]:
        why = f'<span class="muted">abstained: {_e(rec.get("abstain_reason"))}</span>'
        if rec.get("draft"):
            why += (
                f"<details><summary>declined draft</summary><pre>{_e(rec['draft'])}</pre></details>"
            )
        return why
    rows = []
    for c in rec["claims"]:
        mark = _OK if c["supported"] else _BAD
        rows.append(f"<li>{mark} {_e(c['text'])}</li>")
    return "<ul>" + "".join(rows) + "</ul>" if rows else '<span class="muted">no claims</span>'


def _citations_html(rec: dict[str, Any]) -> str:
    rows = []
    for c in rec["citations"]:
        gold = ' <span class="ok">[gold]</span>' if c.get("gold") else ""
        section = " &gt; ".join(_e(s) for s in c["section"])
        rows.append(
            f"<details><summary>[{_e(c['n'])}] {_e(c['source'])} {section}{gold}</summary>"
            f"<pre>{_e(c['text'])}</pre></details>"
        )
    retrieved = []
    for r in rec["retrieved"]:
        gold = " [gold]" if r.get("gold") else ""
        versions = "".join(f", also {_e(v['source'])}" for v in r.get("versions", []))
        retrieved.append(
            f"<li>{_e(r['rank'])}. {_e(r['source'])} {_e(r['start'])}-{_e(r['end'])}"
            f"{versions}<span class='ok'>{gold}</span></li>"
        )
    return (
        "".join(rows)
        + f"<details><summary>retrieved ({len(retrieved)})</summary><ul>{''.join(retrieved)}</ul>"
        "</details>"
    )


def render_report(run: EvalRun, validation: dict[str, Any] | None) -> str:
    """The self-contained HTML report of a run; every piece of text is escaped."""
    s = run.summary
    judge_line = validation_line(validation)
    agg_rows = []
    for key, label, judged in _REPORT_METRICS:
        note = f'<span class="muted">{_e(judge_line)}</span>' if judged else ""
        agg_rows.append(
            f"<tr><td>{_e(label)}</td><td class='num'>{_e(_fmt(s.get(key)))}</td>"
            f"<td>{note}</td></tr>"
        )
    lat_rows = "".join(
        f"<tr><td>{_e(k)}</td><td class='num'>{_e(_fmt(s.get(k), 2))}</td></tr>"
        for k in ("first_token_mean_s", "first_token_p90_s", "total_mean_s", "total_p90_s")
    )
    tag_rows = "".join(
        f"<tr><td>{_e(tag)}</td><td class='num'>{t['n']}</td>"
        f"<td class='num'>{_e(_fmt(t['faithfulness']))}</td>"
        f"<td class='num'>{_e(_fmt(t['context_recall']))}</td>"
        f"<td class='num'>{_e(_fmt(t['abstained']))}</td></tr>"
        for tag, t in s.get("by_tag", {}).items()
    )
    item_rows = []
    for rec in run.records:
        m = rec["metrics"]
        history = "".join(
            f"<div class='muted'>Q: {_e(q)}<br>A: {_e(a)}</div>" for q, a in rec.get("history", [])
        )
        unanswerable = "" if rec["answerable"] else " <span class='muted'>(unanswerable)</span>"
        item_rows.append(
            "<tr>"
            f"<td>{_e(rec['id'])}<div class='muted'>{_e(', '.join(rec['tags']))}</div></td>"
            f"<td>{history}{_e(rec['question'])}{unanswerable}</td>"
            f"<td>{_e(rec['answer'])}</td>"
            f"<td>{_claims_html(rec)}</td>"
            f"<td>{_citations_html(rec)}</td>"
            f"<td class='num'>faith {_e(_fmt(m['faithfulness'], 2))}<br>"
            f"cit P {_e(_fmt(m['citation_precision'], 2))} "
            f"R {_e(_fmt(m['citation_recall'], 2))}<br>"
            f"ctx {_e(_fmt(m['context_recall'], 2))}<br>F1 {_e(_fmt(m['answer_f1'], 2))}<br>"
            f"{_e(_fmt(m['total_s'], 1))} s</td>"
            "</tr>"
        )
    c = run.config
    bars = bar_svg([(label.split(" (")[0], s.get(key)) for key, label, _ in _REPORT_METRICS])
    hist = histogram_svg([r["metrics"]["faithfulness"] for r in run.records])
    lat_svg = bar_svg(
        [
            (r["id"], None if r["metrics"]["total_s"] is None else r["metrics"]["total_s"] / 120)
            for r in run.records[:40]
        ]
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Eval run {_e(run.run_id)}</title>
<style>{_CSS}</style></head><body>
<h1>Faithfulness eval: {_e(run.run_id)}</h1>
<p class="muted">eval set {_e(c.get("eval_set_version"))} ({_e(c.get("eval_set"))}),
{len(run.records)} items; commit {_e(c.get("git_commit"))};
tutor model {_e(json.dumps(c.get("tutor_model")))};
judge {_e(json.dumps(c.get("judge")))}; answer correctness: {_e(c.get("answer_correctness"))};
started {_e(c.get("started_at"))}, finished {_e(c.get("finished_at"))}</p>
<h2>Scores</h2>
<table><tr><th>metric</th><th>value</th><th>judge agreement with people</th></tr>
{"".join(agg_rows)}</table>
<p>{_e(s.get("n_claims"))} claims, {_e(s.get("n_unsupported_claims"))} unsupported;
{_e(s.get("n_answerable"))} answerable and {_e(s.get("n_unanswerable"))} unanswerable items;
judge calls {_e(s.get("judge_calls"))}, cache hits {_e(s.get("judge_cache_hits"))}.</p>
{bars}
<h3>Faithfulness per answer</h3>{hist}
<h3>Latency (seconds)</h3><table>{lat_rows}</table>
<p class="muted">Total time per item (bar full = 120 s):</p>{lat_svg}
<h2>By tag</h2><table><tr><th>tag</th><th>n</th><th>faithfulness</th><th>context recall</th>
<th>abstained</th></tr>{tag_rows}</table>
<h2>Questions</h2>
<table><tr><th>id</th><th>question</th><th>answer</th><th>claims (judge)</th>
<th>citations and retrieval</th><th>scores</th></tr>
{"".join(item_rows)}</table>
</body></html>
"""
