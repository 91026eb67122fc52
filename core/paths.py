"""Where things live: the checkout, the user's config file and the default data dir.

The user directories come from platformdirs and are looked up at call time (so the
XDG_* variables in force then decide them on Linux).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "roadmap-tutor"


def default_data_dir() -> Path:
    """The per-user data dir: index, learner data, eval runs, caches."""
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def default_config_path() -> Path:
    """The per-user config file `load_settings` reads when none is named."""
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, appauthor=False)) / "config.toml"
