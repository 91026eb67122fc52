"""How llama.cpp's own settings change prompt reading on this CPU (issue 14).

    python bench/llama_settings_bench.py [--repeat 3] [--only "NAME;NAME"]

Starts the bundled Qwen2.5-1.5B Q4_K_M in this process once per configuration (threads,
batch / micro-batch, flash attention, KV-cache type) and sends one fixed ~200-token
answer prompt of the tutor `--repeat` times with `cache_prompt` off, so every request
reads the whole prompt; llama.cpp's own timings give prompt tokens/s and generated
tokens/s. One process, one prompt, configurations one after another: compare rows of
one run, not runs. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent import prompts  # noqa: E402
from agent.llm.model_files import resolve_gguf  # noqa: E402
from agent.llm.server import ServerConfig, make_xllamacpp_params  # noqa: E402
from core.settings import load_settings  # noqa: E402

USER = (
    "Sources:\n"
    '<source n="1" from="Why MQA was not the end: GQA">Ainslie et al. (2023) give the reasons '
    "for a middle ground: MQA can lead to quality degradation and training instability, and it "
    "may be undesirable to train a separate model optimized only for fast inference. Larger "
    "models usually have more heads, so a single key/value head is an increasingly aggressive "
    "cut in both memory bandwidth and capacity.</source>\n"
    '<source n="2">Multi-query attention shares one key and value head across all query heads, '
    "which shrinks the KV cache and the memory traffic of decoding.</source>\n"
    '<source n="3">Grouped-query attention uses a few key/value groups, between multi-head and '
    "multi-query attention. They report GQA quality close to multi-head attention at a speed "
    "close to MQA.</source>\n"
    "Question: What is the motivation of MQA and GQA?\n"
    "Answer in English, citing the sources like [1]."
)

# name -> CommonParams fields set on top of the shipped defaults (ServerConfig)
# (enum members are looked up by name when the bench runs: xllamacpp loads lazily)
CONFIGS: dict[str, dict] = {
    "default (2 threads, batch 2048, ubatch 512, flash attention auto)": {},
    "1 thread": {"threads": 1},
    "ubatch 128": {"n_ubatch": 128},
    "ubatch 256": {"n_ubatch": 256},
    "batch 512": {"n_batch": 512},
    "flash attention off": {"flash_attn_type": "LLAMA_FLASH_ATTN_TYPE_DISABLED"},
    "flash attention on": {"flash_attn_type": "LLAMA_FLASH_ATTN_TYPE_ENABLED"},
    "flash attention on, KV cache q8_0": {
        "flash_attn_type": "LLAMA_FLASH_ATTN_TYPE_ENABLED",
        "cache_type_k": "GGML_TYPE_Q8_0",
        "cache_type_v": "GGML_TYPE_Q8_0",
    },
}


def run_config(gguf: Path, name: str, fields: dict, repeat: int) -> dict:
    import xllamacpp

    threads = fields.pop("threads", 2)
    params = make_xllamacpp_params(ServerConfig(gguf=gguf, threads=threads, verbosity=0))
    enums = {"flash_attn_type": xllamacpp.llama_flash_attn_type, "cache_type_k": xllamacpp.ggml_type,
             "cache_type_v": xllamacpp.ggml_type}  # fmt: skip
    for key, value in fields.items():
        setattr(params, key, enums[key][value] if key in enums else value)
    t0 = time.monotonic()
    server = xllamacpp.Server(params)
    load_s = time.monotonic() - t0
    root = str(server.listening_address).rstrip("/")
    rows = []
    try:
        messages = [
            {"role": "system", "content": prompts.SYSTEM_PROMPT},
            {"role": "user", "content": USER},
        ]
        for _ in range(repeat + 1):  # the first is a warm-up, not counted
            r = httpx.post(
                f"{root}/v1/chat/completions",
                json={
                    "messages": messages,
                    "max_tokens": 48,
                    "temperature": 0,
                    "cache_prompt": False,
                },
                timeout=300,
            )
            r.raise_for_status()
            rows.append(r.json()["timings"])
    finally:
        del server
    rows = rows[1:]
    return {
        "config": name,
        "load_s": round(load_s, 2),
        "prompt_tokens": rows[0]["prompt_n"],
        "prompt_tokens_per_s": round(statistics.median(r["prompt_per_second"] for r in rows), 1),
        "prompt_tokens_per_s_all": [round(r["prompt_per_second"], 1) for r in rows],
        "generated_tokens_per_s": round(
            statistics.median(r["predicted_per_second"] for r in rows), 1
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="config names, separated by ;")
    args = parser.parse_args()
    settings = load_settings()
    gguf = resolve_gguf(settings.llm.gguf_path, settings.index.data_dir / "cache")
    names = [n for n in CONFIGS if not args.only or n in args.only.split(";")]
    out = []
    for name in names:
        out.append(run_config(gguf, name, dict(CONFIGS[name]), args.repeat))
        print(json.dumps(out[-1]), file=sys.stderr, flush=True)
    print(json.dumps({"bench": "llama-settings", "gguf": gguf.name, "rows": out}, indent=1))


if __name__ == "__main__":
    main()
