"""The camera registry: 55 cameras, validated on load, errors that name the camera."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ambon_cv.config import ConfigError, load_cameras

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "data" / "cameras.yaml"


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(REGISTRY.read_text())


def save(tmp_path: Path, data: dict) -> Path:
    file = tmp_path / "cameras.yaml"
    file.write_text(yaml.safe_dump(data, sort_keys=False))
    return file


def test_registry_has_the_command_centers_cameras():
    registry = load_cameras(REGISTRY)
    assert len(registry.cameras) == 55
    assert sum(c.owner == "pemkot" for c in registry.cameras) == 32
    assert sum(c.owner == "polda" for c in registry.cameras) == 23
    places = " | ".join(c.place for c in registry.cameras)
    assert "Kantor Lurah Nusaniwe" in places
    assert "Kudamati, Lorong Farmasi" in places
    kudamati = next(c for c in registry.cameras if "Lorong Farmasi" in c.place)
    assert kudamati.kecamatan == "Nusaniwe"
    assert kudamati.analytic("fight") is not None
    assert all(c.analytic("garbage") is not None for c in registry.cameras)


def test_no_literal_credentials_anywhere():
    for cam in load_cameras(REGISTRY).cameras:
        for stream in cam.streams.values():
            userinfo = stream.url.split("://", 1)[1].split("@", 1)[0]
            assert all(part.startswith("${") for part in userinfo.split(":")), cam.id


def test_literal_password_is_refused_naming_the_camera(tmp_path, raw):
    url = raw["cameras"][4]["streams"]["main"]["url"]
    raw["cameras"][4]["streams"]["main"]["url"] = url.replace("${AMBON_PEMKOT_PASSWORD}", "hunter2")
    with pytest.raises(ConfigError) as err:
        load_cameras(save(tmp_path, raw))
    msg = str(err.value)
    assert "camera 'pemkot-05'" in msg
    assert "streams.main" in msg
    assert "${ENV_VAR}" in msg
    assert "hunter2" not in msg


def test_duplicate_id_is_named(tmp_path, raw):
    raw["cameras"][1]["id"] = raw["cameras"][0]["id"]
    with pytest.raises(ConfigError, match="camera id 'pemkot-01' appears twice"):
        load_cameras(save(tmp_path, raw))


def test_unknown_key_is_named_with_its_camera(tmp_path, raw):
    raw["cameras"][2]["plcae"] = "typo"
    with pytest.raises(ConfigError) as err:
        load_cameras(save(tmp_path, raw))
    msg = str(err.value)
    assert "camera 'pemkot-03' (cameras[2]): plcae: unknown key (did you mean 'place'?)" in msg


def test_analysis_rate_must_fit_the_stream(tmp_path, raw):
    raw["cameras"][0]["analytics"][0]["rate_fps"] = 5.0  # keyframes every 2 s give 0.5 fps
    pattern = r"camera 'pemkot-01'.*keyframes decoding .* at most 0.5 fps"
    with pytest.raises(ConfigError, match=pattern):
        load_cameras(save(tmp_path, raw))


def test_wrong_types_name_camera_and_field(tmp_path, raw):
    raw["cameras"][7]["streams"]["sub"]["width"] = "wide"
    raw["cameras"][8]["owner"] = "army"
    with pytest.raises(ConfigError) as err:
        load_cameras(save(tmp_path, raw))
    msg = str(err.value)
    assert "'pemkot-08' (cameras[7]): streams.sub.width: Input should be a valid integer" in msg
    assert "'pemkot-09' (cameras[8]): owner: Input should be 'pemkot' or 'polda'" in msg


def test_stream_url_resolves_from_environment():
    cam = load_cameras(REGISTRY)["pemkot-02"]
    env = {"AMBON_PEMKOT_USER": "viewer", "AMBON_PEMKOT_PASSWORD": "s3cret"}
    assert cam.streams["sub"].resolved_url(env).startswith("rtsp://viewer:s3cret@")
    with pytest.raises(ConfigError, match="AMBON_PEMKOT_PASSWORD"):
        cam.streams["sub"].resolved_url({"AMBON_PEMKOT_USER": "viewer"})


def test_unknown_camera_lookup_suggests():
    registry = load_cameras(REGISTRY)
    with pytest.raises(KeyError, match="did you mean 'pemkot-02'"):
        registry.select(["pemkot02"])
    assert [c.id for c in registry.select(["polda-03", "pemkot-01"])] == ["pemkot-01", "polda-03"]
