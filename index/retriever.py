"""Hybrid retrieval: dense (Chroma) + BM25, fused by reciprocal rank, with filters.

`HybridRetriever` is the library object; `RoadmapRetriever` exposes it as a
LangChain retriever for code that composes LangChain runnables.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from core.errors import IndexMissingError, InputError
from core.limits import check_count, check_text
from core.settings import Settings
from corpus.records import Chunk
from corpus.text import section_label, tokenize
from index.build_glosses import read_build_glosses
from index.chroma import chroma_client, get_collection
from index.embedders import Embedder
from index.expansion import TermTable, expand_tokens, learn_term_table, parallel_token_pairs
from index.fusion import (
    apply_quota,
    collapse_versions,
    normalize_per_group,
    per_group_rankings,
    reciprocal_rank_fusion,
)
from index.lexical import BM25Index
from index.store import IndexMeta, check_compatible, current_build_dir, read_chunks, read_meta

Mode = Literal["hybrid", "dense", "bm25"]


@dataclass(frozen=True)
class SearchFilters:
    """Restrict results. A language "zh" matches "zh-Hans" and "zh-Hant"."""

    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    section: str | None = None  # case-insensitive substring of the section path

    def accepts_language_code(self, language: str) -> bool:
        return not self.languages or any(
            language == lang or language.startswith(lang + "-") for lang in self.languages
        )

    def accepts_language(self, chunk: Chunk) -> bool:
        return self.accepts_language_code(chunk.language)

    def accepts(self, chunk: Chunk) -> bool:
        if not self.accepts_language(chunk):
            return False
        if self.sources and chunk.source not in self.sources:
            return False
        return not (
            self.section and self.section.lower() not in section_label(chunk.section).lower()
        )

    @property
    def empty(self) -> bool:
        return not (self.languages or self.sources or self.section)


@dataclass(frozen=True)
class SearchHit:
    chunk: Chunk
    score: float  # fused score (RRF), or the single retriever's score in dense/bm25 mode
    rank: int
    dense_score: float | None = None  # cosine similarity of query and passage
    bm25_score: float | None = None
    versions: tuple[Chunk, ...] = ()  # the same passage in other languages

    def to_json(self, original: str | None = None) -> dict[str, Any]:
        """JSON for people and tools. With the document's `original` text, `text` is
        exactly `original[start:end]` and `clean_text` what was indexed (furniture and
        inline pinyin removed); without it both are the indexed text."""
        c = self.chunk
        return {
            "rank": self.rank,
            "id": c.id,
            "text": original[c.start : c.end] if original is not None else c.text,
            "clean_text": c.text,
            "source": c.source,
            "section": list(c.section),
            "start": c.start,
            "end": c.end,
            "language": c.language,
            "kind": c.kind,
            "score": round(self.score, 6),
            "dense_score": None if self.dense_score is None else round(self.dense_score, 4),
            "bm25_score": None if self.bm25_score is None else round(self.bm25_score, 4),
            "versions": [
                {
                    "id": v.id,
                    "source": v.source,
                    "language": v.language,
                    "start": v.start,
                    "end": v.end,
                    "text": v.text,
                }
                for v in self.versions
            ],
        }


@dataclass
class _Loaded:
    build: Path
    meta: IndexMeta
    chunks: dict[str, Chunk]
    order: list[Chunk]
    bm25: BM25Index
    collection: Any
    languages: tuple[str, ...]  # every chunk language in the build, computed once
    gloss_ids: list[str]  # chunk id of each gloss vector
    gloss_vectors: np.ndarray  # unit-length rows, one per entry of gloss_ids
    term_table: TermTable | None = None  # learnt from the parallel chunks on first use


class HybridRetriever:
    """Cheap constructor; `warm_up()` loads the current build; `search()` answers."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()
        self._client: Any = None

    def warm_up(self) -> None:
        self._current()

    @property
    def meta(self) -> IndexMeta:
        return self._current().meta

    @property
    def chunks(self) -> list[Chunk]:
        return self._current().order

    def chunk(self, chunk_id: str) -> Chunk | None:
        return self._current().chunks.get(chunk_id)

    def _current(self) -> _Loaded:
        """The loaded build, reloaded when another process swapped in a new one."""
        build = current_build_dir(self.settings)
        if build is None:
            raise IndexMissingError(
                f"no index in {self.settings.index_dir}: run `tutor index build` to build it"
            )
        with self._lock:
            if self._loaded is None or self._loaded.build != build:
                meta = read_meta(self.settings)
                check_compatible(meta, self.settings, self.embedder)
                order = read_chunks(build)
                if self._client is None:
                    self._client = chroma_client(self.settings)
                gloss_ids, gloss_vectors = read_build_glosses(build)
                if len(gloss_ids):
                    norms = np.linalg.norm(gloss_vectors, axis=1, keepdims=True)
                    gloss_vectors = gloss_vectors / np.maximum(norms, 1e-12)
                self._loaded = _Loaded(
                    build=build,
                    meta=meta,
                    chunks={c.id: c for c in order},
                    order=order,
                    bm25=BM25Index.load(build / "bm25"),
                    collection=get_collection(self._client, meta.collection, self.embedder),
                    languages=tuple(sorted({c.language for c in order})),
                    gloss_ids=gloss_ids,
                    gloss_vectors=gloss_vectors,
                )
            return self._loaded

    def _dense(
        self,
        loaded: _Loaded,
        query: str,
        n: int,
        filters: SearchFilters,
        query_vector: np.ndarray | None = None,
    ) -> list[tuple[str, float]]:
        if not loaded.order:
            return []
        qvec = query_vector if query_vector is not None else self.embedder.embed_queries([query])[0]
        where: dict[str, Any] | None = None
        clauses: list[dict[str, Any]] = []
        if filters.sources:
            clauses.append({"source": {"$in": list(filters.sources)}})
        if filters.languages:
            langs = [lang for lang in loaded.languages if filters.accepts_language_code(lang)]
            clauses.append({"language": {"$in": langs or ["\u2205"]}})
        if len(clauses) == 1:
            where = clauses[0]
        elif clauses:
            where = {"$and": clauses}
        # Section filters are applied after the query: over-fetch to make room for them.
        fetch = min(len(loaded.order), n * (5 if filters.section else 1))
        res = loaded.collection.query(
            query_embeddings=[qvec], n_results=fetch, where=where, include=["distances"]
        )
        out = []
        for cid, dist in zip(res["ids"][0], res["distances"][0], strict=True):
            chunk = loaded.chunks.get(cid)
            if chunk is not None and filters.accepts(chunk):
                out.append((cid, 1.0 - float(dist)))
        if self.settings.retrieval.glosses:
            out = self._with_glosses(loaded, out, qvec, filters)
        return out[:n]

    def _with_glosses(
        self,
        loaded: _Loaded,
        dense: list[tuple[str, float]],
        qvec: np.ndarray,
        filters: SearchFilters,
    ) -> list[tuple[str, float]]:
        """The dense ranking with each glossed chunk at the better of its own similarity
        and its gloss's, re-sorted; a chunk the wide query did not reach may enter through
        its gloss. Exact (a matrix product): the glosses cover only the shipped corpus."""
        if not loaded.gloss_ids:
            return dense
        q = np.asarray(qvec, dtype=np.float32)
        sims = loaded.gloss_vectors @ (q / max(float(np.linalg.norm(q)), 1e-12))
        best = dict(dense)
        for cid, sim in zip(loaded.gloss_ids, sims.tolist(), strict=True):
            chunk = loaded.chunks.get(cid)
            if chunk is None or not filters.accepts(chunk):
                continue
            if sim > best.get(cid, -2.0):
                best[cid] = float(sim)
        return sorted(best.items(), key=lambda kv: -kv[1])

    def _bm25(
        self,
        loaded: _Loaded,
        query: str,
        n: int,
        filters: SearchFilters,
        tokens: Sequence[str] | None = None,
    ) -> list[tuple[str, float]]:
        mask = None
        if not filters.empty:
            mask = np.array([filters.accepts(loaded.chunks[i]) for i in loaded.bm25.ids])
        if tokens is not None:
            return loaded.bm25.search_tokens(tokens, n, allowed=mask)
        return loaded.bm25.search(query, n, allowed=mask)

    def term_table(self) -> TermTable:
        """The bilingual term table of the loaded build (learnt once, from its chunks)."""
        loaded = self._current()
        if loaded.term_table is None:
            loaded.term_table = learn_term_table(parallel_token_pairs(loaded.order))
        return loaded.term_table

    def _group_of(self, loaded: _Loaded, ids: Sequence[str]) -> dict[str, str]:
        by_family = self.settings.retrieval.language_groups == "family"
        return {
            i: loaded.chunks[i].language.split("-")[0] if by_family else loaded.chunks[i].language
            for i in ids
        }

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: Mode | None = None,
        collapse: bool = True,
        query_vector: np.ndarray | None = None,
        translations: Sequence[tuple[str, np.ndarray | None]] = (),
    ) -> list[SearchHit]:
        """Top-k passages for `query`, versions of one passage grouped under the best one.

        `query_vector` skips embedding the query (benchmarks, repeated queries).
        `translations` are the same query in other languages, each with its vector or
        None; in hybrid mode each adds a dense and a BM25 ranking to the fusion, weighted by
        `retrieval.translation_weight`, so a passage in the translation's language competes
        on its own words.
        """
        lim = self.settings.limits
        check_text(query, "the query", lim.max_query_chars, "limits.max_query_chars")
        if k is not None:
            check_count(k, "k", 1, lim.max_k, "limits.max_k")
        for text, _ in translations:
            check_text(text, "the translated query", lim.max_query_chars, "limits.max_query_chars")
        loaded = self._current()
        k = k or self.settings.retrieval.k
        filters = filters or SearchFilters()
        _check_filters(filters, loaded)
        mode = mode or self.settings.retrieval.mode
        n = max(self.settings.retrieval.candidates, k * 3)
        if mode != "bm25" and query_vector is None:
            query_vector = self.embedder.embed_queries([query])[0]
        rs = self.settings.retrieval
        per_language = mode == "hybrid" and rs.per_language_weight > 0
        per_language_bm25 = mode == "hybrid" and rs.per_language_bm25_weight > 0
        # One wide dense query serves both the global ranking and the per-language ones
        # (filtered Chroma queries cost ~16 ms each at 10k chunks; one wide query ~2 ms).
        wide = max(n, rs.per_language_pool)
        dense_wide = (
            self._dense(
                loaded,
                query,
                wide
                if per_language or (mode == "hybrid" and rs.dense_normalization != "none")
                else n,
                filters,
                query_vector,
            )
            if mode != "bm25"
            else []
        )
        lexical_wide = (
            self._bm25(loaded, query, wide if per_language_bm25 else n, filters)
            if mode != "dense"
            else []
        )
        dense, lexical = dense_wide[:n], lexical_wide[:n]
        dense_of = dict(dense_wide)
        bm25_of = dict(lexical_wide)
        group_of = self._group_of(loaded, [*dense_of, *bm25_of])
        if mode == "hybrid":
            if rs.dense_normalization == "per-language":
                # e5 scores same-language pairs higher: compare each passage with its own
                # language's candidates instead.
                dense = normalize_per_group(dense_wide, group_of)[:n]
            rankings = [[i for i, _ in dense], [i for i, _ in lexical]]
            weights = [rs.dense_weight, rs.bm25_weight]
            if per_language:
                # English passages dominate both rankings for an English question even when
                # the answer sits in the Chinese or French notes: give each language's best
                # passages a ranking of their own so they can compete.
                for ranking in per_group_rankings([i for i, _ in dense_wide], group_of, k).values():
                    rankings.append(ranking)
                    weights.append(rs.per_language_weight)
            if per_language_bm25:
                for ranking in per_group_rankings(
                    [i for i, _ in lexical_wide], group_of, k
                ).values():
                    rankings.append(ranking)
                    weights.append(rs.per_language_bm25_weight)
            if rs.expansion_weight > 0:
                translated = expand_tokens(tokenize(query), self.term_table())
                if translated:
                    expanded = self._bm25(loaded, query, n, filters, tokens=translated)
                    for i, score in expanded:
                        bm25_of.setdefault(i, score)
                    rankings.append([i for i, _ in expanded])
                    weights.append(rs.expansion_weight)
            if rs.translation_weight > 0:
                for text, vector in translations:
                    if vector is None:
                        vector = self.embedder.embed_queries([text])[0]
                    dense_t = self._dense(loaded, text, n, filters, vector)
                    lexical_t = self._bm25(loaded, text, n, filters)
                    # Ranking only: a hit's dense_score stays the original question's
                    # similarity, which the relevance gate (agent.min_relevance) was tuned on.
                    for i, score in lexical_t:
                        bm25_of.setdefault(i, score)
                    rankings += [[i for i, _ in dense_t], [i for i, _ in lexical_t]]
                    weights += [rs.translation_weight, rs.translation_weight]
            fused = reciprocal_rank_fusion(rankings, weights=weights, k=rs.rrf_k)
        else:
            fused = dense if mode == "dense" else lexical
        score_of = dict(fused)
        ranked = [i for i, _ in fused]
        groups = (
            collapse_versions(ranked, {i: loaded.chunks[i].parallel_id for i in ranked})
            if collapse
            else [(i, []) for i in ranked]
        )
        if mode == "hybrid" and rs.language_quota > 0:
            # A same-language neighbour may not take every slot: at most `language_quota`
            # passages of one language in the top k when others are available.
            others_of = dict(groups)
            heads = apply_quota(
                [head for head, _ in groups],
                self._group_of(loaded, [head for head, _ in groups]),
                k,
                rs.language_quota,
            )
            groups = [(head, others_of[head]) for head in heads]
        hits = []
        for rank, (cid, others) in enumerate(groups[:k], start=1):
            hits.append(
                SearchHit(
                    chunk=loaded.chunks[cid],
                    score=score_of[cid],
                    rank=rank,
                    dense_score=dense_of.get(cid),
                    bm25_score=bm25_of.get(cid),
                    versions=tuple(loaded.chunks[o] for o in others),
                )
            )
        return hits

    def best_similarity(self, query: str) -> float:
        """Highest cosine similarity of any passage to the query (relevance gate)."""
        loaded = self._current()
        top = self._dense(loaded, query, 1, SearchFilters())
        return top[0][1] if top else 0.0


def _short(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def _check_filters(filters: SearchFilters, loaded: _Loaded) -> None:
    """A filter naming no language or document of the index would silently return
    nothing: say so, with what the index does hold."""
    for lang in filters.languages:
        if not isinstance(lang, str) or not any(
            SearchFilters(languages=(lang,)).accepts_language_code(have)
            for have in loaded.languages
        ):
            families = sorted({have.split("-")[0] for have in loaded.languages})
            raise InputError(
                f"no passages in language {_short(str(lang))}: the index holds "
                + ", ".join(families + [h for h in loaded.languages if "-" in h])
            )
    if filters.sources:
        names = {c.source for c in loaded.order}
        for source in filters.sources:
            if source not in names:
                raise InputError(
                    f"no document {_short(str(source))} in the index: "
                    "`tutor index status` lists them"
                )


def hits_to_documents(hits: Sequence[SearchHit]) -> list[Document]:
    return [
        Document(
            id=h.chunk.id,
            page_content=h.chunk.text,
            metadata={
                "id": h.chunk.id,
                "source": h.chunk.source,
                "section": section_label(h.chunk.section),
                "start": h.chunk.start,
                "end": h.chunk.end,
                "language": h.chunk.language,
                "score": h.score,
                "dense_score": h.dense_score,
                "bm25_score": h.bm25_score,
            },
        )
        for h in hits
    ]


class RoadmapRetriever(BaseRetriever):
    """The hybrid retriever as a LangChain `BaseRetriever`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: HybridRetriever
    k: int = 5
    filters: SearchFilters | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return hits_to_documents(self.retriever.search(query, k=self.k, filters=self.filters))
