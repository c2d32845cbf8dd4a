"""params.yaml: the typed view and the errors a person gets when it is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambon_cv.config import ConfigError, Params, load_params, parse_overrides

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "params.yaml"
    file.write_text(text)
    return file


def test_project_params_load_with_every_stage_section():
    params = load_params(ROOT / "params.yaml")
    assert isinstance(params, Params)
    assert params.footage.source == "synthetic"
    assert params.footage.synthetic.width > 0
    assert params.frames.strategy in {"fixed_rate", "keyframes", "scene_change"}


def test_unknown_key_names_file_key_and_suggests(tmp_path):
    file = write(tmp_path, "footage:\n  synthetic:\n    sed: 3\n")
    with pytest.raises(ConfigError) as err:
        load_params(file)
    msg = str(err.value)
    assert str(file) in msg
    assert "footage.synthetic.sed" in msg
    assert "did you mean 'seed'" in msg


def test_unknown_section_is_refused(tmp_path):
    file = write(tmp_path, "footgae:\n  source: synthetic\n")
    with pytest.raises(ConfigError, match=r"footgae: unknown key \(did you mean 'footage'\?\)"):
        load_params(file)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("footage:\n  synthetic:\n    fps: fast\n", "valid number"),
        ("footage:\n  synthetic:\n    clips_per_camera: 1.5\n", "valid integer"),
        ("frames:\n  dedup:\n    enabled: 3\n", "valid boolean"),
        ("frames:\n  strategy: every_frame\n", "'fixed_rate', 'keyframes' or 'scene_change'"),
    ],
)
def test_wrong_type_names_the_expected_type(tmp_path, text, expected):
    file = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_params(file)
    assert expected in str(err.value)
    assert str(file) in str(err.value)


def test_out_of_range_value_is_refused(tmp_path):
    file = write(tmp_path, "footage:\n  max_bad_fraction: 1.5\n")
    with pytest.raises(ConfigError, match=r"footage.max_bad_fraction: .*less than or equal to 1"):
        load_params(file)


def test_source_needs_location(tmp_path):
    file = write(tmp_path, "footage:\n  source: s3\n  location: /not/a/bucket\n")
    with pytest.raises(ConfigError, match=r"s3://bucket/prefix"):
        load_params(file)


def test_missing_file_and_bad_yaml_are_explained(tmp_path):
    with pytest.raises(ConfigError, match=r"file not found"):
        load_params(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"not valid YAML"):
        load_params(write(tmp_path, "footage: [unclosed\n"))


def test_overrides_apply_and_are_validated(tmp_path):
    params = load_params(ROOT / "params.yaml", parse_overrides(["footage.synthetic.seed=7"]))
    assert params.footage.synthetic.seed == 7
    with pytest.raises(ConfigError, match=r"footage\.synthetic\.seeds: unknown key"):
        load_params(ROOT / "params.yaml", parse_overrides(["footage.synthetic.seeds=7"]))
    with pytest.raises(ConfigError, match=r"section\.key=value"):
        parse_overrides(["footage"])


def test_params_are_frozen():
    params = load_params(ROOT / "params.yaml")
    with pytest.raises(Exception, match="frozen"):
        params.footage.source = "s3"  # type: ignore[misc]
