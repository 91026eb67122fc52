"""Generation benchmark: the tutor vs the same prompt sent straight to llama.cpp.

    python bench/generation_bench.py [--data-dir DIR] [--llm-url URL] [--repeat N] [--non-english]

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
from agent.query_translation import QueryTranslator, translates  # noqa: E402
from agent.runtime import Runtime  # noqa: E402
from agent.tutor import select_context  # noqa: E402
from core.settings import load_settings  # noqa: E402
from corpus.language import detect_language  # noqa: E402

QUESTIONS = [
    "What is the motivation of MQA and GQA?",
    "What does the causal attention mask look like and why?",
    "Which papers does the roadmap list for efficient finetuning?",
    "How do diffusion models generate images?",
    "What is the ratio of FLOPs between the forward and backward pass of a dense layer?",
]
# With --non-english: questions the tutor translates into English before retrieval
# (agent.translate_queries); the raw run gets the same sources, so the translation is part
# of the tutor's overhead, and it is also reported on its own (tutor_translation_s).
NON_ENGLISH = [
    "¿Qué es la atención de consultas agrupadas (GQA)?",
    "扩散模型是如何生成图像的?",
    "KVキャッシュとは何ですか?",
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
    timings: dict = {}
    for event in stream:
        if event.choices and event.choices[0].delta.content:
            if first is None:
                first = time.perf_counter() - t0
            n += 1
        # llama.cpp adds its own counts to the last event: prompt_n is the number of
        # prompt tokens it evaluated (those after the cached prefix), cache_n the reused ones.
        timings = (event.model_extra or {}).get("timings") or timings
    return {
        "first_token_s": first,
        "total_s": time.perf_counter() - t0,
        "chunks": n,
        "new_prompt_tokens": timings.get("prompt_n"),
        "cached_prompt_tokens": timings.get("cache_n"),
        "prompt_tokens_per_s": timings.get("prompt_per_second"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--llm-url", default=None)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--context-tokens", type=int, default=None)
    parser.add_argument("--source-tokens", type=int, default=None)
    parser.add_argument(
        "--non-english", action="store_true", help="also three questions the tutor translates"
    )
    args = parser.parse_args()
    overrides = {"index.data_dir": args.data_dir, "llm.base_url": args.llm_url}
    if args.context_tokens:
        overrides["agent.context_tokens"] = args.context_tokens
    if args.source_tokens:
        overrides["agent.source_tokens"] = args.source_tokens
    settings = load_settings(overrides=overrides)
    rt = Runtime(settings)
    from openai import OpenAI

    endpoint = rt.endpoint
    client = OpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key, max_retries=0)
    tutor = rt.tutor
    rows = []
    try:
        tutor.warm_up()  # as the web app does before it says it is ready
        for _ in range(args.repeat):
            for q in QUESTIONS + (NON_ENGLISH if args.non_english else []):
                # Its own translator: the tutor's cache must not hand it the translation.
                translation = (
                    QueryTranslator(rt.chat_model()).translate(q)
                    if translates(settings, detect_language(q))
                    else None
                )
                hits = rt.retriever.search(
                    q, translations=[(translation, None)] if translation else ()
                )
                cites = select_context(
                    hits,
                    q,
                    rt.embedder.count_tokens,
                    settings.agent.context_tokens,
                    settings.agent.source_tokens,
                )
                user = prompts.answer_prompt(q, cites, detect_language(q))
                messages = [
                    {"role": "system", "content": prompts.SYSTEM_PROMPT},
                    {"role": "user", "content": user},
                ]
                _reset_cache(client, endpoint.model)
                raw = _raw_stream(client, endpoint.model, messages, settings.llm.max_tokens)
                _reset_cache(client, endpoint.model)
                t_ask = time.monotonic()
                shown: list[float] = []

                def on_context(cites: object, readings: object, t_ask=t_ask, shown=shown) -> None:
                    shown.append(time.monotonic() - t_ask)

                answer = tutor.ask(q, on_context=on_context)
                rows.append(
                    {
                        "question": q,
                        "sources": len(cites),
                        "new_prompt_tokens": raw["new_prompt_tokens"],
                        "cached_prompt_tokens": raw["cached_prompt_tokens"],
                        "prompt_tokens_per_s": raw["prompt_tokens_per_s"]
                        and round(raw["prompt_tokens_per_s"], 1),
                        "raw_first_token_s": round(raw["first_token_s"] or -1, 3),
                        "raw_total_s": round(raw["total_s"], 3),
                        "tutor_sources_shown_s": round(shown[0], 3) if shown else None,
                        "tutor_first_token_s": answer.timings.first_token_s,
                        "tutor_total_s": answer.timings.total_s,
                        "tutor_translation_s": answer.timings.translation_s
                        if answer.search_translation
                        else None,
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
        "context_tokens": settings.agent.context_tokens,
        "source_tokens": settings.agent.source_tokens,
        "median_new_prompt_tokens": med("new_prompt_tokens"),
        "median_prompt_tokens_per_s": med("prompt_tokens_per_s"),
        "median_tutor_sources_shown_s": med("tutor_sources_shown_s"),
        "median_raw_first_token_s": med("raw_first_token_s"),
        "median_tutor_first_token_s": med("tutor_first_token_s"),
        "median_raw_total_s": med("raw_total_s"),
        "median_tutor_total_s": med("tutor_total_s"),
        "median_tutor_translation_s": med("tutor_translation_s"),
        "rows": rows,
    }
    summary["median_overhead_first_token_s"] = round(
        summary["median_tutor_first_token_s"] - summary["median_raw_first_token_s"], 3
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
