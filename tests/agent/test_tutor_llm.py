"""End to end on the real local model (Qwen2.5-1.5B via llama.cpp) and the real index."""

import pytest

pytestmark = [pytest.mark.llm, pytest.mark.slow]


def _assert_citations_resolve(answer, settings):
    assert answer.citations
    for c in answer.citations:
        original = (settings.corpus.dir / c.source).read_text(encoding="utf-8")
        assert 0 <= c.start < c.end <= len(original)
        # The cited text is the shipped passage, cleaned of page furniture only.
        words = [w for w in c.text.split() if len(w) > 3][:5]
        assert all(w in original[c.start : c.end] for w in words)


def test_self_check_question_answered_with_note_citations(real_runtime):
    answer = real_runtime.tutor.ask("What is the motivation of MQA and GQA?")
    assert not answer.abstained, answer.draft
    _assert_citations_resolve(answer, real_runtime.settings)
    assert any(c.source.startswith("notes/") for c in answer.citations)
    supported = [s for s in answer.sentences if s.supported and s.citations]
    assert supported, answer.sentences
    text = answer.answer.lower()
    assert "key" in text or "kv" in text or "memory" in text


def test_off_topic_question_is_declined(real_runtime):
    answer = real_runtime.tutor.ask("How do I bake sourdough bread at home?")
    assert answer.abstained
    assert answer.answer.startswith("The roadmap does not cover this.")


def test_spanish_question_gets_a_spanish_answer(real_runtime):
    from corpus.language import detect_language

    answer = real_runtime.tutor.ask("¿Qué es la atención de consultas agrupadas (GQA)?")
    assert answer.language == "es"
    assert not answer.abstained, answer.draft
    assert detect_language(answer.answer) == "es", answer.answer


def test_english_question_answered_in_the_language_asked_for(real_runtime):
    from corpus.language import detect_language

    answer = real_runtime.tutor.ask("What is the motivation of MQA and GQA?", answer_language="es")
    assert answer.language == "es"
    assert not answer.abstained, answer.draft
    assert detect_language(answer.draft) == "es", answer.draft
