"""Answer records and library data as HTML: pure functions, everything escaped.

Every piece of text here comes from a document, a learner or the model, so every
piece goes through `html.escape` (quotes included) before it reaches the page; the
only markup is the markup written in this module. Citation markers are buttons whose
`data-passage` names the hidden passage panel they open; the click handler is
`PASSAGE_JS`, run once by the transcript component (no inline handlers anywhere).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

CONTEXT_CHARS = 280  # of the document shown on each side of a cited span


def esc(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link (no javascript:, data:, ...), else None."""
    if not url:
        return None
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return None
    return url.strip()


def link(url: str | None, title: str) -> str:
    href = safe_url(url)
    if href is None:
        return esc(title)
    return f'<a href="{esc(href)}" target="_blank" rel="noopener noreferrer">{esc(title)}</a>'


@dataclass(frozen=True)
class PassageContext:
    """A cited span with the document text around it (all plain text)."""

    before: str
    span: str
    after: str
    exact: bool  # the span was cut from the document itself, not from the passage text


def passage_context(
    document: str | None, start: int, end: int, passage: str, chars: int = CONTEXT_CHARS
) -> PassageContext:
    """The span `document[start:end]` with up to `chars` characters either side.

    Without a readable document (PDF, removed file) or with offsets outside it, the
    passage text itself is the span and there is no context.

    >>> passage_context("abcdefgh", 3, 5, "de", chars=2)
    PassageContext(before='…bc', span='de', after='fg…', exact=True)
    """
    if document is None or not 0 <= start < end <= len(document):
        return PassageContext("", passage, "", False)
    lo, hi = max(0, start - chars), min(len(document), end + chars)
    before = ("…" if lo > 0 else "") + document[lo:start]
    after = document[end:hi] + ("…" if hi < len(document) else "")
    return PassageContext(before, document[start:end], after, True)


def passage_id(turn: int, n: int) -> str:
    return f"psg-{turn}-{n}"


def marker(turn: int, n: int) -> str:
    pid = passage_id(turn, n)
    return (
        f'<button type="button" class="cite" data-passage="{pid}" aria-controls="{pid}" '
        f'title="Show source {n}">[{n}]</button>'
    )


def section_path(section: Sequence[str] | str | None) -> str:
    if not section:
        return ""
    return section if isinstance(section, str) else " > ".join(section)


def document_name(source: str) -> str:
    """Learner documents are named by their absolute path: show the file name."""
    return source.rsplit("/", 1)[-1] if source.startswith("/") else source


def sentence_html(sentence: Mapping[str, Any], turn: int) -> str:
    marks = "".join(marker(turn, n) for n in sentence.get("citations", ()))
    text = esc(sentence.get("text", ""))
    second = sentence.get("second_opinion")
    if sentence.get("supported", True):
        if second is not None:
            # The citation check found no support; the model, asked apart, affirmed it.
            title = f"Affirmed by the model's check of the sources (P(yes) {second:.2f})"
            return (
                f'<span class="sent second-opinion" title="{esc(title)}">{text}'
                f'{" " + marks if marks else ""}</span>'
            )
        return f'<span class="sent">{text}{" " + marks if marks else ""}</span>'
    return (
        f'<span class="sent unsupported" title="Not supported by the sources">{text}'
        f'{" " + marks if marks else ""}<span class="flag"> (not in the sources)</span></span>'
    )


def passage_panel(
    citation: Mapping[str, Any], turn: int, context: PassageContext | None = None
) -> str:
    n = citation["n"]
    ctx = context or PassageContext("", str(citation.get("text", "")), "", False)
    section = section_path(citation.get("section"))
    where = f"characters {citation.get('start')}–{citation.get('end')}"
    return (
        f'<div class="passage" id="{passage_id(turn, n)}" role="region" '
        f'aria-label="Source {n}">'
        f'<div class="passage-head"><b>[{n}]</b> {esc(document_name(citation["source"]))}'
        f' <span class="lang">{esc(citation.get("language", ""))}</span>'
        f'{f" · {esc(section)}" if section else ""} · <span class="span">{esc(where)}</span></div>'
        f'<div class="passage-body" lang="{esc(citation.get("language", ""))}">'
        f"{esc(ctx.before)}<mark>{esc(ctx.span)}</mark>{esc(ctx.after)}</div></div>"
    )


def sources_html(
    citations: Sequence[Mapping[str, Any]], turn: int, used: frozenset[int] = frozenset()
) -> str:
    """The passages the tutor was given; those the answer cites come first, in bold."""
    if not citations:
        return ""
    items = []
    for c in sorted(citations, key=lambda c: (c["n"] not in used, c["n"])):
        section = section_path(c.get("section"))
        excerpt = " ".join(str(c.get("text", "")).split())
        if len(excerpt) > 160:
            excerpt = excerpt[:160] + "…"
        items.append(
            f'<li class="{"used" if c["n"] in used else "unused"}">'
            f'<button type="button" class="cite src" data-passage="{passage_id(turn, c["n"])}">'
            f"[{c['n']}]</button> {esc(document_name(c['source']))} "
            f'<span class="lang">{esc(c.get("language", ""))}</span>'
            f"{f' · {esc(section)}' if section else ''}"
            f'<div class="excerpt">{esc(excerpt)}</div></li>'
        )
    return (
        '<div class="sources"><div class="label">Sources (cited ones first)</div>'
        f"<ul>{''.join(items)}</ul></div>"
    )


def answer_html(
    answer: Mapping[str, Any],
    turn: int,
    contexts: Mapping[int, PassageContext] | None = None,
) -> str:
    """One finished answer (a `TutorAnswer.to_json()` record) as HTML."""
    contexts = contexts or {}
    if answer.get("abstained"):
        topics = answer.get("closest_topics") or ()
        near = ""
        if topics:
            near = (
                '<div class="near">Nearest topics in the roadmap: '
                + ", ".join(f"<span>{esc(t)}</span>" for t in topics)
                + "</div>"
            )
        return (
            f'<div class="abstain"><b>The roadmap does not cover this.</b> '
            f"{esc(answer.get('answer', ''))}{near}</div>"
        )
    sentences = answer.get("sentences") or ()
    if sentences:
        body = " ".join(sentence_html(s, turn) for s in sentences)
    else:
        body = esc(answer.get("answer", ""))
    citations = answer.get("citations") or ()
    readings = answer.get("readings") or ()
    reading_html = ""
    if readings:
        reading_html = (
            '<div class="readings"><div class="label">Readings the roadmap lists</div><ul>'
            + "".join(f"<li>{link(r.get('url'), r.get('title', ''))}</li>" for r in readings)
            + "</ul></div>"
        )
    passages = "".join(passage_panel(c, turn, contexts.get(c["n"])) for c in citations)
    used = frozenset(n for s in sentences for n in s.get("citations", ()))
    return (
        f'<div class="answer-body">{body}</div>'
        f'<div class="passages">{passages}</div>'
        f"{sources_html(citations, turn, used)}{reading_html}"
    )


@dataclass
class Turn:
    """One exchange as the transcript shows it."""

    question: str
    answer: dict[str, Any] | None = None  # the finished record
    partial: str = ""  # text streamed so far
    error: str | None = None
    contexts: dict[int, PassageContext] | None = None
    # While the answer is being written: the sources it is written from, as
    # (n, where, excerpt), shown the moment retrieval has chosen them.
    reading: tuple[tuple[int, str, str], ...] = ()


PREVIEW_CHARS = 280


def reading_preview(citations: Iterable[Any]) -> tuple[tuple[int, str, str], ...]:
    """(n, where, excerpt) for each chosen source (agent.records.Citation); a study
    note's short answer is named as such, since it can be read as the answer at once.

    >>> from types import SimpleNamespace as C
    >>> reading_preview([C(n=1, source="notes/sq03-gru.md", section=("GRU", "Short answer"),
    ...                    text="GRUs merge the gates.")])
    ((1, 'Study note · GRU > Short answer', 'GRUs merge the gates.'),)
    """
    out = []
    for c in citations:
        where = section_path(c.section)
        if c.source.startswith("notes/"):
            where = "Study note · " + where
        else:
            where = document_name(c.source) + (" · " + where if where else "")
        text = " ".join(c.text.split())
        if len(text) > PREVIEW_CHARS:
            text = text[:PREVIEW_CHARS].rsplit(" ", 1)[0] + "…"
        out.append((c.n, where, text))
    return tuple(out)


def reading_html(reading: Sequence[tuple[int, str, str]]) -> str:
    if not reading:
        return '<div class="label reading-status">Finding passages…</div>'
    items = "".join(
        f'<li><b>[{n}]</b> <span class="cite-ref">{esc(where)}</span>'
        f'<div class="excerpt">{esc(text)}</div></li>'
        for n, where, text in reading
    )
    return (
        f'<div class="sources reading"><div class="label">Reading {len(reading)} '
        f"passage{'s' if len(reading) != 1 else ''}…</div><ul>{items}</ul></div>"
    )


def turn_html(turn: Turn, index: int) -> str:
    q = f'<div class="q"><span class="who">You</span>{esc(turn.question)}</div>'
    if turn.error is not None:
        a = f'<div class="error" role="alert">{esc(turn.error)}</div>'
    elif turn.answer is not None:
        a = answer_html(turn.answer, index, turn.contexts)
    else:
        # A draft is provisional until its sentences are checked against the sources: the
        # tutor may still decline it, so it must not look like an answer yet.
        draft = (
            '<div class="label">Draft, being checked against the passages</div>'
            f'<div class="answer-body streaming provisional">{esc(turn.partial)}'
            '<span class="cursor">▍</span></div>'
            if turn.partial
            else ""
        )
        a = draft + reading_html(turn.reading)
    return f'<div class="turn" data-turn="{index}">{q}<div class="a"><span class="who">Tutor</span>{a}</div></div>'


def live_html(turn: Turn, index: int) -> str:
    """The turn being answered, on its own (the finished turns stay as they were sent)."""
    return f'<div class="transcript live">{turn_html(turn, index)}</div>'


def transcript_html(turns: Iterable[Turn]) -> str:
    parts = [turn_html(t, i) for i, t in enumerate(turns)]
    if not parts:
        return (
            '<div class="transcript empty">Ask about the Generative AI Roadmap: neural networks, '
            "transformers, attention, diffusion, LLMs… Click a [n] marker to see its source.</div>"
        )
    return f'<div class="transcript">{"".join(parts)}</div>'


# ------------------------------------------------------------ library and status


def status_html(state: str, detail: str, ok: bool | None) -> str:
    cls = "ok" if ok else ("bad" if ok is False else "busy")
    return f'<div class="status {cls}"><b>{esc(state)}</b> {esc(detail)}</div>'


def questions_html(questions: Sequence[Any]) -> str:
    """Self-check questions (corpus.questions.SelfCheckQuestion) grouped by section."""
    out: list[str] = []
    current = None
    for q in questions:
        section = section_path(q.section)
        if section != current:
            if current is not None:
                out.append("</ul>")
            out.append(f"<h4>{esc(section)}</h4><ul class='questions'>")
            current = section
        readings = "".join(
            f"<li>{link(r.url, r.title)}{f' <i>[{esc(r.note)}]</i>' if r.note else ''}</li>"
            for r in q.readings
        )
        out.append(
            f"<li><b>{esc(q.id)}</b> {esc(q.text_en)}"
            f"{f'<details><summary>Readings</summary><ul>{readings}</ul></details>' if readings else ''}"
            "</li>"
        )
    if current is not None:
        out.append("</ul>")
    return "".join(out) or "<p>No self-check questions in this section.</p>"


def text_document_html(title: str, text: str) -> str:
    """A study note or document shown as plain text (never interpreted as markup)."""
    return f'<div class="doc"><h4>{esc(title)}</h4><pre class="doc-text">{esc(text)}</pre></div>'


def grade_html(report: Mapping[str, Any]) -> str:
    """A grade report (`GradeReport.to_json()`) as HTML."""

    method = report.get("method") or {}
    # Why a point counts: the probability that decided it, and what gave it.
    measure = "model check" if method.get("mode") == "points" else "support"

    def point(p: Mapping[str, Any]) -> str:
        cite = p.get("citation") or {}
        where = ""
        if cite:
            where = (
                f' <span class="cite-ref">{esc(document_name(str(cite.get("source", ""))))}'
                f"{' · ' + esc(cite.get('section')) if cite.get('section') else ''}</span>"
            )
        text = p.get("text") or p.get("label") or p.get("id")
        why = ""
        if isinstance(p.get("support"), int | float) and "guard" not in method:
            why = f' <span class="cite-ref">{measure} {float(p["support"]):.2f}</span>'
        said = (
            f'<div class="evidence">your sentence: “{esc(p["evidence"])}”</div>'
            if p.get("evidence")
            else ""
        )
        return f"<li>{esc(text)}{where}{why}{said}</li>"

    covered = "".join(point(p) for p in report.get("covered", ()))
    missing = "".join(point(p) for p in report.get("missing", ()))
    mis = "".join(f"<li>{esc(m)}</li>" for m in report.get("misconceptions", ()))
    verdict = str(report.get("verdict", ""))
    match = report.get("matched_question") or {}
    asked = (
        f'<div class="matched">{esc(match.get("question_id"))} {esc(match.get("question"))}'
        f" <span class=cite-ref>similarity {float(match.get('similarity', 0)):.2f}</span></div>"
        if match
        else ""
    )
    return (
        f'<div class="grade">{asked}<div class="verdict v-{esc(verdict)}"><b>{esc(verdict)}</b>'
        f" · score {esc(report.get('score'))}/5</div>"
        f'<div class="feedback">{esc(report.get("feedback", ""))}</div>'
        f"{f'<div class=label>Covered</div><ul>{covered}</ul>' if covered else ''}"
        f"{f'<div class=label>Missing</div><ul>{missing}</ul>' if missing else ''}"
        f"{f'<div class=label>Misconceptions</div><ul>{mis}</ul>' if mis else ''}"
        "</div>"
    )


def mastery_html(rows: Sequence[Mapping[str, Any]]) -> str:
    """Mastery per section (`SectionMastery` records) as a bar chart: mastered and
    attempted shares of each section's questions."""
    if not rows:
        return "<p>No self-check questions.</p>"
    out = ['<div class="mastery"><div class="label">Mastery per roadmap section</div>']
    for r in rows:
        total = max(1, int(r.get("questions") or 0))
        mastered = 100 * int(r.get("mastered") or 0) / total
        attempted = 100 * int(r.get("attempted") or 0) / total
        mean = r.get("mean_last_score")
        out.append(
            f'<div class="m-row"><div class="m-name">{esc(r.get("section"))}</div>'
            f'<div class="m-bar" title="attempted {attempted:.0f}%, mastered {mastered:.0f}%">'
            f'<div class="m-att" style="width:{attempted:.0f}%"></div>'
            f'<div class="m-mas" style="width:{mastered:.0f}%"></div></div>'
            f'<div class="m-num">{esc(r.get("mastered"))}/{esc(r.get("questions"))} mastered'
            f"{f' · mean {mean:.1f}/5' if isinstance(mean, int | float) else ''}"
            f" · {esc(r.get('due'))} due</div></div>"
        )
    out.append("</div>")
    return "".join(out)


def path_html(rows: Sequence[Mapping[str, Any]]) -> str:
    """The learning path (`PathStep` records, roadmap order): each section's mastery, and
    whether it is open or waits for prerequisites."""
    if not rows:
        return "<p>No learning path for this corpus.</p>"
    out = ['<div class="mastery path"><div class="label">Your path through the roadmap</div>']
    for r in rows:
        total = int(r.get("questions") or 0)
        mastered = int(r.get("mastered") or 0)
        share = 100 * mastered / total if total else 100
        state = "open" if r.get("unlocked") else "locked"
        waiting = r.get("waiting_for") or ()
        note = f" · first master: {esc('; '.join(waiting))}" if waiting else ""
        count = f"{mastered}/{total} mastered" if total else "no questions"
        out.append(
            f'<div class="m-row {state}"><div class="m-name">'
            f'<span class="p-state">{"🔓" if state == "open" else "🔒"}</span> '
            f"{esc(r.get('section'))}</div>"
            f'<div class="m-bar" title="mastered {share:.0f}%">'
            f'<div class="m-mas" style="width:{share:.0f}%"></div></div>'
            f'<div class="m-num">{count}{note}</div></div>'
        )
    out.append("</div>")
    return "".join(out)


# The transcript's click handler: open the passage a marker names, close the others.
# Run by gr.HTML(js_on_load=...) with `element` bound to the component's root, which
# survives value updates, so one delegated listener serves every later answer.
PASSAGE_JS = """
element.addEventListener('click', function (ev) {
  var b = ev.target.closest('[data-passage]');
  if (!b || !element.contains(b)) return;
  ev.preventDefault();
  var id = b.getAttribute('data-passage');
  var p = element.querySelector('#' + CSS.escape(id));
  element.querySelectorAll('.passage.open').forEach(function (o) {
    if (o !== p) o.classList.remove('open');
  });
  if (p) {
    p.classList.toggle('open');
    if (p.classList.contains('open')) p.scrollIntoView({block: 'nearest'});
  }
});
"""

CSS = """
.transcript { display: flex; flex-direction: column; gap: 14px; }
.transcript.empty { color: #666; padding: 12px; }
.turn .who { font-weight: 600; font-size: 0.8em; text-transform: uppercase; color: #777;
  margin-right: 8px; }
.turn .q { background: #eef3ff; padding: 8px 12px; border-radius: 8px; }
.turn .a { padding: 8px 12px; border-left: 3px solid #c9d6ff; }
.answer-body { line-height: 1.55; white-space: pre-wrap; }
.sent.unsupported { background: #fff4d6; text-decoration: underline dotted #b8860b; }
.sent.unsupported .flag { color: #8a6d00; font-size: 0.85em; }
button.cite { border: none; background: #dfe8ff; color: #1d3fa0; border-radius: 4px;
  padding: 0 4px; margin: 0 1px; cursor: pointer; font-size: 0.85em; }
button.cite:hover { background: #c3d3ff; }
.passage { display: none; margin: 8px 0; padding: 8px 10px; border: 1px solid #c3d3ff;
  border-radius: 6px; background: #fafbff; }
.passage.open { display: block; }
.passage-head { font-size: 0.85em; color: #444; margin-bottom: 4px; }
.passage-body { white-space: pre-wrap; font-size: 0.9em; max-height: 18em; overflow: auto; }
.passage-body mark { background: #ffe58a; }
.sources, .readings { margin-top: 8px; font-size: 0.88em; }
.sources ul, .readings ul { list-style: none; margin: 2px 0 0 0; padding-left: 18px; }
.sources .excerpt { color: #555; }
.sources li.used { font-weight: 600; } .sources li.used .excerpt { font-weight: normal; }
.label { font-weight: 600; font-size: 0.85em; color: #555; }
.abstain { background: #f3f3f3; border-left: 4px solid #999; padding: 8px 10px; }
.abstain .near { margin-top: 6px; }
.error { background: #ffecec; border-left: 4px solid #d33; padding: 8px 10px; color: #900; }
.status { padding: 4px 10px; border-radius: 6px; font-size: 0.9em; }
.status.ok { background: #e8f7ec; } .status.bad { background: #ffecec; }
.status.busy { background: #fff8e1; }
.doc-text { white-space: pre-wrap; max-height: 30em; overflow: auto; }
.grade .verdict { font-size: 1.1em; margin-bottom: 6px; }
.m-row { display: grid; grid-template-columns: 18em 1fr 16em; gap: 8px; align-items: center;
  margin: 4px 0; }
.m-bar { position: relative; height: 14px; background: #eee; border-radius: 7px; overflow: hidden; }
.m-att, .m-mas { position: absolute; left: 0; top: 0; bottom: 0; }
.m-att { background: #c9d6ff; } .m-mas { background: #3f6fe0; }
.m-num { font-size: 0.85em; color: #444; }
.cursor { animation: blink 1s step-end infinite; }
.provisional { color: #666; font-style: italic; }
.reading .excerpt { max-height: 4.5em; overflow: hidden; }
@keyframes blink { 50% { opacity: 0; } }
"""
