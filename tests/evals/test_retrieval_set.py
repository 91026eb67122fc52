"""The labelled retrieval set (evals/retrieval.jsonl) and its loader and metrics."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from core.errors import EvalDataError
from evals.retrieval import (
    GoldPassage,
    RetrievalCase,
    evaluate,
    first_hit_rank,
    format_report,
    gold_spans,
    is_hit,
    load_retrieval_set,
    mrr,
    ranked_spans,
    recall_at_k,
    split_of,
)

ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = ROOT / "corpus"
SET_PATH = ROOT / "evals" / "retrieval.jsonl"


@pytest.fixture(scope="module")
def cases():
    return load_retrieval_set(SET_PATH)


def _doc_texts(cases):
    texts = {}
    for name in {g.source for case in cases for g in case.gold}:
        with open(CORPUS_DIR / name, encoding="utf-8") as handle:
            texts[name] = handle.read()
    return texts


def _write(tmp_path: Path, *records) -> Path:
    path = tmp_path / "set.jsonl"
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = {
    "id": "c1",
    "query": "what is LoRA",
    "language": "en",
    "gold": [{"source": "a.md", "substring": "low-rank adaptation"}],
    "tags": ["en"],
}


# ---------------------------------------------------------------- the shipped set


@pytest.mark.integration
def test_every_gold_substring_occurs_in_its_file_exactly(cases):
    for case in cases:
        for gold in case.gold:
            path = CORPUS_DIR / gold.source
            assert path.is_file(), f"{case.id}: no corpus file {gold.source}"
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            assert gold.substring in text, f"{case.id}: {gold.substring!r} not in {gold.source}"
            assert 15 <= len(gold.substring) <= 120, f"{case.id}: {gold.substring!r}"


@pytest.mark.integration
def test_gold_spans_resolve_for_every_case(cases):
    texts = _doc_texts(cases)
    for case in cases:
        spans = gold_spans(case, texts)
        assert len(spans) >= len(case.gold)
        for source, start, end in spans:
            assert texts[source][start:end] in {g.substring for g in case.gold}


@pytest.mark.integration
def test_the_set_covers_languages_and_hard_cases(cases):
    assert len(cases) >= 45
    assert len({c.id for c in cases}) == len(cases)
    tags = Counter(t for c in cases for t in c.tags)
    assert tags["cross-lingual"] >= 8
    assert tags["mangled-title"] >= 8
    assert tags["self-check"] >= 5
    languages = Counter(c.language for c in cases)
    assert languages["en"] >= 25
    for lang in ("es", "fr", "ja", "zh-Hans", "zh-Hant"):
        assert languages[lang] >= 3, lang
    sources = {g.source for c in cases for g in c.gold}
    for name in (
        "roadmap-en.md",
        "roadmap-es.txt",
        "roadmap-ja.txt",
        "aigc-survey-notes-zh.txt",
        "multimodal-survey-news-zh-hant.txt",
        "llm-reading-list-fr.txt",
        "llm-paper-notes-en.md",
    ):
        assert name in sources, name


def test_cross_lingual_cases_cover_every_language_both_ways(cases):
    """Issue 15: at least 40 cross-lingual cases; English questions answered only in zh,
    zh-Hant, ja or fr, and questions in every other language answered only in English."""
    xl = [c for c in cases if "cross-lingual" in c.tags]
    assert len(xl) >= 40
    from_english = {g.source for c in xl if c.language == "en" for g in c.gold}
    for name in (
        "aigc-survey-notes-zh.txt",
        "multimodal-survey-news-zh-hant.txt",
        "roadmap-ja.txt",
        "llm-reading-list-fr.txt",
    ):
        assert name in from_english, name
    english = {"roadmap-en.md", "llm-paper-notes-en.md"}
    for lang in ("es", "fr", "ja", "zh-Hans", "zh-Hant"):
        into_english = [
            c
            for c in xl
            if c.language == lang
            and any(g.source in english or g.source.startswith("notes/") for g in c.gold)
        ]
        assert len(into_english) >= 3, lang
    # A cross-lingual case has no gold passage in its own language, except two older cases
    # (issue 2) that list the English one-line paper note as an alternative: for QLoRA it
    # is weak (the "65B on one 48 GB GPU" is only in French); for Whisper the note does say
    # "680k hrs", so that case is not really cross-lingual. Kept as labelled, counted here.
    older = {"xl-qlora-memory", "xl-whisper"}
    for c in xl:
        own = [g.source for g in c.gold if _language_of(g.source) == c.language]
        assert not own or c.id in older, (c.id, own)


def _language_of(source: str) -> str:
    manifest = json.loads((CORPUS_DIR / "manifest.json").read_text(encoding="utf-8"))
    entry = manifest["documents"].get(source)
    return entry["language"] if entry else "en"  # study notes are English


def test_split_is_stable_and_both_halves_hold_cross_lingual_cases_of_every_language(cases):
    # The split is a function of the id alone: renaming nothing, adding cases moves nothing.
    assert split_of("xl-muse") == "tune"
    assert split_of("xl-bert-glue") == "heldout"
    halves = Counter(split_of(c.id) for c in cases)
    assert min(halves.values()) >= 0.35 * len(cases)
    for half in ("tune", "heldout"):
        langs = {c.language for c in cases if "cross-lingual" in c.tags and split_of(c.id) == half}
        assert langs == {"en", "es", "fr", "ja", "zh-Hans", "zh-Hant"}, half


def test_ranked_spans_count_a_hit_on_any_version_of_a_passage():
    gold = [("en.md", 100, 120)]
    groups = [[("zh.txt", 0, 50)], [("es.txt", 0, 40), ("en.md", 90, 110)], []]
    ranked = ranked_spans(groups, gold)
    assert ranked == [("zh.txt", 0, 50), ("en.md", 90, 110)]
    assert first_hit_rank(ranked, gold) == 2


@pytest.mark.integration
def test_mangled_title_cases_include_the_mangled_passage(cases):
    by_id = {c.id: c for c in cases}
    subs = {g.substring for g in by_id["mt-rotary"].gold}
    assert "INCREGOS ROTARIOS: una revolución relativa" in subs
    assert any("Force de maestro" in g.substring for g in by_id["mt-teacher-forcing"].gold)


@pytest.mark.integration
def test_gold_span_oracle_scores_perfectly_and_a_wrong_document_scores_zero(cases):
    texts = _doc_texts(cases)
    oracle = evaluate(cases, lambda c: gold_spans(c, texts)[:1], texts, k=5)
    assert oracle.recall_at_k == 1.0 and oracle.mrr == 1.0
    nowhere = evaluate(cases, lambda c: [("no-such-doc.txt", 0, 10**6)], texts, k=5)
    assert nowhere.recall_at_k == 0.0 and len(nowhere.misses) == len(cases)


# ---------------------------------------------------------------- loading errors


@pytest.mark.unit
def test_loads_a_good_file_and_skips_blank_lines(tmp_path):
    other = dict(GOOD, id="c2", note="n")
    path = _write(tmp_path, GOOD, "", other)
    loaded = load_retrieval_set(path)
    assert [c.id for c in loaded] == ["c1", "c2"]
    assert loaded[0].gold == (GoldPassage("a.md", "low-rank adaptation"),)
    assert loaded[1].note == "n" and loaded[1].line == 3


@pytest.mark.unit
@pytest.mark.parametrize(
    ("second", "field", "words"),
    [
        ('{"id": "c2", "query": ', None, "not valid JSON"),
        ({k: v for k, v in GOOD.items() if k != "query"} | {"id": "c2"}, "query", "missing"),
        (dict(GOOD, id="c2", gold="a.md"), "gold", "must be a list"),
        (dict(GOOD, id="c2", gold=[]), "gold", "empty"),
        (dict(GOOD, id="c2", gold=[{"source": "a.md"}]), "gold[0].substring", "missing"),
        (
            dict(GOOD, id="c2", gold=[{"source": "a.md", "substring": " "}]),
            "gold[0].substring",
            "non-empty",
        ),
        (dict(GOOD, id="c2", tags="en"), "tags", "must be a list"),
        (dict(GOOD, id="c2", tags=["en", ""]), "tags[1]", "non-empty string"),
        (dict(GOOD, id="c2", query=7), "query", "non-empty string"),
        (dict(GOOD, id="c2", golds=[]), "golds", "unknown field"),
        (dict(GOOD), "id", "already used on line 1"),
        ("[1, 2]", None, "JSON object"),
    ],
)
def test_load_errors_name_the_line_and_field(tmp_path, second, field, words):
    path = _write(tmp_path, GOOD, second)
    with pytest.raises(EvalDataError) as info:
        load_retrieval_set(path)
    message = str(info.value)
    assert "line 2" in message
    assert words in message
    if field:
        assert f"field '{field}'" in message


@pytest.mark.unit
def test_empty_or_missing_file_is_eval_data_error(tmp_path):
    with pytest.raises(EvalDataError, match="no cases"):
        load_retrieval_set(_write(tmp_path, ""))
    with pytest.raises(EvalDataError, match="cannot read"):
        load_retrieval_set(tmp_path / "absent.jsonl")


@pytest.mark.unit
def test_gold_substring_missing_from_document_names_the_case():
    case = RetrievalCase("case-7", "q", "en", (GoldPassage("a.md", "not in there"),), ("en",))
    with pytest.raises(EvalDataError, match="case-7"):
        gold_spans(case, {"a.md": "some other text"})
    with pytest.raises(EvalDataError, match=r"case-7.*b\.md"):
        gold_spans(
            RetrievalCase("case-7", "q", "en", (GoldPassage("b.md", "x"),), ()), {"a.md": ""}
        )


@pytest.mark.unit
def test_gold_spans_finds_every_occurrence():
    case = RetrievalCase("c", "q", "en", (GoldPassage("a", "ab"),), ())
    assert gold_spans(case, {"a": "ab-ab"}) == [("a", 0, 2), ("a", 3, 5)]


# ---------------------------------------------------------------- metrics


@pytest.mark.unit
def test_is_hit_needs_same_source_and_overlap():
    spans = [("a", 10, 20)]
    assert is_hit("a", 15, 30, spans)
    assert is_hit("a", 0, 11, spans)
    assert is_hit("a", 12, 13, spans)  # retrieved span inside the gold one
    assert not is_hit("a", 20, 30, spans)  # touching is not overlapping
    assert not is_hit("a", 0, 10, spans)
    assert not is_hit("b", 10, 20, spans)


# Case A: gold at rank 2; case B: gold at rank 3; case C: never found.
GOLD = [[("a", 0, 10)], [("b", 50, 60)], [("c", 0, 5)]]
RANKED = [
    [("a", 100, 200), ("a", 5, 15), ("x", 0, 1)],
    [("b", 0, 10), ("x", 0, 1), ("b", 55, 70)],
    [("x", 0, 1)],
]


@pytest.mark.unit
def test_recall_and_mrr_on_a_hand_computed_example():
    assert [first_hit_rank(h, s) for h, s in zip(RANKED, GOLD, strict=True)] == [2, 3, None]
    assert recall_at_k(RANKED, GOLD, k=1) == 0.0
    assert recall_at_k(RANKED, GOLD, k=2) == pytest.approx(1 / 3)
    assert recall_at_k(RANKED, GOLD, k=3) == pytest.approx(2 / 3)
    assert mrr(RANKED, GOLD) == pytest.approx((1 / 2 + 1 / 3 + 0) / 3)
    assert mrr(RANKED, GOLD, k=2) == pytest.approx((1 / 2) / 3)
    assert recall_at_k([], [], k=5) == 0.0 and mrr([], []) == 0.0


@pytest.mark.unit
def test_metrics_reject_bad_arguments():
    with pytest.raises(ValueError):
        recall_at_k(RANKED, GOLD[:2], k=1)
    with pytest.raises(ValueError):
        recall_at_k(RANKED, GOLD, k=0)


@pytest.mark.unit
def test_evaluate_reports_ranks_and_per_tag_scores():
    docs = {"a": "x" * 300, "b": "y" * 300, "c": "z" * 300}
    cases = [
        RetrievalCase("A", "qa", "en", (GoldPassage("a", "x" * 10),), ("en", "self-check")),
        RetrievalCase("B", "qb", "es", (GoldPassage("b", "y" * 10),), ("es",)),
        RetrievalCase("C", "qc", "en", (GoldPassage("c", "z" * 5),), ("en",)),
    ]
    # Gold "x"*10 resolves to every occurrence in "x"*300; shift the fake hits accordingly.
    runs = {"A": [("x", 0, 1), ("a", 0, 3)], "B": [("c", 0, 5)] * 3 + [("b", 0, 1)], "C": []}
    report = evaluate(cases, lambda c: runs[c.id], docs, k=3)
    assert report.ranks == {"A": 2, "B": 4, "C": None}
    assert report.recall_at_k == pytest.approx(1 / 3)
    assert report.mrr == pytest.approx((1 / 2) / 3)
    assert report.by_tag["en"].n_cases == 2
    assert report.by_tag["en"].recall_at_k == pytest.approx(1 / 2)
    assert report.by_tag["self-check"].mrr == pytest.approx(1 / 2)
    assert report.by_tag["es"].recall_at_k == 0.0
    assert report.misses == ["B", "C"]
    assert "misses (2): B, C" in format_report(report)


UNSEEN_PATH = ROOT / "evals" / "retrieval-unseen.jsonl"


@pytest.mark.integration
def test_the_unseen_set_resolves_and_shares_no_case_with_the_tuned_one(cases):
    # Written after every retrieval setting was chosen, without looking at what the
    # retriever returns (docs/performance.md): what nothing was tuned on.
    unseen = load_retrieval_set(UNSEEN_PATH)
    texts = _doc_texts(unseen)
    for case in unseen:
        for gold in case.gold:
            assert texts[gold.source].count(gold.substring) >= 1, (case.id, gold.substring)
        assert gold_spans(case, texts), case.id
    assert not {c.id for c in unseen} & {c.id for c in cases}
    assert not {c.query for c in unseen} & {c.query for c in cases}
    xl = Counter(c.language for c in unseen if "cross-lingual" in c.tags)
    assert sum(xl.values()) >= 40 and set(xl) == {"en", "es", "fr", "ja", "zh-Hans", "zh-Hant"}
