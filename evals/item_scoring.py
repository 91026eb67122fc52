"""Scoring one eval item (faithfulness, citations, context recall, answer overlap) from
the tutor's answer and the judge's verdicts, and the aggregate over a run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from evals import metrics as M
from evals.judge import Judge, SupportJudge
from evals.records import EvalItem


def _sentences_for_citations(answer: Any) -> list[Any]:
    from agent.citations import is_substantive

    return [s for s in answer.sentences if is_substantive(s.text)]


def context_used(answer: Any) -> list[dict[str, Any]]:
    """The passages the tutor put in its prompt, in its order: its citations, after its
    own retrieval (filters, the study-note lead, the token budget). Context recall is
    measured on these, not on a second search that the answer never saw."""
    return [
        {
            "rank": c.n,
            "source": c.source,
            "section": list(c.section),
            "start": c.start,
            "end": c.end,
            "dense_score": c.dense_score,
            "versions": [],  # the prompt holds the passage in one language only
        }
        for c in answer.citations
    ]


def score_item(
    item: EvalItem,
    answer: Any,
    spans: Sequence[M.Span],
    judge: Judge | SupportJudge,
) -> dict[str, Any]:
    """Judge one answer and compute its per-item metrics (a JSON-able record).

    Context recall is over `context_used(answer)`: what the tutor answered from.
    """
    retrieved = context_used(answer)
    cited_texts = {c.n: c.text for c in answer.citations}
    context = [c.text for c in answer.citations]
    claims: list[str] = []
    verdicts: list[bool] = []
    if not answer.abstained:
        claims = judge.split_claims(answer.answer)
        evidence = "\n".join(context)
        verdicts = [judge.verdict(c, evidence) if context else False for c in claims]
    faith = M.faithfulness(claims, verdicts)

    sentence_rows = []
    cites: list[list[int]] = []
    joint: list[bool] = []
    single: dict[tuple[int, int], bool] = {}
    if not answer.abstained:
        for i, s in enumerate(_sentences_for_citations(answer)):
            ns = [n for n in s.citations if n in cited_texts]
            ok = judge.verdict(s.text, "\n".join(cited_texts[n] for n in ns)) if ns else False
            if len(ns) == 1:
                single[(i, ns[0])] = ok
            else:
                for n in ns:
                    single[(i, n)] = judge.verdict(s.text, cited_texts[n])
            cites.append(ns)
            joint.append(ok)
            sentence_rows.append({"text": s.text, "citations": ns, "supported_by_citations": ok})
    cit = M.citation_scores(cites, joint, single)

    cited_spans = [(c.source, c.start, c.end) for c in answer.citations]
    retrieved_spans = [(r["source"], r["start"], r["end"]) for r in retrieved]
    for r in retrieved:
        retrieved_spans.extend((v["source"], v["start"], v["end"]) for v in r.get("versions", []))
    t = answer.timings
    return {
        "id": item.id,
        "question": item.question,
        "language": item.language,
        "tags": list(item.tags),
        "answerable": item.answerable,
        "history": [list(h) for h in item.history],
        "reference_answer": item.reference_answer,
        "answer": answer.answer,
        "standalone_question": answer.standalone_question,
        "abstained": answer.abstained,
        "abstain_reason": answer.abstain_reason,
        # The model's own words, kept when the tutor declined them (why it abstained).
        "draft": answer.draft if answer.abstained else None,
        "claims": [{"text": c, "supported": v} for c, v in zip(claims, verdicts, strict=True)],
        "sentences": sentence_rows,
        # The tutor's own check of each sentence, declined drafts included, so a run shows
        # which declines the second opinion overturned and which it confirmed.
        "checked_sentences": [
            {
                "text": s.text,
                "supported": s.supported,
                "support_score": s.support_score,
                "second_opinion": s.second_opinion,
            }
            for s in answer.sentences
        ],
        "citations": [
            {
                "n": c.n,
                "source": c.source,
                "section": list(c.section),
                "start": c.start,
                "end": c.end,
                "text": c.text,
                "gold": any(M.overlaps((c.source, c.start, c.end), g) for g in spans),
            }
            for c in answer.citations
        ],
        "retrieved": [
            {**r, "gold": any(M.overlaps((r["source"], r["start"], r["end"]), g) for g in spans)}
            for r in retrieved
        ],
        "gold_spans": [list(s) for s in spans],
        "metrics": {
            "faithfulness": faith.score,
            "n_claims": faith.n_claims,
            "unsupported_claims": list(faith.unsupported),
            "citation_precision": cit.precision,
            "citation_recall": cit.recall,
            "context_recall": M.context_recall(spans, retrieved_spans),
            "cited_context_recall": M.context_recall(spans, cited_spans),
            "any_gold_retrieved": M.any_gold_retrieved(spans, retrieved_spans),
            "answer_f1": (
                M.token_f1(answer.answer, item.reference_answer)
                if item.answerable and not answer.abstained
                else None
            ),
            "first_token_s": t.first_token_s,
            "total_s": t.total_s,
        },
    }


def aggregate(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run's scores: means over the items where each metric is defined."""

    def col(name: str) -> list[Any]:
        return [r["metrics"].get(name) for r in records]

    abst = M.abstention_rates([r["answerable"] for r in records], [r["abstained"] for r in records])
    lat = M.latency(col("first_token_s"), col("total_s"))
    any_gold = [None if v is None else float(v) for v in col("any_gold_retrieved")]
    n_claims = sum(r["metrics"]["n_claims"] for r in records)
    n_supported = sum(sum(c["supported"] for c in r["claims"]) for r in records)
    out = {
        "n_items": len(records),
        "faithfulness": M.mean(col("faithfulness")),
        "faithfulness_micro": n_supported / n_claims if n_claims else None,
        "n_claims": n_claims,
        "n_unsupported_claims": n_claims - n_supported,
        "citation_precision": M.mean(col("citation_precision")),
        "citation_recall": M.mean(col("citation_recall")),
        "context_recall": M.mean(col("context_recall")),
        "cited_context_recall": M.mean(col("cited_context_recall")),
        "any_gold_retrieved": M.mean(any_gold),
        "answer_f1": M.mean(col("answer_f1")),
        "unanswerable_declined": abst.unanswerable_declined,
        "answerable_answered": abst.answerable_answered,
        "n_answerable": abst.n_answerable,
        "n_unanswerable": abst.n_unanswerable,
        **asdict(lat),
    }
    by_tag: dict[str, dict[str, Any]] = {}
    for tag in sorted({t for r in records for t in r["tags"]}):
        rs = [r for r in records if tag in r["tags"]]
        by_tag[tag] = {
            "n": len(rs),
            "faithfulness": M.mean([r["metrics"]["faithfulness"] for r in rs]),
            "context_recall": M.mean([r["metrics"]["context_recall"] for r in rs]),
            "abstained": sum(r["abstained"] for r in rs) / len(rs),
        }
    out["by_tag"] = by_tag
    return out
