from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import ENV_VARS, Settings, load_settings

pytestmark = pytest.mark.unit


def test_precedence_defaults_file_env_override(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[retrieval]\nk = 7\n[llm]\nmodel = "from-file"\nbase_url = "http://file"\n')
    env = {"TUTOR_LLM_MODEL": "from-env"}
    s = load_settings(
        cfg, overrides={"llm.base_url": "http://arg", "retrieval.candidates": None}, environ=env
    )
    assert s.retrieval.k == 7  # file over default
    assert s.llm.model == "from-env"  # env over file
    assert s.llm.base_url == "http://arg"  # explicit argument over everything
    assert s.retrieval.candidates == Settings().retrieval.candidates  # None does not clobber


def test_unknown_keys_are_rejected_with_their_name(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[retrieval]\ntop_k = 3\n")
    with pytest.raises(ConfigError, match="retrieval.top_k"):
        load_settings(cfg, environ={})


def test_bad_values_and_files_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[retrieval\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad, environ={})
    with pytest.raises(ConfigError, match="retrieval.k"):
        load_settings(overrides={"retrieval.k": 0}, environ={})


def test_env_var_for_data_dir(tmp_path):
    s = load_settings(environ={"TUTOR_DATA_DIR": str(tmp_path)})
    assert s.index.data_dir == Path(tmp_path)
    assert s.index_dir == Path(tmp_path) / "index"


def test_every_env_var_names_a_real_field():
    s = Settings()
    for var, dotted in ENV_VARS.items():
        if not dotted:
            continue
        section, field = dotted.split(".")
        assert hasattr(getattr(s, section), field), var


def test_every_setting_is_described_and_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    for section_name, section_field in Settings.model_fields.items():
        assert section_field.description, section_name
        section_model = section_field.annotation
        for name, field in section_model.model_fields.items():
            assert field.description, f"{section_name}.{name} has no description"
            assert f"`{section_name}.{name}`" in doc, f"{section_name}.{name} missing from docs"
    for var in ENV_VARS:
        assert f"`{var}`" in doc, f"{var} missing from docs/configuration.md"


def test_tests_never_see_the_real_user_config_data_dir_or_tutor_variables(
    isolated_user_dirs, tmp_path_factory
):
    import os

    from core.paths import default_config_path, default_data_dir

    assert default_config_path().is_relative_to(isolated_user_dirs)
    assert default_data_dir().is_relative_to(isolated_user_dirs)
    assert Settings().index.data_dir.is_relative_to(tmp_path_factory.getbasetemp())
    assert not [v for v in os.environ if v.startswith("TUTOR_")]


def test_a_user_config_is_read_without_an_environment_and_stays_in_its_test(
    isolated_user_dirs,
):
    from core.paths import default_config_path

    path = default_config_path()
    path.parent.mkdir(parents=True)
    path.write_text("[retrieval]\nk = 3\n", encoding="utf-8")
    assert load_settings(environ={}).retrieval.k == 3


def test_the_previous_test_left_no_user_config(isolated_user_dirs):
    assert load_settings(environ={}).retrieval.k == Settings().retrieval.k
