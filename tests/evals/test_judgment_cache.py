"""The judgment cache: answers survive a reopen; a key changes with the model and the call."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.judgment_cache import JudgmentCache, cache_key

pytestmark = pytest.mark.unit


def test_values_survive_a_reopen(tmp_path: Path) -> None:
    key = cache_key("m1", "verdict", {"prompt": "p"})
    cache = JudgmentCache(tmp_path / "c")
    assert cache.get(key) is None
    cache.put(key, {"reply": "Yes", "supported": True})
    cache.close()
    again = JudgmentCache(tmp_path / "c")
    assert again.get(key) == {"reply": "Yes", "supported": True}
    again.close()


def test_the_key_names_model_kind_and_inputs() -> None:
    key = cache_key("m1", "verdict", {"prompt": "p"})
    assert key == cache_key("m1", "verdict", {"prompt": "p"})
    assert key != cache_key("m2", "verdict", {"prompt": "p"})
    assert key != cache_key("m1", "split", {"prompt": "p"})
    assert key != cache_key("m1", "verdict", {"prompt": "q"})
