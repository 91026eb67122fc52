#!/usr/bin/env bash
# Install everything (idempotent), build the index if it is missing or stale, and
# start the main job: the Gradio UI on the embedded defaults when it exists,
# otherwise the terminal chat.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/tutor index build --if-needed
if .venv/bin/tutor ui --help >/dev/null 2>&1; then
  exec .venv/bin/tutor ui "$@"
fi
exec .venv/bin/tutor chat "$@"
