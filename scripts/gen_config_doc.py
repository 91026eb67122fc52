"""Write docs/configuration.md from the Settings model (run after adding a setting)."""

from pathlib import Path

from core.paths import REPO_ROOT
from core.settings import ENV_VARS, Settings

lines = [
    "# Configuration",
    "",
    "Settings come from, lowest to highest precedence: defaults, a TOML config file",
    "(`--config PATH`, `TUTOR_CONFIG`, or `config.toml` in the user config dir), environment",
    "variables, and command-line options. Unknown keys are rejected.",
    "",
    "Example `config.toml`:",
    "",
    "```toml",
    "[llm]",
    'base_url = "http://gpu-host:8000/v1"   # a vLLM server',
    'model = "Qwen/Qwen2.5-7B-Instruct"',
    "",
    "[retrieval]",
    "k = 6",
    "```",
    "",
    "| setting | default | description |",
    "| --- | --- | --- |",
]
defaults = Settings(index={"data_dir": "<user data dir>/roadmap-tutor"})
for section, sfield in Settings.model_fields.items():
    model = sfield.annotation
    for name, field in model.model_fields.items():
        value = getattr(getattr(defaults, section), name)
        if isinstance(value, Path) and value.is_relative_to(REPO_ROOT):
            value = "<checkout>/" + str(value.relative_to(REPO_ROOT))
        lines.append(f"| `{section}.{name}` | `{value}` | {field.description} |")
lines += ["", "## Environment variables", "", "| variable | setting |", "| --- | --- |"]
for var, dotted in ENV_VARS.items():
    lines.append(f"| `{var}` | {('`' + dotted + '`') if dotted else 'path of the config file'} |")
Path(__file__).resolve().parents[1].joinpath("docs", "configuration.md").write_text(
    "\n".join(lines) + "\n"
)
