import pytest

from index.fusion import collapse_versions, reciprocal_rank_fusion

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
