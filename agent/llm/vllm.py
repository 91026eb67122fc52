"""The GPU deployment: vLLM serves the same OpenAI protocol the tutor already speaks.

vLLM pins its own CUDA torch and cannot share the tutor's venv, so it is never imported
here: we only build its command line and look for its executable.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence

from agent.llm.server import SERVED_MODEL_NAME

VLLM_INSTALL_HINT = (
    "vLLM is not installed. It needs a GPU host and its own CUDA torch, so install it in a "
    "separate virtual environment there: python -m venv vllm-env && . vllm-env/bin/activate "
    "&& pip install 'roadmap-tutor[vllm]'; then run `vllm serve MODEL --served-model-name "
    "local --port 8000` and point the tutor at it with llm.base_url = "
    "'http://GPU_HOST:8000/v1' (TUTOR_LLM_BASE_URL)."
)


def vllm_command(
    model: str, port: int = 8000, host: str = "127.0.0.1", extra: Sequence[str] = ()
) -> list[str]:
    """`vllm serve` for `model`, served under the name the tutor asks for ("local")."""
    return [
        "vllm", "serve", model,
        "--host", host,
        "--port", str(port),
        "--served-model-name", SERVED_MODEL_NAME,
        *extra,
    ]  # fmt: skip


def vllm_available() -> bool:
    """Whether a `vllm` executable is on PATH (we never import it)."""
    return shutil.which("vllm") is not None
