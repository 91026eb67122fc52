"""Replay the second opinion before a decline on an eval run's records, per prompt variant.

    HF_HUB_OFFLINE=1 python bench/second_opinion_replay.py --run RUN_DIR [--out FILE]

For every record whose checked sentences include ones the citation checker rejected
(those the run put to the model: `second_opinion` is set), each rejected sentence is asked
again under two variants, against the record's own numbered sources:
  * apart: the shipped question (`agent.second_opinion.second_opinion_messages`), with
    its own system prompt and the sources first;
  * in conversation: the answer's own conversation (system prompt, sources, question,
    the draft), then "is this sentence stated in the sources?" (the first variant built,
    dropped: see docs/evals-latest.md).
Each item is then decided again at P(yes) thresholds 0.5 / 0.6 / 0.7 (a sentence the model
affirms counts as supported; the checker's own decisions stand for the others), and the
bench prints, per variant and threshold, how many answerable items would be answered and
how many unanswerable ones declined. Needs the bundled model (started here).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage  # noqa: E402

from agent import prompts  # noqa: E402
from agent.citations import AlignedSentence, supported_ratio  # noqa: E402
from agent.llm.client import make_chat_model, resolve_endpoint  # noqa: E402
from agent.records import Citation  # noqa: E402
from agent.second_opinion import second_opinion_messages  # noqa: E402
from agent.tutor import decide_abstention  # noqa: E402
from agent.yes_no import ask_yes, yes_no_model  # noqa: E402
from core.settings import load_settings  # noqa: E402
from evals.runner import read_records  # noqa: E402

THRESHOLDS = (0.5, 0.6, 0.7)


def _citations(record: dict[str, Any]) -> list[Citation]:
    return [
        Citation(
            n=c["n"], chunk_id="", source=c["source"], section=tuple(c["section"]),
            start=c["start"], end=c["end"], text=c["text"], language="en", score=0.0,
        )
        for c in record["citations"]
    ]


def _in_conversation(record: dict[str, Any], cites: list[Citation], sentence: str) -> list[Any]:
    quoted = sentence.replace('"', "'")
    return [
        SystemMessage(prompts.SYSTEM_PROMPT),
        HumanMessage(prompts.answer_prompt(record["standalone_question"], cites, record["language"])),
        AIMessage(record.get("draft") or record["answer"]),
        HumanMessage(f'Check this sentence of your answer: "{quoted}"\n'
                     "Is it stated in the sources? Reply yes or no."),
    ]  # fmt: skip


def decide(record: dict[str, Any], p_yes: dict[str, float], threshold: float, settings: Any) -> bool:
    """Whether the item is answered when every rejected sentence with P(yes) >= threshold
    counts as supported, by the tutor's own share rule (`agent.tutor.decide_abstention`)."""
    sentences = [
        AlignedSentence(
            s["text"], (), (p_yes.get(s["text"], 0.0) >= threshold)
            if s["second_opinion"] is not None else s["supported"], 0.0, (),
        )
        for s in record["checked_sentences"]
    ]  # fmt: skip
    a = settings.agent
    return not decide_abstention(
        1.0, a.min_relevance, supported_ratio(sentences), a.min_supported_ratio
    ).abstain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    records = [
        r
        for r in read_records(args.run)
        if r["citations"] and any(s.get("second_opinion") is not None
                                  for s in r.get("checked_sentences", []))
    ]  # fmt: skip
    settings = load_settings(environ={})
    endpoint = resolve_endpoint(settings.llm, settings.index.data_dir)
    model = yes_no_model(make_chat_model(settings.llm, endpoint))
    asked: dict[str, dict[str, dict[str, float]]] = {"apart": {}, "in conversation": {}}
    try:
        for r in records:
            cites = _citations(r)
            rejected = [s["text"] for s in r["checked_sentences"] if s["second_opinion"] is not None]
            # One variant at a time, so each reuses its own cached prefix.
            for variant, build in (
                ("apart", lambda s, c=cites: second_opinion_messages(c, s)),
                ("in conversation", lambda s, r=r, c=cites: _in_conversation(r, c, s)),
            ):
                asked[variant][r["id"]] = {
                    s: ask_yes(model, build(s), variant, cache_prompt=k > 0)
                    for k, s in enumerate(rejected)
                }
            print(r["id"], {v: asked[v][r["id"]] for v in asked}, file=sys.stderr)
    finally:
        endpoint.close()
    out: dict[str, Any] = {"run": str(args.run), "items": len(records), "variants": {}}
    for variant, per_item in asked.items():
        out["variants"][variant] = {
            str(t): {
                "answerable": sum(r["answerable"] for r in records),
                "answerable_answered": sum(
                    r["answerable"] and decide(r, per_item[r["id"]], t, settings) for r in records
                ),
                "unanswerable": sum(not r["answerable"] for r in records),
                "unanswerable_declined": sum(
                    not r["answerable"] and not decide(r, per_item[r["id"]], t, settings)
                    for r in records
                ),
            }
            for t in THRESHOLDS
        }
    out["p_yes"] = asked
    text = json.dumps(out, ensure_ascii=False, indent=1)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
