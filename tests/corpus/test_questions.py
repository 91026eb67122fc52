"""The self-check question bank, parsed from the shipped English and Spanish roadmaps."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.errors import CorpusError
from corpus.questions import (
    EN_DOC,
    ES_DOC,
    Reading,
    load_question_bank,
    questions_for_section,
)

CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus"
NN = ("Background Knowledge", "Neural Networks Inference and Training")
TRANSFORMER = ("Background Knowledge", "Transformer Architecture")


@pytest.fixture(scope="module")
def bank():
    return load_question_bank(CORPUS_DIR)


def _copy_roadmaps(tmp_path: Path) -> Path:
    for name in (EN_DOC, ES_DOC):
        shutil.copyfile(CORPUS_DIR / name, tmp_path / name)
    return tmp_path


def _drop_line(path: Path, line: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(line + "\n") == 1
    path.write_text(text.replace(line + "\n", "", 1), encoding="utf-8")


@pytest.mark.integration
def test_bank_has_twelve_questions_with_ids_and_sections_in_order(bank):
    assert [q.id for q in bank] == [f"SQ{i:02d}" for i in range(1, 13)]
    assert [q.section for q in bank] == [NN] * 6 + [TRANSFORMER] * 6
    assert bank[0].text_en == "Why do CNNs work better than MLPs on images?"
    assert bank[2].text_en == "What's the difference between GRU and LSTM?"
    assert bank[7].text_en.startswith("Can you caculate the FLOPs of GQA?")
    assert bank[11].text_en == "Why is RoPE better than sinusoidal positional encoding?"


@pytest.mark.integration
def test_spanish_versions_are_paired_by_order_within_each_list(bank):
    assert all(set(q.texts) == {"en", "es"} for q in bank)  # roadmap-ja.txt has no questions
    assert bank[0].texts["es"] == "¿Por qué los CNN funcionan mejor que los MLP en las imágenes?"
    # The second list of the same section must pair with the second Spanish list.
    assert "capa convolucional" in bank[3].texts["es"]
    assert "matriz de peso" in bank[5].texts["es"]
    assert bank[8].texts["es"] == "¿Cuál es la motivación de MQA y GQA?"
    assert "cuerda" in bank[11].texts["es"]  # RoPE, mangled by the translation


@pytest.mark.integration
def test_source_spans_point_at_the_question_text_in_each_file(bank):
    texts = {}
    for name in (EN_DOC, ES_DOC):
        with open(CORPUS_DIR / name, encoding="utf-8") as handle:
            texts[name] = handle.read()
    lang = {EN_DOC: "en", ES_DOC: "es"}
    for q in bank:
        assert [name for name, _, _ in q.source_spans] == [EN_DOC, ES_DOC]
        for name, start, end in q.source_spans:
            assert texts[name][start:end] == q.texts[lang[name]]


@pytest.mark.integration
def test_readings_are_the_links_listed_before_each_question_list(bank):
    attention = Reading(
        "Attention Is All You Need (NeurIPS 2017)",
        "https://arxiv.org/pdf/1706.03762.pdf",
        "Original Paper",
    )
    for q in bank[6:]:
        assert q.readings[0] == attention
        assert len(q.readings) == 12
    assert [r.title for r in bank[0].readings] == [
        "Multi-Layer Perceptron (MLP)",
        "Convolutional Neural Network (CNN)",
        "Recurrent Neural Network (RNN)",
    ]
    assert all(r.note is None for r in bank[0].readings)
    # The BP list has its own readings, not the MLP/CNN/RNN ones before the first list.
    assert bank[3].readings[0].title == "Neural Networks and Deep Learning"
    assert bank[3].readings[0].note == "Chapter 3.2 especially 3.2.6"
    assert len(bank[3].readings) == 3


@pytest.mark.integration
def test_questions_for_section_matches_case_insensitively(bank):
    assert [q.id for q in questions_for_section(bank, "transformer arch")] == [
        f"SQ{i:02d}" for i in range(7, 13)
    ]
    assert len(questions_for_section(bank, "Background")) == 12
    assert questions_for_section(bank, "Diffusion") == []


@pytest.mark.integration
def test_missing_english_question_is_a_corpus_error(tmp_path):
    corpus = _copy_roadmaps(tmp_path)
    _drop_line(corpus / EN_DOC, "- What is the motivation of MQA and GQA?")
    with pytest.raises(CorpusError, match="found 11 self-check questions"):
        load_question_bank(corpus)


@pytest.mark.integration
def test_spanish_list_of_other_length_is_a_corpus_error(tmp_path):
    corpus = _copy_roadmaps(tmp_path)
    _drop_line(corpus / ES_DOC, "- ¿Cuál es la diferencia entre GRU y LSTM?")
    with pytest.raises(CorpusError, match=r"roadmap-es\.txt.*has 2 questions"):
        load_question_bank(corpus)


@pytest.mark.integration
def test_missing_spanish_file_is_a_corpus_error(tmp_path):
    corpus = _copy_roadmaps(tmp_path)
    (corpus / ES_DOC).unlink()
    with pytest.raises(CorpusError, match=r"roadmap-es\.txt: missing"):
        load_question_bank(corpus)
