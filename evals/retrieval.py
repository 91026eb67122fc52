"""The labelled retrieval set and the metrics it is scored with.

A case is a learner's query with one or more gold passages, each given as an exact substring
of an original corpus document. A retriever is scored on the original spans of the chunks it
returns: a returned (source, start, end) is a hit when it overlaps a gold span of the same
document. Gold passages are alternatives (the English original and its mangled translation,
say): a hit on any of them counts. The schema is documented in evals/README.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import EvalDataError
from core.jsonl import read_jsonl
from evals.schemas import Gold, RetrievalLine

__all__ = ["GoldPassage", "RetrievalCase", "RetrievalReport", "evaluate", "load_retrieval_set"]

SCHEMA = "evals/README.md"

Span = tuple[str, int, int]  # (document name, start, end) in the original text


@dataclass(frozen=True)
class GoldPassage:
    source: str  # document name, as in SourceDocument.name ("roadmap-es.txt", "notes/x.md")
    substring: str  # exact text of the original document


def gold_passages(gold: Sequence[Gold]) -> tuple[GoldPassage, ...]:
    return tuple(GoldPassage(g.source, g.substring) for g in gold)


@dataclass(frozen=True)
class RetrievalCase:
    id: str
    query: str
    language: str  # language of the query: en, es, ja, fr, zh-Hans, zh-Hant
    gold: tuple[GoldPassage, ...]
    tags: tuple[str, ...]
    note: str | None = None
    line: int = field(default=0, compare=False)  # line in the JSONL file, for messages


@dataclass(frozen=True)
class TagStats:
    n_cases: int
    recall_at_k: float
    mrr: float


@dataclass(frozen=True)
class RetrievalReport:
    k: int
    n_cases: int
    recall_at_k: float
    mrr: float  # cut at k, like recall
    ranks: dict[str, int | None]  # case id -> 1-based rank of the first hit, None if none
    by_tag: dict[str, TagStats]

    @property
    def misses(self) -> list[str]:
        """Ids of the cases with no hit in the top k."""
        return [cid for cid, rank in self.ranks.items() if rank is None or rank > self.k]


# --------------------------------------------------------------------------- loading


def load_retrieval_set(path: Path) -> list[RetrievalCase]:
    """Read the retrieval set (JSONL, schema `evals.schemas.RetrievalLine`, documented in
    evals/README.md).

    Raises EvalDataError naming the line and the field for bad JSON, a missing, unknown or
    mistyped field, an empty gold list, or a duplicate id.
    """
    rows = read_jsonl(
        path,
        RetrievalLine,
        what="the retrieval set",
        schema=SCHEMA,
        error=EvalDataError,
        id_of=lambda row: row.id,
        empty="no cases - the retrieval set is empty",
    )
    return [
        RetrievalCase(r.id, r.query, r.language, gold_passages(r.gold), r.tags, r.note, line)
        for line, r in rows
    ]


# --------------------------------------------------------------------------- scoring


def gold_spans(case: RetrievalCase, doc_texts: dict[str, str]) -> list[Span]:
    """The original spans of a case's gold passages, every occurrence of each substring.

    `doc_texts` maps document name to its original text (SourceDocument.text). A source that
    is not there, or a substring that does not occur in it, is an EvalDataError naming the case.
    """
    spans: list[Span] = []
    for passage in case.gold:
        text = doc_texts.get(passage.source)
        if text is None:
            raise EvalDataError(
                f"case {case.id!r} (line {case.line}): gold source {passage.source!r} is not a "
                "corpus document - fix the file name"
            )
        start = text.find(passage.substring)
        if start < 0:
            raise EvalDataError(
                f"case {case.id!r} (line {case.line}): gold substring {passage.substring[:60]!r} "
                f"does not occur in {passage.source} - copy it exactly from the original file"
            )
        while start >= 0:
            spans.append((passage.source, start, start + len(passage.substring)))
            start = text.find(passage.substring, start + 1)
    return spans


def is_hit(hit_source: str, hit_start: int, hit_end: int, spans: Sequence[Span]) -> bool:
    """True when the retrieved span [hit_start, hit_end) overlaps a gold span of the same source."""
    return any(
        source == hit_source and hit_start < end and start < hit_end for source, start, end in spans
    )


def first_hit_rank(hits: Sequence[Span], spans: Sequence[Span]) -> int | None:
    """1-based rank of the first retrieved span that is a hit, or None."""
    for rank, (source, start, end) in enumerate(hits, start=1):
        if is_hit(source, start, end, spans):
            return rank
    return None


def _check(ranked_hits_per_case: Sequence[Any], spans_per_case: Sequence[Any], k: int | None):
    if len(ranked_hits_per_case) != len(spans_per_case):
        raise ValueError(
            f"{len(ranked_hits_per_case)} ranked lists but {len(spans_per_case)} gold span lists"
        )
    if k is not None and k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def ranked_spans(groups: Sequence[Sequence[Span]], spans: Sequence[Span]) -> list[Span]:
    """One ranked slot per retrieved hit, given as the spans of the passage and its versions
    (the same passage in other languages): the first span that is a hit, else the passage's.

    >>> gold = [("en.md", 10, 20)]
    >>> ranked_spans([[("zh.txt", 0, 5)], [("es.txt", 0, 9), ("en.md", 12, 30)]], gold)
    [('zh.txt', 0, 5), ('en.md', 12, 30)]
    """
    return [next((s for s in group if is_hit(*s, spans)), group[0]) for group in groups if group]


def split_of(case_id: str) -> str:
    """The half of the labelled set a case belongs to, stable across edits of the set:
    "tune" when the first byte of sha1(id) is even, else "heldout". Settings are chosen
    on the tuning half and reported on the held-out half.

    >>> split_of("xl-muse"), split_of("xl-bert-glue")
    ('tune', 'heldout')
    """
    return "tune" if hashlib.sha1(case_id.encode("utf-8")).digest()[0] % 2 == 0 else "heldout"


def recall_at_k(
    ranked_hits_per_case: Sequence[Sequence[Span]],
    spans_per_case: Sequence[Sequence[Span]],
    k: int,
) -> float:
    """Fraction of cases with at least one hit among their first k retrieved spans.

    Gold passages are alternatives, so a case is recalled by any one of them (this is
    success@k, the usual "recall@k" of single-answer retrieval evals). Example, k=2:

        case A: hits [miss, HIT, miss]  -> found in top 2
        case B: hits [miss, miss, HIT]  -> not found in top 2
        recall@2 = 1/2 = 0.5            (recall@3 would be 2/2 = 1.0)

    0.0 for no cases.
    """
    _check(ranked_hits_per_case, spans_per_case, k)
    if not spans_per_case:
        return 0.0
    found = 0
    for hits, spans in zip(ranked_hits_per_case, spans_per_case, strict=True):
        rank = first_hit_rank(hits[:k], spans)
        found += rank is not None
    return found / len(spans_per_case)


def mrr(
    ranked_hits_per_case: Sequence[Sequence[Span]],
    spans_per_case: Sequence[Sequence[Span]],
    k: int | None = None,
) -> float:
    """Mean reciprocal rank of the first hit, counting 0 for a case with none (in the top k).

    Example (same cases as recall_at_k):

        case A: first hit at rank 2 -> 1/2
        case B: first hit at rank 3 -> 1/3   (with k=2: 0)
        MRR = (1/2 + 1/3) / 2 = 0.4167       (MRR@2 = (1/2 + 0) / 2 = 0.25)

    0.0 for no cases.
    """
    _check(ranked_hits_per_case, spans_per_case, k)
    if not spans_per_case:
        return 0.0
    total = 0.0
    for hits, spans in zip(ranked_hits_per_case, spans_per_case, strict=True):
        rank = first_hit_rank(hits if k is None else hits[:k], spans)
        total += 0.0 if rank is None else 1.0 / rank
    return total / len(spans_per_case)


def evaluate(
    cases: Sequence[RetrievalCase],
    run_fn: Callable[[RetrievalCase], list[Span]],
    doc_texts: dict[str, str],
    k: int = 5,
) -> RetrievalReport:
    """Run `run_fn` on every case and score its ranked spans: recall@k, MRR@k, per tag.

    `run_fn` returns the original spans (source, start, end) of the retrieved chunks, best
    first. Every case's gold is resolved before any retrieval runs, so bad eval data fails fast.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    spans = [gold_spans(case, doc_texts) for case in cases]
    hits = [list(run_fn(case)) for case in cases]
    ranks = {case.id: first_hit_rank(h, s) for case, h, s in zip(cases, hits, spans, strict=True)}
    by_tag: dict[str, TagStats] = {}
    for tag in sorted({t for case in cases for t in case.tags}):
        idx = [i for i, case in enumerate(cases) if tag in case.tags]
        tag_hits = [hits[i] for i in idx]
        tag_spans = [spans[i] for i in idx]
        by_tag[tag] = TagStats(
            n_cases=len(idx),
            recall_at_k=recall_at_k(tag_hits, tag_spans, k),
            mrr=mrr(tag_hits, tag_spans, k),
        )
    return RetrievalReport(
        k=k,
        n_cases=len(cases),
        recall_at_k=recall_at_k(hits, spans, k),
        mrr=mrr(hits, spans, k),
        ranks=ranks,
        by_tag=by_tag,
    )


def format_report(report: RetrievalReport) -> str:
    """A plain-text table of the overall and per-tag scores, then the misses."""
    k = report.k
    rows = [
        f"{'':<16}{'cases':>6}  recall@{k:<3} MRR@{k}",
        f"{'all':<16}{report.n_cases:>6}  {report.recall_at_k:>9.3f}  {report.mrr:.3f}",
    ]
    for tag, stats in report.by_tag.items():
        rows.append(f"{tag:<16}{stats.n_cases:>6}  {stats.recall_at_k:>9.3f}  {stats.mrr:.3f}")
    misses = report.misses
    rows.append(f"misses ({len(misses)}): {', '.join(misses) if misses else '-'}")
    return "\n".join(rows)
