"""Per-camera analysis profiles from the registry."""

from __future__ import annotations

from ambon_cv.bench.profiles import stream_profiles


def test_the_registry_gives_the_command_centers_load(registry):
    profiles = stream_profiles(registry, 55)
    assert [p.camera for p in profiles] == [c.id for c in registry.cameras]
    fights = [p for p in profiles if "fight" in p.kinds]
    assert len(fights) == 18
    # a hot spot decodes every frame of its sub stream for 5 fps fight analysis; garbage alone
    # needs only keyframes at 0.5 fps
    assert {(p.decode, p.rate_fps, p.stream) for p in fights} == {("all", 5.0, "sub")}
    quiet = [p for p in profiles if p.kinds == ("garbage",)]
    assert {(p.decode, p.rate_fps) for p in quiet} == {("keyframes", 0.5)}
    assert sum(p.rate_fps for p in profiles) == 18 * 5 + 37 * 0.5


def test_a_larger_load_repeats_the_mix_under_unique_names(registry):
    profiles = stream_profiles(registry, 60)
    assert profiles[55].camera == profiles[0].camera and profiles[55].name.endswith("#2")
    assert len({p.name for p in profiles}) == 60
