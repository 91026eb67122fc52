"""The paper catalog built from the English originals, and the study notes that cite it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from core.errors import CorpusError
from corpus.catalog import Paper, build_catalog, find_paper, paper_id
from corpus.notes_meta import (
    QUESTION_IDS,
    check_references,
    load_notes,
    parse_note,
    unresolved_references,
)

CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus"
NOTES_DIR = CORPUS_DIR / "notes"
TRANSFORMER = "Background Knowledge > Transformer Architecture"
NN_BASICS = "Background Knowledge > Neural Networks Inference and Training"

# Each core topic must have a topic note (answers: []) carrying all of these tags.
CORE_TOPICS = {
    "attention and multi-head attention": {"attention", "multi-head-attention"},
    "positional encodings": {"positional-encoding"},
    "KV cache and efficient decoding": {"kv-cache", "decoding"},
    "pretraining vs fine-tuning vs RLHF": {"pretraining", "fine-tuning", "rlhf"},
    "parameter-efficient fine-tuning and LoRA": {"peft", "lora"},
    "retrieval-augmented generation": {"rag", "retrieval"},
    "diffusion forward and reverse process": {"diffusion"},
    "evaluation metrics": {"perplexity", "bleu", "rouge", "fid", "clip-score"},
}


@pytest.fixture(scope="module")
def catalog() -> list[Paper]:
    return build_catalog(CORPUS_DIR)


@pytest.fixture(scope="module")
def notes():
    return load_notes(NOTES_DIR)


# --- catalog -----------------------------------------------------------------------------


@pytest.mark.integration
def test_catalog_size_and_unique_ids(catalog):
    assert 200 <= len(catalog) <= 320
    ids = [p.id for p in catalog]
    assert len(ids) == len(set(ids))
    for p in catalog:
        assert re.fullmatch(r"arxiv:\d{4}\.\d{4,5}|url:[0-9a-f]{12}", p.id), p.id
        assert p.title and p.sources and p.url
        assert (p.arxiv_id is not None) == p.id.startswith("arxiv:")


@pytest.mark.integration
def test_catalog_is_deterministic(catalog):
    assert build_catalog(CORPUS_DIR) == catalog


@pytest.mark.integration
def test_attention_is_all_you_need_is_merged_from_both_files(catalog):
    paper = find_paper(catalog, "arxiv:1706.03762")
    assert paper is not None
    assert paper.arxiv_id == "1706.03762"
    assert paper.title.startswith("Attention Is All You Need")
    assert TRANSFORMER in paper.sections
    assert "llm-paper-notes" in paper.sections
    assert paper.sources == ("roadmap-en.md", "llm-paper-notes-en.md")
    assert paper.self_check == tuple(f"SQ{n:02d}" for n in range(7, 13))
    assert paper.note == "Original Paper"


@pytest.mark.integration
def test_arxiv_versions_and_pdf_urls_are_normalized(catalog):
    mqa = find_paper(catalog, "1911.02150")  # linked as .../pdf/1911.02150v1.pdf
    gqa = find_paper(catalog, "https://arxiv.org/pdf/2305.13245v3")
    prefix = find_paper(catalog, "arxiv:2101.00190")  # URL ends in "%EF%BC%89"
    assert mqa is not None and mqa.note == "Multi-Query Attention (MQA)"
    assert gqa is not None and gqa.arxiv_id == "2305.13245"
    assert prefix is not None and prefix.sections == (
        "Large Language Models (LLMs) > Efficient Finetuning",
    )
    mamba = find_paper(catalog, "arxiv:2312.00752")  # linked three times, abs and pdf
    assert mamba is not None and len(mamba.sections) == 3


@pytest.mark.integration
def test_self_check_questions_follow_their_reading_lists(catalog):
    cnn = next(p for p in catalog if p.title == "Convolutional Neural Network (CNN)")
    assert cnn.self_check == ("SQ01", "SQ02", "SQ03")
    assert cnn.sections == (NN_BASICS,)
    meprop = find_paper(catalog, "arxiv:1706.06197")
    assert meprop is not None and meprop.self_check == ("SQ04", "SQ05", "SQ06")
    assert meprop.note == "Section 2.1"
    bert = find_paper(catalog, "arxiv:1810.04805")
    assert bert is not None and bert.self_check == ()
    covered = {q for p in catalog for q in p.self_check}
    assert covered == set(QUESTION_IDS)


@pytest.mark.integration
def test_anchors_and_images_are_skipped_and_titles_normalized(catalog):
    urls = {p.url for p in catalog}
    assert not any(u.startswith("#") for u in urls)
    assert "https://github.com/Mooler0410/LLMsPracticalGuide/raw/main/imgs/tree.jpg" not in urls
    agentgym = find_paper(catalog, "arxiv:2406.04151")  # link text wraps over two lines
    assert agentgym is not None
    assert agentgym.title == (
        "AGENTGYM: Evolving Large Language Model-based Agents across Diverse Environments"
    )
    dair = find_paper(catalog, "https://github.com/dair-ai/Prompt-Engineering-Guide")
    assert dair is not None and dair.title == "[DAIR.AI] Prompt Engineering Guide"


@pytest.mark.unit
def test_catalog_of_small_corpus_merges_and_orders(tmp_path):
    (tmp_path / "roadmap-en.md").write_text(
        "# Road\n## A\n### B\n- [Paper X](https://arxiv.org/pdf/2001.00001v2.pdf) [Note X]\n"
        "- [Blog](https://example.org/blog) and [jump](#b) ![img](https://example.org/i.png)\n"
        ":pencil: Questions:\n- Q one?\n- Q two?\n"
        "### C\n- [Paper X again](https://arxiv.org/abs/2001.00001)\n",
        encoding="utf-8",
    )
    (tmp_path / "llm-paper-notes-en.md").write_text(
        "# notes\n1. **[Blog](https://example.org/blog):** text\n", encoding="utf-8"
    )
    got = build_catalog(tmp_path)
    assert [p.id for p in got] == ["arxiv:2001.00001", paper_id("https://example.org/blog")]
    x, blog = got
    assert x.title == "Paper X" and x.note == "Note X"
    assert x.sections == ("Road > A > B", "Road > A > C")
    assert x.self_check == ("SQ01", "SQ02")
    assert blog.sources == ("roadmap-en.md", "llm-paper-notes-en.md")
    assert blog.id == "url:" + hashlib.sha1(b"https://example.org/blog").hexdigest()[:12]
    assert find_paper(got, "arxiv:9999.99999") is None


@pytest.mark.unit
def test_missing_catalog_source_raises(tmp_path):
    (tmp_path / "roadmap-en.md").write_text("# R\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"llm-paper-notes-en\.md"):
        build_catalog(tmp_path)


# --- notes ------------------------------------------------------------------------------


@pytest.mark.integration
def test_every_note_parses_and_has_the_expected_shape(notes):
    assert len(notes) == 20
    for meta in notes:
        text = (NOTES_DIR / meta.name).read_text(encoding="utf-8")
        parsed, body_start = parse_note(text, meta.name)
        body = text[body_start:]
        words = len(body.split())
        assert 400 <= words <= 900, f"{meta.name}: {words} words"
        sections = re.findall(r"^## (.+)$", body, flags=re.MULTILINE)
        assert sections[0] == "Short answer", meta.name
        assert sections[-1] == "References", meta.name
        assert parsed.topics and parsed.references


@pytest.mark.integration
def test_every_reference_resolves_and_is_cited_in_the_text(notes, catalog):
    assert unresolved_references(notes, catalog) == []
    check_references(notes, catalog)
    for meta in notes:
        text = (NOTES_DIR / meta.name).read_text(encoding="utf-8")
        prose = text.split("\n## References", 1)[0].split("\n---\n", 1)[1]
        for ref in meta.references:
            surname = ref.authors.split(",")[0].split(" (")[0].strip()
            assert surname in prose, f"{meta.name}: {ref.id} ({surname}) never cited in the text"


@pytest.mark.integration
def test_every_self_check_question_is_answered(notes):
    answered = {q for meta in notes for q in meta.answers}
    assert answered == set(QUESTION_IDS)
    for n in range(1, 13):
        assert any(m.name.startswith(f"sq{n:02d}-") for m in notes)


@pytest.mark.integration
def test_every_core_topic_has_a_note(notes):
    topic_notes = [m for m in notes if not m.answers]
    for topic, tags in CORE_TOPICS.items():
        assert any(tags <= set(m.topics) for m in topic_notes), f"no note for {topic}"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("# no front matter\n", "no front matter"),
        ("---\ntitle: [unclosed\n---\n# X\n", "not valid YAML"),
        ("---\ntitle: X\ntopics: [a]\nanswers: [SQ13]\nreferences: []\n---\n# X\n", "SQ13"),
        (
            "---\ntitle: X\ntopics: [a]\nanswers: []\nreferences:\n  - id: arxiv:1706.03762\n"
            "    title: T\n    authors: A\n---\n# X\n",
            "lacks year",
        ),
        (
            "---\ntitle: X\ntopics: [a]\nanswers: []\nreferences:\n  - id: doi:10.1/2\n"
            "    title: T\n    authors: A\n    year: 2017\n---\n# X\n",
            "doi:10.1/2",
        ),
        (
            "---\ntitle: X\ntopics: [a]\nanswers: []\nreferences:\n  - id: arxiv:1706.03762\n"
            "    title: T\n    authors: A\n    year: 2017\n---\n# Y\n",
            "body must start with '# X'",
        ),
    ],
)
def test_broken_front_matter_names_file_and_problem(tmp_path, text, problem):
    (tmp_path / "broken-note.md").write_text(text, encoding="utf-8")
    with pytest.raises(CorpusError, match=r"broken-note\.md") as info:
        load_notes(tmp_path)
    assert problem in str(info.value)


@pytest.mark.unit
def test_parse_note_returns_body_offset():
    text = (
        '---\ntitle: "X"\ntopics: [a]\nanswers: [SQ01]\nreferences:\n'
        '  - id: "url:0123456789ab"\n    title: T\n    authors: A\n    year: null\n'
        "---\n# X\n\nbody\n"
    )
    meta, start = parse_note(text, "x.md")
    assert text[start:].startswith("# X")
    assert meta.answers == ("SQ01",) and meta.references[0].year is None


@pytest.mark.unit
def test_unresolved_reference_is_reported(tmp_path):
    (tmp_path / "n.md").write_text(
        "---\ntitle: X\ntopics: [a]\nanswers: []\nreferences:\n  - id: arxiv:1512.03385\n"
        "    title: ResNet\n    authors: He\n    year: 2015\n---\n# X\n",
        encoding="utf-8",
    )
    notes = load_notes(tmp_path)
    with pytest.raises(CorpusError, match=r"n\.md: arxiv:1512\.03385"):
        check_references(notes, build_catalog(CORPUS_DIR))
