"""The HTML report is rendered from plain run data; every text is escaped."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.records import EvalRun
from evals.report import render_report

pytestmark = pytest.mark.unit


def _record(**over):
    rec = {
        "id": "q1",
        "question": "What is <b>GQA</b>?",
        "tags": ["test"],
        "answerable": True,
        "history": [],
        "answer": "The roadmap does not cover this.",
        "abstained": True,
        "abstain_reason": "the draft answer is mostly unsupported",
        "draft": "GQA <script>x()</script> groups heads.",
        "claims": [],
        "citations": [],
        "retrieved": [],
        "metrics": {
            "faithfulness": None,
            "citation_precision": None,
            "citation_recall": None,
            "context_recall": 1.0,
            "answer_f1": None,
            "total_s": 3.0,
        },
    }
    rec.update(over)
    return rec


def test_an_abstained_item_shows_its_declined_draft_escaped():
    run = EvalRun(Path("run"), {"eval_set_version": "1+x"}, [_record()], {"n_items": 1})
    html = render_report(run, None)
    assert "declined draft" in html
    assert "GQA &lt;script&gt;x()&lt;/script&gt; groups heads." in html
    assert "<script>" not in html and "<b>GQA</b>" not in html
    assert "not measured" in html


def test_a_record_without_a_draft_field_still_renders():
    rec = _record()
    del rec["draft"]  # records written before drafts were kept
    html = render_report(EvalRun(Path("run"), {}, [rec], {}), None)
    assert "abstained: the draft answer is mostly unsupported" in html
    assert "declined draft" not in html
