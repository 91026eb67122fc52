"""ui.render: escaping and citation markers, without Gradio."""

from __future__ import annotations

import pytest

from ui import render
from ui.render import PassageContext, Turn

pytestmark = pytest.mark.unit

EVIL = '<script>window.__pwned=1</script><img src=x onerror="alert(1)">'


def _answer(**over):
    record = {
        "question": "q",
        "answer": "MQA shares heads [1].",
        "abstained": False,
        "closest_topics": [],
        "sentences": [
            {"text": "MQA shares one key head.", "citations": [1], "supported": True},
            {"text": f"Unsupported {EVIL}", "citations": [], "supported": False},
        ],
        "citations": [
            {
                "n": 1,
                "source": "guide-en.md",
                "section": ["Guide", "Attention"],
                "start": 4,
                "end": 9,
                "text": f"passage {EVIL}",
                "language": "en",
            }
        ],
        "readings": [
            {"title": "Good", "url": "https://arxiv.org/abs/1911.02150", "section": "s"},
            {"title": "Bad", "url": "javascript:alert(1)", "section": "s"},
        ],
    }
    record.update(over)
    return record


def test_no_raw_markup_from_text_survives():
    ctx = {1: PassageContext(f"before {EVIL}", "SPAN", f"after {EVIL}", True)}
    page = render.answer_html(_answer(), 0, ctx) + render.transcript_html([Turn(question=EVIL)])
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert 'onerror="' not in page  # the quote is escaped, so no attribute is formed


def test_markers_open_their_passage_and_unsupported_sentences_are_marked():
    page = render.answer_html(_answer(), 3)
    assert page.count('data-passage="psg-3-1"') == 2  # the marker and the sources list
    assert 'id="psg-3-1"' in page
    assert 'class="sent unsupported"' in page
    assert "Guide &gt; Attention" in page


def test_passage_context_highlights_the_span_in_its_document():
    doc = "0123456789abcdef"
    ctx = render.passage_context(doc, 10, 12, "ab", chars=3)
    assert (ctx.before, ctx.span, ctx.after, ctx.exact) == ("…789", "ab", "cde…", True)
    html = render.passage_panel({"n": 2, "source": "d.md", "start": 10, "end": 12}, 1, ctx)
    assert "<mark>ab</mark>" in html
    fallback = render.passage_context(None, 0, 5, "text of the passage")
    assert fallback.span == "text of the passage" and not fallback.exact
    assert render.passage_context(doc, 10, 99, "x").span == "x"  # offsets outside the doc


def test_only_http_links_are_links():
    page = render.answer_html(_answer(), 0)
    assert 'href="https://arxiv.org/abs/1911.02150"' in page
    assert "javascript:" not in page
    assert 'rel="noopener noreferrer"' in page


def test_abstention_is_plain_and_names_nearest_topics():
    page = render.answer_html(
        _answer(abstained=True, answer="Not covered.", closest_topics=["Attention <b>x</b>"]), 0
    )
    assert "The roadmap does not cover this." in page
    assert "Attention &lt;b&gt;x&lt;/b&gt;" in page
    assert "psg-" not in page


def test_streaming_and_error_turns_are_escaped():
    page = render.transcript_html(
        [Turn(question="a", partial="<i>half"), Turn(question="b", error="<b>down</b>")]
    )
    assert "&lt;i&gt;half" in page and "&lt;b&gt;down&lt;/b&gt;" in page
    assert 'role="alert"' in page


def test_learner_documents_show_their_file_name():
    assert render.document_name("/home/x/notes/my-notes.md") == "my-notes.md"
    assert render.document_name("roadmap-en.md") == "roadmap-en.md"


def test_grade_report_is_escaped():
    page = render.grade_html(
        {
            "verdict": "partial",
            "score": 4,
            "feedback": EVIL,
            "covered": [{"id": "k1", "label": "heads", "text": None, "citation": None}],
            "missing": [
                {
                    "id": "k2",
                    "label": EVIL,
                    "text": None,
                    "citation": {"source": "/a/n.md", "section": "S"},
                }
            ],
            "misconceptions": [],
        }
    )
    assert "<script" not in page and "n.md" in page and "score 4/5" in page


def test_grade_report_shows_why_each_point_counts():
    page = render.grade_html(
        {
            "verdict": "partially_correct",
            "score": 2,
            "feedback": "",
            "covered": [
                {
                    "id": "k1",
                    "label": "heads",
                    "text": "Share the heads.",
                    "support": 0.88,
                    "evidence": "It shares " + EVIL,
                    "citation": None,
                }
            ],
            "missing": [{"id": "k2", "label": "cache", "support": 0.41, "citation": None}],
            "misconceptions": [],
            "method": {"mode": "points"},
        }
    )
    assert "model check 0.88" in page and "model check 0.41" in page
    assert "your sentence" in page and "<script" not in page


def test_mastery_chart_is_escaped_and_proportional():
    page = render.mastery_html(
        [
            {
                "section": EVIL,
                "questions": 4,
                "attempted": 2,
                "mastered": 1,
                "mean_last_score": 3.5,
                "due": 3,
            }
        ]
    )
    assert "<script" not in page
    assert "width:50%" in page and "width:25%" in page and "1/4 mastered" in page


def test_path_html_marks_locked_sections_and_escapes_names():
    from ui.render import path_html

    html = path_html(
        [
            {"section": "A <b>", "questions": 2, "mastered": 1, "unlocked": True, "waiting_for": []},
            {"section": "B", "questions": 1, "mastered": 0, "unlocked": False, "waiting_for": ["A <b>"]},
        ]
    )
    assert "A &lt;b&gt;" in html and "<b>" not in html
    assert 'class="m-row locked"' in html and "first master: A &lt;b&gt;" in html
    assert "1/2 mastered" in html and "width:50%" in html
    assert path_html([]) == "<p>No learning path for this corpus.</p>"


def test_a_sentence_the_second_opinion_affirmed_says_so():
    affirmed = {"text": "GQA groups heads.", "citations": [1], "supported": True, "second_opinion": 0.64}
    html = render.sentence_html(affirmed, 0)
    assert "second-opinion" in html and "P(yes) 0.64" in html
    plain = render.sentence_html({**affirmed, "second_opinion": None}, 0)
    assert "second-opinion" not in plain and "P(yes)" not in plain
