"""Rank fusion and result grouping: pure functions over ids and scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


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


def per_group_rankings(
    ranked_ids: Sequence[str], group_of: Mapping[str, str], depth: int
) -> dict[str, list[str]]:
    """The first `depth` ids of each group, in ranked order; groups sorted by name.

    Used to give each language its own ranking in the fusion, so a passage that only
    exists in another language than the query can compete.

    >>> per_group_rankings(["e1", "z1", "e2", "e3", "z2"],
    ...                    {"e1": "en", "e2": "en", "e3": "en", "z1": "zh", "z2": "zh"}, 2)
    {'en': ['e1', 'e2'], 'zh': ['z1', 'z2']}
    """
    out: dict[str, list[str]] = {}
    for doc_id in ranked_ids:
        ranking = out.setdefault(group_of[doc_id], [])
        if len(ranking) < depth:
            ranking.append(doc_id)
    return dict(sorted(out.items()))


def normalize_per_group(
    scored: Sequence[tuple[str, float]], group_of: Mapping[str, str]
) -> list[tuple[str, float]]:
    """Z-score each score within its group, then rank by the normalised score.

    Multilingual embedders give same-language pairs higher cosine similarities than
    cross-language ones; normalising per language of the passage compares each passage
    with its own language's candidates. A group with fewer than two members or no spread
    scores 0. Scores are rounded to 9 places; ties keep the input order.

    >>> normalize_per_group([("e1", 0.9), ("e2", 0.8), ("z1", 0.7), ("z2", 0.5)],
    ...                     {"e1": "en", "e2": "en", "z1": "zh", "z2": "zh"})
    [('e1', 1.0), ('z1', 1.0), ('e2', -1.0), ('z2', -1.0)]
    """
    values: dict[str, list[float]] = {}
    for doc_id, score in scored:
        values.setdefault(group_of[doc_id], []).append(score)
    stats: dict[str, tuple[float, float]] = {}
    for group, vs in values.items():
        mean = sum(vs) / len(vs)
        sd = (sum((v - mean) ** 2 for v in vs) / len(vs)) ** 0.5
        stats[group] = (mean, sd)
    out = []
    for doc_id, score in scored:
        mean, sd = stats[group_of[doc_id]]
        out.append((doc_id, round((score - mean) / sd, 9) if sd > 0 else 0.0))
    order = {doc_id: i for i, (doc_id, _) in enumerate(scored)}
    return sorted(out, key=lambda kv: (-kv[1], order[kv[0]]))


def apply_quota(
    ranked_ids: Sequence[str], group_of: Mapping[str, str], k: int, max_per_group: int
) -> list[str]:
    """Reorder so the first `k` hold at most `max_per_group` ids of any one group.

    An id over its group's quota moves down behind the next ids of other groups; if
    too few other ids exist, the top k is filled in the original order anyway. Ids
    after the top k keep their order. `max_per_group` 0 means no quota.

    >>> apply_quota(["e1", "e2", "e3", "z1", "e4"],
    ...             {"e1": "en", "e2": "en", "e3": "en", "e4": "en", "z1": "zh"}, 3, 2)
    ['e1', 'e2', 'z1', 'e3', 'e4']
    """
    if max_per_group <= 0:
        return list(ranked_ids)
    top: list[str] = []
    deferred: list[str] = []
    counts: dict[str, int] = {}
    rest = list(ranked_ids)
    while rest and len(top) < k:
        doc_id = rest.pop(0)
        group = group_of[doc_id]
        if counts.get(group, 0) < max_per_group:
            top.append(doc_id)
            counts[group] = counts.get(group, 0) + 1
        else:
            deferred.append(doc_id)
    # Not enough ids of other groups: fill the top k with the deferred ones, in order.
    while deferred and len(top) < k:
        top.append(deferred.pop(0))
    return top + deferred + rest
