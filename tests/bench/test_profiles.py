"""Per-camera analysis profiles from the registry."""

from __future__ import annotations

from ambon_cv.bench.profiles import stream_profiles


def test_the_registry_gives_the_command_centers_load(registry):
    profiles = stream_profiles(registry, 55)
    assert [p.camera for p in profiles] == [c.id for c in registry.cameras]
    fights = [p for p in profiles if "fight" in p.kinds]
    assert len(fights) == 18 and all(p.fight for p in fights)
    # a hot spot decodes every frame of its sub stream for the streaming fight analytic; the
    # detector runs at the garbage rate everywhere (fights do not come from it)
    assert {(p.decode, p.rate_fps, p.stream) for p in fights} == {("all", 0.5, "sub")}
    quiet = [p for p in profiles if p.kinds == ("garbage",)]
    assert {(p.decode, p.rate_fps, p.fight) for p in quiet} == {("keyframes", 0.5, False)}
    assert sum(p.rate_fps for p in profiles) == 55 * 0.5


def test_where_fights_come_from_the_detector_it_runs_at_the_fight_rate(registry):
    hot = [p for p in stream_profiles(registry, 55, "detector") if "fight" in p.kinds]
    assert {(p.decode, p.rate_fps, p.fight) for p in hot} == {("all", 5.0, False)}


def test_without_a_fight_analytic_no_hot_spot_decodes_every_frame(registry):
    profiles = stream_profiles(registry, 55, "none")
    assert {(p.decode, p.rate_fps, p.fight) for p in profiles} == {("keyframes", 0.5, False)}


def test_a_larger_load_repeats_the_mix_under_unique_names(registry):
    profiles = stream_profiles(registry, 60)
    assert profiles[55].camera == profiles[0].camera and profiles[55].name.endswith("#2")
    assert len({p.name for p in profiles}) == 60
