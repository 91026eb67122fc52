from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agent.llm.vllm import VLLM_INSTALL_HINT, vllm_available, vllm_command


@pytest.mark.unit
def test_vllm_command_serves_under_the_tutors_model_name() -> None:
    cmd = vllm_command("Qwen/Qwen2.5-7B-Instruct", 8001, "0.0.0.0", ["--max-model-len", "8192"])
    assert cmd == [
        "vllm", "serve", "Qwen/Qwen2.5-7B-Instruct",
        "--host", "0.0.0.0", "--port", "8001",
        "--served-model-name", "local",
        "--max-model-len", "8192",
    ]  # fmt: skip


@pytest.mark.unit
def test_vllm_available_looks_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not vllm_available()
    exe = tmp_path / "vllm"
    exe.write_text("#!/bin/sh\n", encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    assert vllm_available()
    assert os.environ["PATH"] == str(tmp_path)


@pytest.mark.unit
def test_install_hint_says_where_and_how() -> None:
    assert "pip install 'roadmap-tutor[vllm]'" in VLLM_INSTALL_HINT
    assert "separate virtual environment" in VLLM_INSTALL_HINT and "GPU" in VLLM_INSTALL_HINT
