"""The second opinion before a decline (agent/second_opinion.py).

The unit tests feed canned probabilities through a stand-in model; the others ask the real
bundled model about sentences whose P(yes) sits far from the 0.5 threshold.
"""

from __future__ import annotations

import math

import pytest
from langchain_core.messages import AIMessage

from agent.citations import AlignedSentence
from agent.records import Citation
from agent.second_opinion import candidate_sources, reconsider, second_opinion_messages
from core.errors import LLMError


class CannedYesNo:
    """Answers each yes/no question with the next P(yes), and keeps what it was asked."""

    def __init__(self, p_yes):
        self.p_yes = list(p_yes)
        self.asked = []

    def bind(self, **_):
        return self

    def invoke(self, messages, **_):
        self.asked.append(messages)
        p = self.p_yes.pop(0)
        if p is None:  # the model began with another word
            alts = [{"token": "The", "logprob": -0.1}]
        else:
            alts = [{"token": "yes", "logprob": math.log(p)}, {"token": "no", "logprob": math.log(1 - p)}]
        return AIMessage("yes", response_metadata={"logprobs": {"content": [{"top_logprobs": alts}]}})


def _sentence(text, supported=False, markers=(), scores=(0.2, 0.4, 0.1)):
    cites = (2,) if supported else ()
    return AlignedSentence(text, cites, supported, max(scores), markers, scores=scores)


CITATIONS = [
    Citation(1, "a", "guide.md", ("MQA",), 0, 10, "MQA shares one key and value head.", "en", 1.0),
    Citation(2, "b", "guide.md", ("GQA",), 10, 20, "GQA uses a few key/value groups.", "en", 1.0),
    Citation(3, "c", "guide.md", ("KV",), 20, 30, "The KV cache grows with the context.", "en", 1.0),
]


@pytest.mark.unit
def test_the_sources_cited_are_the_models_then_the_best_scored():
    assert candidate_sources(_sentence("x", markers=(3,)), 3) == [3, 2]
    assert candidate_sources(_sentence("x", markers=(9,)), 3) == [2, 1]  # 9 is no source
    assert candidate_sources(_sentence("x", markers=(2,)), 3, limit=1) == [2]


@pytest.mark.unit
def test_an_affirmed_sentence_is_supported_and_cites_the_best_source():
    model = CannedYesNo([0.9])
    out = reconsider(model, CITATIONS, [_sentence("GQA shares key and value heads.")], 8, 0.5)
    assert out[0].supported and out[0].citations == (2,) and out[0].second_opinion == 0.9
    # Asked apart from the answer's conversation: the checker's own system prompt, then
    # the sources, then the sentence.
    (asked,) = model.asked
    assert asked == second_opinion_messages(CITATIONS, "GQA shares key and value heads.")
    assert asked[-1].content.index("Sources:") < asked[-1].content.index("Sentence:")


@pytest.mark.unit
def test_a_denied_sentence_stays_unsupported_with_its_probability():
    out = reconsider(CannedYesNo([0.3]), CITATIONS, [_sentence("GQA was invented in 1990.")], 8, 0.5)
    assert not out[0].supported and out[0].citations == () and out[0].second_opinion == 0.3


@pytest.mark.unit
def test_only_unsupported_substantive_sentences_are_asked_and_the_bound_holds():
    sentences = [
        _sentence("GQA shares key heads across groups.", supported=True),
        _sentence("Sure!"),  # not substantive: never counted, never asked
        _sentence('<source n="1">MQA shares one key and value head.</source>'),  # the prompt
        _sentence("First unsupported claim here."),
        _sentence("Second unsupported claim here."),
        _sentence("Third unsupported claim here."),
    ]
    model = CannedYesNo([0.1] * 10)
    out = reconsider(model, CITATIONS, sentences, 2, 0.5)
    assert len(model.asked) == 2
    assert out[:3] == sentences[:3]  # supported, not substantive, quoted markup: not asked
    assert out[3].second_opinion == 0.1 and out[4].second_opinion == 0.1
    assert out[5] == sentences[5]  # past the bound: left as the checker left it


@pytest.mark.unit
def test_a_reply_that_is_neither_yes_nor_no_leaves_the_checkers_verdict():
    sentence = _sentence("GQA was invented in 1990.")
    out = reconsider(CannedYesNo([None]), CITATIONS, [sentence], 8, 0.5)
    assert out == [sentence]


@pytest.mark.unit
def test_a_server_without_log_probabilities_is_an_error_not_a_guess():
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    with pytest.raises(LLMError, match="log-probabilities"):
        reconsider(FakeListChatModel(responses=["yes"]), CITATIONS, [_sentence("An unsupported claim here.")], 8, 0.5)


@pytest.fixture
def chat(llm_endpoint, tmp_path):
    from agent.llm.client import make_chat_model
    from core.settings import load_settings

    settings = load_settings(overrides={"index.data_dir": tmp_path / "data"}, environ={})
    return make_chat_model(settings.llm, llm_endpoint)


# From the shipped study note on the causal mask (notes/sq10-causal-mask.md), abridged.
CAUSAL_MASK = Citation(
    1, "n", "notes/sq10-causal-mask.md", ("Short answer",), 0, 10,
    "The causal (look-ahead) mask is a T x T matrix added to the attention scores before the "
    "softmax: 0 on and below the diagonal, minus infinity above it, so token t attends only "
    "to tokens 1..t. A decoder is trained to predict the next token; without the mask it "
    "could read the answer.",
    "en", 1.0,
)  # fmt: skip


@pytest.mark.llm
@pytest.mark.slow
def test_the_bundled_model_affirms_what_the_source_says_and_denies_the_rest(chat):
    # Measured (P(yes)): 0.615 and 0.627 for the two restatements, 0.029 for the invention,
    # 0.15 for the contradiction: 0.11 or more from the 0.5 threshold either way. The
    # model is strict: a looser paraphrase ("each token may only look at itself and the
    # tokens before it") got 0.42, a Spanish restatement 0.39, and both stay unsupported.
    sentences = [
        "The mask puts minus infinity above the diagonal, so token t attends only to tokens 1 to t.",
        "The causal mask is a T by T matrix with zeros on and below the diagonal.",
        "The causal mask was introduced by Google in 2009 to compress images.",
        "The mask lets every token attend to all future tokens.",
    ]
    out = reconsider(chat, [CAUSAL_MASK], [_sentence(x) for x in sentences], 8, 0.5)
    p = [s.second_opinion for s in out]
    assert min(p[0], p[1]) > 0.55 and max(p[2], p[3]) < 0.3, p
    assert [s.supported for s in out] == [True, True, False, False]
    assert out[0].citations == (1,)
