from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.errors import CorpusError
from corpus.documents import load_corpus, load_manifest

CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus"
SHIPPED = [
    "roadmap-en.md",
    "roadmap-es.txt",
    "roadmap-ja.txt",
    "aigc-survey-notes-zh.txt",
    "multimodal-survey-news-zh-hant.txt",
    "llm-paper-notes-en.md",
    "llm-reading-list-fr.txt",
]


@pytest.mark.integration
def test_manifest_lists_the_seven_documents_with_translations():
    manifest = load_manifest(CORPUS_DIR)["documents"]
    assert sorted(manifest) == sorted(SHIPPED)
    assert manifest["roadmap-es.txt"]["translation_of"] == "roadmap-en.md"
    assert manifest["roadmap-ja.txt"]["translation_of"] == "roadmap-en.md"
    assert manifest["llm-reading-list-fr.txt"]["translation_of"] == "llm-paper-notes-en.md"
    assert manifest["roadmap-en.md"]["license"] == "MIT"
    assert manifest["llm-paper-notes-en.md"]["license"] == "Apache-2.0"


@pytest.mark.integration
def test_load_corpus_reads_files_exactly(corpus_docs):
    by_name = {d.name: d for d in corpus_docs}
    for name in SHIPPED:
        with open(CORPUS_DIR / name, encoding="utf-8") as handle:
            assert by_name[name].text == handle.read()
    assert by_name["multimodal-survey-news-zh-hant.txt"].language == "zh-Hant"
    notes = [d for d in corpus_docs if d.kind == "study-note"]
    if (CORPUS_DIR / "notes").is_dir():
        assert notes and all(d.name.startswith("notes/") and d.language == "en" for d in notes)
        assert all(not d.title.startswith("---") for d in notes)


def _copy_corpus(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    target.mkdir()
    for name in [*SHIPPED, "manifest.json", "roadmap-en.LICENSE", "llm-paper-notes-en.LICENSE"]:
        shutil.copy(CORPUS_DIR / name, target / name)
    return target


@pytest.mark.integration
def test_missing_document_names_the_file(tmp_path):
    corpus = _copy_corpus(tmp_path)
    (corpus / "roadmap-ja.txt").unlink()
    with pytest.raises(CorpusError, match=r"roadmap-ja\.txt"):
        load_corpus(corpus)


@pytest.mark.integration
def test_bad_manifest_is_reported(tmp_path):
    corpus = _copy_corpus(tmp_path)
    (corpus / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"manifest\.json"):
        load_corpus(corpus)
    data = json.loads((CORPUS_DIR / "manifest.json").read_text(encoding="utf-8"))
    data["documents"]["roadmap-es.txt"]["language"] = "spanish"
    (corpus / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"roadmap-es\.txt.*spanish"):
        load_corpus(corpus)
    data["documents"]["roadmap-es.txt"]["language"] = "es"
    data["documents"]["roadmap-es.txt"]["structure"] = "chapters"
    (corpus / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"'roadmap-es\.txt': structure 'chapters' not in"):
        load_corpus(corpus)
    (corpus / "manifest.json").unlink()
    with pytest.raises(CorpusError, match=r"manifest\.json"):
        load_corpus(corpus)


def test_every_shipped_document_declares_how_its_sections_are_found():
    from corpus.chunking import STRUCTURES, structure_of

    data = json.loads((CORPUS_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert all(e["structure"] in STRUCTURES for e in data["documents"].values())
    docs = {d.name: d for d in load_corpus(CORPUS_DIR)}
    assert structure_of(docs["llm-reading-list-fr.txt"]) == "fr-entries"
    assert structure_of(docs["aigc-survey-notes-zh.txt"]) == "guessed-headings"
    note = next(d for d in docs.values() if d.kind == "study-note")
    assert note.structure is None and structure_of(note) == "markdown"  # from its file type


@pytest.mark.integration
def test_notes_folder_is_loaded_with_front_matter_title(tmp_path):
    corpus = _copy_corpus(tmp_path)
    (corpus / "notes").mkdir()
    note = (
        "---\ntitle: Why CNNs\ntopics: [cnn]\nanswers: [SQ01]\nreferences:\n"
        "  - {id: 'arxiv:1706.03762', title: T, authors: A, year: 2017}\n---\n"
        "# Why CNNs\n\nWeight sharing.\n"
    )
    (corpus / "notes" / "sq01.md").write_text(note, encoding="utf-8")
    docs = load_corpus(corpus)
    assert docs[-1].name == "notes/sq01.md"
    assert docs[-1].title == "Why CNNs"
    assert docs[-1].kind == "study-note"
