import pytest

from index.fusion import (
    apply_quota,
    collapse_versions,
    normalize_per_group,
    per_group_rankings,
    reciprocal_rank_fusion,
)

pytestmark = pytest.mark.unit


def test_rrf_matches_hand_computed_scores():
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert fused["b"] == pytest.approx(1 / 62)


def test_rrf_order_and_weights():
    assert [i for i, _ in reciprocal_rank_fusion([["a", "b"], ["b", "c"]])] == ["b", "a", "c"]
    # Weighting the second list to zero leaves the first list's order.
    order = [i for i, _ in reciprocal_rank_fusion([["a", "b"], ["b", "c"]], weights=[1, 0])]
    assert order[:2] == ["a", "b"]


def test_rrf_ties_keep_first_appearance():
    assert [i for i, _ in reciprocal_rank_fusion([["x"], ["y"]])] == ["x", "y"]


def test_rrf_rejects_mismatched_weights():
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"]], weights=[1, 2])


def test_collapse_groups_versions_under_best_ranked():
    groups = collapse_versions(
        ["es1", "x", "en1", "ja1", "y"], {"es1": "p", "en1": "p", "ja1": "p", "x": None, "y": "q"}
    )
    assert groups == [("es1", ["en1", "ja1"]), ("x", []), ("y", [])]


def test_per_group_rankings_keep_order_and_depth():
    group = {"e1": "en", "e2": "en", "e3": "en", "z1": "zh", "f1": "fr"}
    got = per_group_rankings(["e1", "z1", "e2", "e3", "f1"], group, depth=2)
    assert got == {"en": ["e1", "e2"], "fr": ["f1"], "zh": ["z1"]}


def test_normalize_per_group_lifts_the_best_of_a_low_scoring_language():
    # Same-language passages score 0.85-0.9 for an English query; the right Chinese
    # passage scores 0.8 but is the best of its language by far.
    scored = [("e1", 0.90), ("e2", 0.89), ("e3", 0.85), ("z1", 0.80), ("z2", 0.70), ("z3", 0.69)]
    group = {i: ("en" if i.startswith("e") else "zh") for i, _ in scored}
    order = [i for i, _ in normalize_per_group(scored, group)]
    assert order.index("z1") < order.index("e2")
    assert order[0] in {"e1", "z1"}


def test_normalize_per_group_single_member_scores_zero():
    assert normalize_per_group(
        [("a", 0.5), ("b", 0.9), ("c", 0.1)], {"a": "x", "b": "y", "c": "y"}
    ) == [
        ("b", 1.0),
        ("a", 0.0),
        ("c", -1.0),
    ]


def test_quota_makes_room_for_other_languages():
    ranked = ["e1", "e2", "e3", "e4", "z1", "e5", "f1"]
    group = {i: {"e": "en", "z": "zh", "f": "fr"}[i[0]] for i in ranked}
    assert apply_quota(ranked, group, k=5, max_per_group=2) == [
        "e1",
        "e2",
        "z1",
        "f1",
        "e3",
        "e4",
        "e5",
    ]


def test_quota_fills_top_k_in_order_when_no_other_language_is_left():
    ranked = ["e1", "e2", "e3", "z1"]
    group = {"e1": "en", "e2": "en", "e3": "en", "z1": "zh"}
    assert apply_quota(ranked, group, k=4, max_per_group=1) == ["e1", "z1", "e2", "e3"]
    assert apply_quota(ranked, group, k=4, max_per_group=0) == ranked  # 0 is off
