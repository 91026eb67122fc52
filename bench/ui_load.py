"""Load test of the Gradio app: N simultaneous chat sessions, each its own gradio_client.

Each session asks one question through the streaming endpoint /ask_events; times are
measured as a learner sees them, from sending the request (queue wait included): to the
chosen passages (first_passage), to the first streamed text (ttft) and to the checked
answer (total). Prints one JSON object:

    {"levels": [{"sessions": 1, "first_passage_p50_s": .., "ttft_p50_s": .., ...}, ...]}

Usage:
    python bench/ui_load.py --url http://127.0.0.1:7860          # a running `tutor ui`
    python bench/ui_load.py --data-dir DIR [--fake] [--levels 1,4,8]   # starts its own app

Only loopback addresses are accepted: this sends bursts of requests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

QUESTIONS = [
    "What is the motivation of multi-query attention?",
    "Why do CNNs work better than MLPs on images?",
    "What does the causal attention mask look like?",
    "Why is RoPE better than sinusoidal positional encoding?",
    "What is the difference between GRU and LSTM?",
    "How are decoder-only transformers trained?",
    "What is grouped-query attention?",
    "Why do RNNs work better than MLPs on time series?",
    "How does LoRA reduce the cost of fine-tuning?",
    "What is retrieval-augmented generation?",
    "How do diffusion models add and remove noise?",
    "Why does the KV cache grow with the context length?",
    "What does RLHF add to a pretrained language model?",
    "How is perplexity computed?",
    "Which papers does the roadmap list for model merging?",
    "What is the difference between MQA and GQA?",
]
FAKE_REPLY = (
    "Multi-query attention shares one key and value head across all query heads [1]. "
    "This shrinks the KV cache and speeds up decoding [1]."
)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None for no values.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([1.0, 2.0, 3.0, 4.0], 0.95)
    (2.0, 4.0)
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))
    return ordered[rank - 1]


def one_session(url: str, question: str, timeout: float) -> dict[str, Any]:
    from gradio_client import Client

    out: dict[str, Any] = {"question": question}
    try:
        client = Client(url, verbose=False)
        t0 = time.monotonic()
        job = client.submit(question, "", api_name="/ask_events")
        final: dict[str, Any] = {}
        for event in job:
            now = time.monotonic() - t0
            if now > timeout:
                job.cancel()
                raise TimeoutError(f"no complete answer in {timeout:g} s")
            kind = event.get("type")
            if kind == "sources" and "sources_s" not in out:
                out["sources_s"] = now
            elif kind == "text" and "ttft_s" not in out:
                out["ttft_s"] = now
            elif kind == "answer":
                final = event["answer"]
        out["total_s"] = time.monotonic() - t0
        out.setdefault("ttft_s", out["total_s"])  # declined before any text: the decline
        out["abstained"] = final.get("abstained")
        out["server_ttft_s"] = final.get("timings", {}).get("first_token_s")
    except Exception as exc:  # counted as an error of this level
        out["error"] = f"{type(exc).__name__}: {exc}"
    return out


def run_level(url: str, n: int, timeout: float, first: int = 0) -> dict[str, Any]:
    """`n` sessions at once, asking QUESTIONS[first], QUESTIONS[first + 1], ..."""
    results: list[dict[str, Any]] = [{} for _ in range(n)]

    def worker(i: int) -> None:
        results[i] = one_session(url, QUESTIONS[(first + i) % len(QUESTIONS)], timeout)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if "error" not in r]
    ttft = [r["ttft_s"] for r in ok]
    shown = [r["sources_s"] for r in ok if "sources_s" in r]
    total = [r["total_s"] for r in ok]

    def rnd(v: float | None) -> float | None:
        return None if v is None else round(v, 3)

    return {
        "sessions": n,
        "first_passage_p50_s": rnd(percentile(shown, 0.5)),
        "first_passage_p95_s": rnd(percentile(shown, 0.95)),
        "ttft_p50_s": rnd(percentile(ttft, 0.5)),
        "ttft_p95_s": rnd(percentile(ttft, 0.95)),
        "total_p50_s": rnd(percentile(total, 0.5)),
        "total_p95_s": rnd(percentile(total, 0.95)),
        "wall_s": rnd(time.monotonic() - t0),
        "errors": n - len(ok),
        "error_messages": sorted({r["error"] for r in results if "error" in r})[:3],
    }


def _start_app(args: argparse.Namespace) -> tuple[Any, str]:
    import socket

    from agent.runtime import Runtime
    from core.settings import load_settings
    from ui.app import launch

    overrides: dict[str, Any] = {"index.data_dir": args.data_dir, "corpus.dir": args.corpus_dir}
    if args.concurrency:
        overrides["ui.concurrency"] = args.concurrency
    settings = load_settings(overrides=overrides)
    runtime = Runtime(settings, fake_responses=[FAKE_REPLY] if args.fake else None)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Gradio prints its MCP banner on stdout even when quiet; stdout is this bench's JSON.
    with contextlib.redirect_stdout(sys.stderr):
        return launch(settings, "127.0.0.1", port, runtime=runtime, block=False, quiet=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--url", help="a running app (loopback only)")
    p.add_argument("--data-dir", type=Path, help="start an app over this data dir instead")
    p.add_argument("--corpus-dir", type=Path, help="corpus of that data dir (default: shipped)")
    p.add_argument("--fake", action="store_true", help="canned model replies (plumbing only)")
    p.add_argument("--concurrency", type=int, help="ui.concurrency of the app started here")
    p.add_argument("--levels", default="1,4,8", help="simultaneous sessions per level")
    p.add_argument("--timeout", type=float, default=600.0, help="longest wait per session")
    args = p.parse_args(argv)
    demo = None
    if args.url:
        url = args.url
    elif args.data_dir:
        demo, url = _start_app(args)
    else:
        p.error("give --url or --data-dir")
    host = urlparse(url).hostname or ""
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        p.error(f"refusing to load-test {host}: only loopback addresses")
    try:
        from gradio_client import Client

        client = Client(url, verbose=False)
        t0 = time.monotonic()
        while (status := client.predict(api_name="/status"))["phase"] not in ("ready", "failed"):
            if time.monotonic() - t0 > args.timeout:
                break
            time.sleep(1)
        if not status["ready"]:
            print(json.dumps({"error": f"app not ready: {status['detail']}"}))
            return 1
        levels = [int(x) for x in args.levels.split(",") if x.strip()]
        # Each level asks questions the server has not seen yet: a repeated prompt would be
        # answered from llama.cpp's prompt cache and time nothing but the cache.
        runs, first = [], 0
        for n in levels:
            runs.append(run_level(url, n, args.timeout, first))
            first += n
        report = {
            "url": url,
            "model": "fake" if args.fake else status["detail"],
            "levels": runs,
        }
        print(json.dumps(report, indent=2))
    finally:
        if demo is not None:
            from ui.app import stop

            stop(demo)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
