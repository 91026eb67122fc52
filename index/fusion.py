"""Rank fusion and result grouping: pure functions over ids and scores."""

from __future__ import annotations

from collections.abc import Sequence


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]],
    weights: Sequence[float] | None = None,
    k: int = 60,
) -> list[tuple[str, float]]:
    """Fuse ranked id lists by weighted reciprocal rank (Cormack et al., 2009).

    score(d) = sum_i w_i / (k + rank_i(d)), ranks starting at 1; ties keep the
    order of first appearance, so the result is deterministic.

    >>> reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=1)
    [('b', 0.8333333333333333), ('a', 0.5), ('c', 0.3333333333333333)]
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    scores: dict[str, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + w / (k + rank)
    order = {doc_id: i for i, doc_id in enumerate(scores)}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))


def collapse_versions(
    ranked_ids: Sequence[str], parallel_of: dict[str, str | None]
) -> list[tuple[str, list[str]]]:
    """Group ids that are versions of one passage under the best-ranked one.

    >>> collapse_versions(["es1", "x", "en1"], {"es1": "p", "en1": "p", "x": None})
    [('es1', ['en1']), ('x', [])]
    """
    groups: dict[str, list[str]] = {}
    head_of_group: dict[str, str] = {}
    for doc_id in ranked_ids:
        pid = parallel_of.get(doc_id)
        if pid is not None and pid in head_of_group:
            groups[head_of_group[pid]].append(doc_id)
            continue
        groups[doc_id] = []
        if pid is not None:
            head_of_group[pid] = doc_id
    return list(groups.items())
