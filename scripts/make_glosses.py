"""Write English glosses of the shipped corpus's non-English chunks (corpus/glosses.jsonl).

Chunks the corpus exactly as `tutor index build` does (same settings, same embedder
tokenizer), then asks the local model, at temperature 0 and with a bounded answer, for a
1-3 sentence English gloss of each non-English chunk. Resumable: a chunk whose (id, text
hash) already has a row is skipped, and each row is appended and flushed as soon as it is
written, so an interrupted run loses at most one request. Progress goes to stderr.

    HF_HUB_OFFLINE=1 python scripts/make_glosses.py                 # the whole corpus
    HF_HUB_OFFLINE=1 python scripts/make_glosses.py --limit 5       # throughput check
    python scripts/make_glosses.py --base-url http://gpu-host:8000/v1 --model qwen

The model is the tutor's (`llm.*` settings: the embedded llama.cpp on the bundled
Qwen2.5-Coder-1.5B, a server started by `tutor llm serve`, or `--base-url`). Languages are
done in the order of `--languages`: the small Chinese and Japanese documents first,
then the Chinese notes (where English questions miss most), French, Spanish.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from langchain_core.messages import HumanMessage, SystemMessage

from agent.llm.client import Endpoint, make_chat_model, resolve_endpoint
from agent.llm.model_files import MODEL_FILENAME, MODEL_SHA256
from core.errors import LLMError
from core.settings import Settings, load_settings
from corpus.documents import load_corpus
from corpus.glosses import (
    GLOSSES_FILENAME,
    GlossRecord,
    gloss_row_json,
    read_glosses,
    text_digest,
)
from corpus.records import Chunk
from index.embedders import make_embedder
from index.store import chunk_docs

DEFAULT_LANGUAGES = ("zh-Hant", "ja", "zh-Hans", "fr", "es")
SYSTEM_PROMPT = (
    "You translate and summarise passages from a study corpus on generative AI. "
    "Given a passage in another language, write an English gloss of one to three "
    "sentences that says what the passage says. Keep every name, model, number and "
    "technical term (in English where one exists). Write only the gloss."
)


def gloss_prompt(chunk: Chunk) -> str:
    section = " > ".join(chunk.section)
    head = f"Section: {section}\n" if section else ""
    return f"{head}Passage ({chunk.language}):\n{chunk.text}\n\nEnglish gloss:"


def clean_gloss(text: str) -> str:
    """The model's answer as one line, without a leading label it sometimes adds."""
    out = " ".join(text.split())
    for label in ("English gloss:", "Gloss:"):
        if out.lower().startswith(label.lower()):
            out = out[len(label) :].strip()
    return out


def model_id(settings: Settings, endpoint: Endpoint) -> str:
    if settings.llm.base_url or endpoint.owned_server is None:
        return f"{endpoint.base_url} model={endpoint.model}"
    if settings.llm.gguf_path:
        return f"{Path(settings.llm.gguf_path).name}"
    return f"{MODEL_FILENAME} sha256:{MODEL_SHA256}"


def corpus_chunks(settings: Settings) -> list[Chunk]:
    """The shipped corpus's chunks, exactly as `index.store.build_index` makes them."""
    embedder = make_embedder(settings.embedder)
    return chunk_docs(settings, embedder, load_corpus(settings.corpus.dir))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=None, help="settings file (TOML)")
    ap.add_argument("--out", type=Path, default=None, help="default: <corpus dir>/glosses.jsonl")
    ap.add_argument("--languages", nargs="+", default=list(DEFAULT_LANGUAGES))
    ap.add_argument("--limit", type=int, default=None, help="gloss at most this many chunks")
    ap.add_argument("--max-tokens", type=int, default=80, help="longest gloss, in tokens")
    ap.add_argument("--timeout-s", type=float, default=180.0, help="longest wait per request")
    ap.add_argument("--base-url", default=None, help="an OpenAI-compatible endpoint to use")
    ap.add_argument("--model", default=None, help="model name sent to --base-url")
    args = ap.parse_args(argv)

    overrides: dict[str, object] = {}
    if args.base_url:
        overrides["llm.base_url"] = args.base_url
    if args.model:
        overrides["llm.model"] = args.model
    settings = load_settings(args.config, overrides=overrides)
    out = args.out or settings.corpus.dir / GLOSSES_FILENAME

    chunks = corpus_chunks(settings)
    done = {(r.chunk_id, r.text_sha256) for r in read_glosses(out)}
    order = {lang: i for i, lang in enumerate(args.languages)}
    todo = [
        c
        for c in sorted((c for c in chunks if c.language in order), key=lambda c: order[c.language])
        if (c.id, text_digest(c.text)) not in done
    ]
    if args.limit is not None:
        todo = todo[: args.limit]
    print(
        f"{len(chunks)} chunks, {len(done)} glossed already, {len(todo)} to do -> {out}",
        file=sys.stderr,
    )
    if not todo:
        return 0

    llm = settings.llm.model_copy(
        update={"temperature": 0.0, "max_tokens": args.max_tokens, "timeout_s": args.timeout_s}
    )
    endpoint = resolve_endpoint(llm, settings.index.data_dir)
    failed = 0
    try:
        model = make_chat_model(llm, endpoint)
        generator = model_id(settings, endpoint)
        started = time.monotonic()
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a", encoding="utf-8") as fh:
            for i, chunk in enumerate(todo, start=1):
                t0 = time.monotonic()
                try:
                    reply = model.invoke(
                        [SystemMessage(SYSTEM_PROMPT), HumanMessage(gloss_prompt(chunk))]
                    )
                except LLMError as exc:
                    failed += 1
                    print(f"[{i}/{len(todo)}] {chunk.id}: {exc}", file=sys.stderr)
                    continue
                gloss = clean_gloss(str(reply.content))
                if not gloss:
                    failed += 1
                    print(f"[{i}/{len(todo)}] {chunk.id}: empty answer", file=sys.stderr)
                    continue
                row = GlossRecord(
                    chunk_id=chunk.id,
                    text_sha256=text_digest(chunk.text),
                    source=chunk.source,
                    language=chunk.language,
                    gloss=gloss,
                    model=generator,
                )
                fh.write(gloss_row_json(row) + "\n")
                fh.flush()
                took = time.monotonic() - t0
                rate = (time.monotonic() - started) / i
                left = rate * (len(todo) - i)
                print(
                    f"[{i}/{len(todo)}] {chunk.language} {chunk.id} {took:.1f}s "
                    f"(mean {rate:.1f}s, ~{left / 60:.0f} min left)",
                    file=sys.stderr,
                )
    finally:
        endpoint.close()
    print(f"done: {len(todo) - failed} written, {failed} failed (rerun to retry)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
