"""Generation benchmark: the tutor vs the same prompt sent straight to llama.cpp.

    python bench/generation_bench.py [--data-dir DIR] [--llm-url URL] [--repeat N]

For each typical question, in the same run and against the same server:
  * tutor: `Tutor.ask` end to end (condense skipped, retrieval, context, streaming,
    citation checking); time to first model token and total;
  * raw: the exact messages the tutor built, streamed by the plain OpenAI client.
Before each measured request a one-token request with the same system prompt and a
different question resets llama.cpp's prompt cache to the shared system prefix, so
both sides start from the same cache state. The tutor's overhead is the difference.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent import prompts  # noqa: E402
from agent.runtime import Runtime  # noqa: E402
from agent.tutor import select_context  # noqa: E402
from core.settings import load_settings  # noqa: E402

QUESTIONS = [
    "What is the motivation of MQA and GQA?",
    "What does the causal attention mask look like and why?",
    "Which papers does the roadmap list for efficient finetuning?",
    "How do diffusion models generate images?",
    "What is the ratio of FLOPs between the forward and backward pass of a dense layer?",
]


def _reset_cache(client: object, model: str) -> None:
    client.chat.completions.create(  # type: ignore[attr-defined]
        model=model,
        messages=[
            {"role": "system", "content": prompts.SYSTEM_PROMPT},
            {"role": "user", "content": "Say OK."},
        ],
        max_tokens=1,
        temperature=0,
    )


def _raw_stream(client: object, model: str, messages: list, max_tokens: int) -> dict:
    t0 = time.perf_counter()
    first = None
    n = 0
    stream = client.chat.completions.create(  # type: ignore[attr-defined]
        model=model, messages=messages, max_tokens=max_tokens, temperature=0, stream=True
    )
    for event in stream:
        if event.choices and event.choices[0].delta.content:
            if first is None:
                first = time.perf_counter() - t0
            n += 1
    return {"first_token_s": first, "total_s": time.perf_counter() - t0, "chunks": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--llm-url", default=None)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    settings = load_settings(
        overrides={"index.data_dir": args.data_dir, "llm.base_url": args.llm_url}
    )
    rt = Runtime(settings)
    from openai import OpenAI

    endpoint = rt.endpoint
    client = OpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key, max_retries=0)
    tutor = rt.tutor
    rows = []
    try:
        _reset_cache(client, endpoint.model)  # warm the model and the system prompt
        for _ in range(args.repeat):
            for q in QUESTIONS:
                hits = rt.retriever.search(q)
                cites = select_context(
                    hits,
                    q,
                    rt.embedder.count_tokens,
                    settings.agent.context_tokens,
                    settings.agent.source_tokens,
                )
                user = prompts.answer_prompt(q, cites, "en")
                messages = [
                    {"role": "system", "content": prompts.SYSTEM_PROMPT},
                    {"role": "user", "content": user},
                ]
                _reset_cache(client, endpoint.model)
                raw = _raw_stream(client, endpoint.model, messages, settings.llm.max_tokens)
                _reset_cache(client, endpoint.model)
                answer = tutor.ask(q)
                rows.append(
                    {
                        "question": q,
                        "prompt_tokens_est": rt.embedder.count_tokens(prompts.SYSTEM_PROMPT + user),
                        "raw_first_token_s": round(raw["first_token_s"] or -1, 3),
                        "raw_total_s": round(raw["total_s"], 3),
                        "tutor_first_token_s": answer.timings.first_token_s,
                        "tutor_total_s": answer.timings.total_s,
                        "tutor_abstained": answer.abstained,
                    }
                )
                print(json.dumps(rows[-1]), file=sys.stderr)
    finally:
        rt.close()

    def med(key: str) -> float:
        vals = [r[key] for r in rows if r[key] is not None and r[key] >= 0]
        return round(statistics.median(vals), 3) if vals else -1.0

    summary = {
        "bench": "generation",
        "endpoint": endpoint.base_url,
        "questions": len(rows),
        "median_raw_first_token_s": med("raw_first_token_s"),
        "median_tutor_first_token_s": med("tutor_first_token_s"),
        "median_raw_total_s": med("raw_total_s"),
        "median_tutor_total_s": med("tutor_total_s"),
        "rows": rows,
    }
    summary["median_overhead_first_token_s"] = round(
        summary["median_tutor_first_token_s"] - summary["median_raw_first_token_s"], 3
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
