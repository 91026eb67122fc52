from __future__ import annotations

from collections import defaultdict

import pytest

from corpus.chunking import chunk_corpus, chunk_document
from corpus.clean import clean_document
from corpus.records import SourceDocument

MAX_TOKENS = 220
SELF_CHECK = [
    "Why do CNNs work better than MLPs on images?",
    "Why do RNNs work better than MLPs on time-series data?",
    "What's the difference between GRU and LSTM?",
    "How will you describe the BP of a convolutional layer?",
    "What is the ratio of the computing cost",
    "How will you describe the BP of an MLP with two dense layers sharing the same weight",
    "What are the pros and cons of tranformers compared to RNNs",
    "Can you caculate the FLOPs of GQA?",
    "What is the motivation of MQA and GQA?",
    "What does the causal attention mask look like and why?",
    "How will you describe the training of decoder-only transformers step by step?",
    "Why is RoPE better than sinusoidal positional encoding?",
]


def _by_source(chunks):
    out = defaultdict(list)
    for c in chunks:
        out[c.source].append(c)
    return out


@pytest.mark.integration
@pytest.mark.slow
def test_every_chunk_maps_back_to_its_original_passage(corpus_docs, corpus_chunks):
    docs = {d.name: d for d in corpus_docs}
    assert {c.source for c in corpus_chunks} == set(docs)
    for c in corpus_chunks:
        passage = docs[c.source].text[c.start : c.end]
        assert passage.strip() and passage == passage.strip()
        assert passage[0] == c.text[0] and passage[-1] == c.text[-1]
        it = iter(passage)
        assert all(ch in it for ch in c.text), c.id  # cleaned chars in order


@pytest.mark.integration
@pytest.mark.slow
def test_no_chunk_exceeds_max_tokens(corpus_chunks, count_tokens):
    # Self-check lists are the one allowed exception; none exceeds at 220 tokens.
    for c in corpus_chunks:
        assert c.n_tokens == count_tokens(c.text)
        assert c.n_tokens <= MAX_TOKENS, (c.id, c.n_tokens)


@pytest.mark.integration
def test_self_check_lists_are_whole(corpus_chunks):
    en = _by_source(corpus_chunks)["roadmap-en.md"]
    checks = [c for c in en if "self_check" in c.extra]
    assert [len(c.extra["self_check"].split(",")) for c in checks] == [3, 3, 6]
    joined = [q for c in checks for q in SELF_CHECK if q in c.text]
    assert joined == SELF_CHECK
    for c in checks:
        assert "you should be able to answer these questions" in c.text
    es = _by_source(corpus_chunks)["roadmap-es.txt"]
    es_checks = [c for c in es if "self_check" in c.extra]
    assert [c.text.count("\n- ") for c in es_checks] == [3, 3, 6]
    assert all("debería poder responder estas preguntas" in c.text for c in es_checks)


@pytest.mark.integration
def test_sections(corpus_chunks):
    chunks = _by_source(corpus_chunks)
    en = chunks["roadmap-en.md"]
    lora = next(c for c in en if "LoRA Learns Less and Forgets Less" in c.text)
    assert lora.section == ("Large Language Models (LLMs)", "Efficient Finetuning")
    es = chunks["roadmap-es.txt"]
    tr = next(c for c in es if "Si comprende Transformers" in c.text)
    assert tr.section == ("Conocimiento previo", "Arquitectura del transformador")
    ft = next(c for c in es if "Lora aprende menos y olvida menos" in c.text)
    assert ft.section == ("Modelos de idiomas grandes (LLM)", "Finetuning eficiente")


@pytest.mark.integration
def test_french_one_paper_per_chunk(corpus_chunks):
    fr = _by_source(corpus_chunks)["llm-reading-list-fr.txt"]
    lora = [c for c in fr if "arxiv.org/abs/2106.09685" in c.text]
    assert len(lora) == 1
    title = lora[0].section[-1].replace("\xa0", " ")
    assert title == "LoRA : adaptation de bas rang de grands modèles de langage"
    assert "2305.14314" not in lora[0].text  # QLoRA is the next entry
    attention = next(c for c in fr if "arxiv.org/abs/1706.03762" in c.text)
    assert attention.section[-1] == "L'attention est tout ce dont vous avez besoin"
    for c in fr:
        assert c.text.count("*original:") <= 1


@pytest.mark.integration
def test_ids_are_stable(corpus_docs, corpus_chunks, count_tokens):
    again = chunk_corpus(corpus_docs, count_tokens, MAX_TOKENS, 24)
    assert [c.id for c in again] == [c.id for c in corpus_chunks]
    assert len({c.id for c in corpus_chunks}) == len(corpus_chunks)


@pytest.mark.integration
def test_parallel_links(corpus_chunks):
    chunks = _by_source(corpus_chunks)
    en = next(c for c in chunks["roadmap-en.md"] if "Why is RoPE better" in c.text)
    es = next(c for c in chunks["roadmap-es.txt"] if "Si comprende Transformers" in c.text)
    assert en.parallel_id is not None and en.parallel_id == es.parallel_id
    notes = next(c for c in chunks["llm-paper-notes-en.md"] if "2106.09685" in c.text)
    fr = next(c for c in chunks["llm-reading-list-fr.txt"] if "2106.09685" in c.text)
    assert notes.parallel_id == fr.parallel_id == "arxiv:2106.09685"
    ids = defaultdict(set)
    for c in corpus_chunks:
        if c.parallel_id:
            ids[c.parallel_id].add(c.source)
    assert all(len(sources) == 2 for sources in ids.values())


@pytest.mark.unit
def test_lists_split_only_between_items_and_cjk_at_sentences(tmp_path):
    def count(text: str) -> int:  # fake tokenizer: one token per character
        return len(text)

    items = "\n".join(f"- item number {i} with some words" for i in range(12))
    doc = SourceDocument("x.md", tmp_path / "x.md", "x", "en", "learner", f"# Title\n\n{items}\n")
    chunks = chunk_document(doc, clean_document(doc), count, 120, 10)
    assert len(chunks) > 1
    for c in chunks:
        assert all(line.startswith(("- ", "# ")) for line in c.text.split("\n") if line)
        assert c.section == ("Title",)
    zh = "这是第一句话。" * 30
    doc = SourceDocument("z.txt", tmp_path / "z.txt", "z", "zh-Hans", "learner", zh)
    chunks = chunk_document(doc, clean_document(doc), count, 50, 5)
    assert all(c.text.endswith("。") and len(c.text) <= 50 for c in chunks)
    assert "".join(c.text for c in chunks) == zh


def test_the_declared_structure_decides_how_sections_are_found(tmp_path):
    from dataclasses import replace

    from corpus.chunking import parse_units
    from corpus.clean import clean_document
    from corpus.records import SourceDocument

    text = "Introducción\n\nUn párrafo largo sobre modelos.\n\nDifusión\n\nOtro párrafo sobre ruido.\n"
    doc = SourceDocument("x.txt", tmp_path / "x.txt", "x", "es", "notes", text)
    guessed = replace(doc, structure="guessed-headings")
    as_toc = {u.section for u in parse_units(doc, clean_document(doc))}
    as_guessed = {u.section for u in parse_units(guessed, clean_document(guessed))}
    assert as_guessed != as_toc
    assert any("Difusión" in s for s in map(" ".join, as_guessed))
