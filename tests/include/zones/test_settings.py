"""ZoneHealthSettings: defaults, parsing from a connection extra or params, errors naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from include.zones.settings import DEFAULT_SETTINGS, ZoneHealthSettings


def test_defaults_follow_the_issue_and_the_anchors() -> None:
    s = DEFAULT_SETTINGS
    assert (s.probe_interval_s, s.schedule_interval_s, s.fail_after) == (5.0, 60.0, 3)
    assert (s.recover_after, s.stable_window_s, s.min_healthy_fraction) == (5, 60.0, 0.5)
    assert (s.evacuation_expiry_s, s.restore_steps) == (3600.0, (0.1, 0.5, 1.0))
    assert (s.slb_write_quota, s.slb_quota_window_s, s.max_servers_per_call) == (90, 60.0, 20)
    assert s.signals == ("ecs", "slb", "nodes", "apiserver")


def test_from_json_overrides_and_round_trips() -> None:
    s = ZoneHealthSettings.from_json(
        {
            "fail_after": 2,
            "stable_window_s": 30,
            "restore_steps": [0.25, 1],
            "zone_min_healthy_fraction": {"cn-hangzhou-h": 0.8},
            "signals": ["slb", "nodes"],
        }
    )
    assert (s.fail_after, s.stable_window_s, s.restore_steps) == (2, 30.0, (0.25, 1.0))
    assert s.min_healthy_for("cn-hangzhou-h") == 0.8 and s.min_healthy_for("cn-hangzhou-i") == 0.5
    assert ZoneHealthSettings.from_json(s.to_json()) == s
    assert ZoneHealthSettings.from_json(None) == DEFAULT_SETTINGS


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"fail_afterr": 3}, r"unknown zone health settings \['fail_afterr'\]"),
        ({"fail_after": "3"}, "fail_after must be an integer"),
        ({"fail_after": True}, "fail_after must be an integer"),
        ({"fail_after": 0}, "fail_after must be >= 1"),
        ({"probe_interval_s": "5s"}, "probe_interval_s must be a number"),
        ({"probe_interval_s": 0}, "probe_interval_s must be > 0"),
        ({"stable_window_s": -1}, "stable_window_s must be >= 0"),
        ({"min_healthy_fraction": 0}, r"min_healthy_fraction must be in \(0, 1\]"),
        ({"min_healthy_fraction": 1.5}, r"min_healthy_fraction must be in \(0, 1\]"),
        ({"zone_min_healthy_fraction": {"z": 2}}, r"zone_min_healthy_fraction\['z'\] must be in"),
        ({"zone_min_healthy_fraction": [0.5]}, "zone_min_healthy_fraction must be an object"),
        ({"zone_min_healthy_fraction": {"z": "x"}}, r"zone_min_healthy_fraction\['z'\] must be a number"),
        ({"signals": ["ecs", "ping"]}, "signals must be a non-empty subset"),
        ({"signals": []}, "signals must be a non-empty subset"),
        ({"signals": "ecs"}, "signals must be a list"),
        ({"restore_steps": [0.5, 0.1, 1.0]}, "restore_steps must increase strictly"),
        ({"restore_steps": [0.1, 0.5]}, "end with 1.0"),
        ({"restore_steps": [0, 1.0]}, "restore_steps must increase"),
        ({"restore_steps": ["a", 1.0]}, r"restore_steps\[0\] must be a number"),
        ({"max_servers_per_call": 21}, "max_servers_per_call must be in 1..20"),
        ({"evacuation_expiry_s": 30}, "evacuation_expiry_s must be in 60"),
        ({"evacuation_expiry_s": 7200, "max_evacuation_expiry_s": 3600}, "evacuation_expiry_s must be in 60"),
        ({"max_evacuation_expiry_s": 80 * 3600}, "max_evacuation_expiry_s must be in 60..259200"),
        ({"slb_write_quota": 0}, "slb_write_quota must be >= 1"),
    ],
)
def test_bad_values_are_refused_naming_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ZoneHealthSettings.from_json(data)


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(ValueError) as err:
        ZoneHealthSettings(fail_after=0, recover_after=0)
    assert "fail_after" in str(err.value) and "recover_after" in str(err.value)
