import pytest

from corpus.records import Chunk
from index.expansion import expand_tokens, learn_term_table, parallel_token_pairs

pytestmark = pytest.mark.unit


def _chunk(cid: str, language: str, text: str, parallel_id: str | None) -> Chunk:
    return Chunk(
        id=cid,
        source=f"{cid}.txt",
        text=text,
        section=(),
        start=0,
        end=len(text),
        language=language,
        kind="notes",
        n_tokens=len(text.split()),
        parallel_id=parallel_id,
    )


def test_pairs_only_link_versions_in_different_languages():
    chunks = [
        _chunk("en1", "en", "Scaling laws for language models", "p1"),
        _chunk("fr1", "fr", "Lois d'échelle pour les modèles de langage", "p1"),
        _chunk("en2", "en", "Another English version", "p1"),
        _chunk("es1", "es", "Sin versión", None),
    ]
    pairs = parallel_token_pairs(chunks)
    # en1-fr1 and en2-fr1; en1-en2 is the same language, es1 has no version.
    assert len(pairs) == 2
    assert all(("échelle" in left) != ("échelle" in right) for left, right in pairs)


def test_learns_translations_that_recur_across_pairs():
    pairs = [
        (["scaling", "law", "gpt"], ["échelle", "loi", "gpt"]),
        (["scaling", "compute", "gpt"], ["échelle", "calcul", "gpt"]),
        (["compute", "budget", "gpt"], ["calcul", "budget", "gpt"]),
        (["memory"], ["mémoire"]),
    ]
    table = learn_term_table(pairs, min_pairs=2, min_dice=0.6)
    assert table["scaling"] == ("échelle",)
    assert table["échelle"] == ("scaling",)
    assert table["calcul"] == ("compute",)
    assert "memory" not in table  # seen together once only
    assert "gpt" not in table and "budget" not in table  # spelt alike on both sides


def test_boilerplate_terms_get_no_translation():
    # "need" is in every English passage ("... is all you need"): it would pair with anything.
    pairs = [
        (["need", "rank"], ["rang"]),
        (["need", "rank"], ["rang"]),
        (["need", "bit"], ["bit"]),
        (["need", "bit"], ["bit"]),
        (["rope"], ["rotation"]),
    ]
    table = learn_term_table(pairs, min_pairs=2, min_dice=0.5, max_share=0.5)
    assert "need" not in table
    assert table["rank"] == ("rang",)


def test_expand_adds_translations_once_in_query_order():
    table = {"scaling": ("échelle", "loi"), "law": ("loi",)}
    assert expand_tokens(["scaling", "law"], table) == ["échelle", "loi"]
    assert expand_tokens(["unknown"], table) == []
