"""Deployment annotations: bounds, target, schedule floors; bad values are reported, never raised."""

from __future__ import annotations

import pytest

from include.capacity.annotations import AnnotationError, deployment_view, parse_floors
from include.capacity.model import Floor

ON = {"yunfleet.io/autoscale": "true", "yunfleet.io/max-replicas": "10"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        ("08:00-20:00=5", (Floor(480, 1200, 5),)),
        ("22:00-02:00=2, 08:00-20:00=5", (Floor(1320, 120, 2), Floor(480, 1200, 5))),
        ("00:00-24:00=1", (Floor(0, 1440, 1),)),
        ("20:00-24:00=3", (Floor(1200, 0, 3),)),
    ],
)
def test_parse_floors(text: str, expected: tuple[Floor, ...]) -> None:
    assert parse_floors(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("8-20=5", "is not HH:MM-HH:MM=replicas"),
        ("08:00-20:00", "is not HH:MM-HH:MM=replicas"),
        ("08:00-25:00=1", "outside 00:00-24:00"),
        ("08:00-08:00=1", "empty window"),
        ("08:00-20:00=-1", "is not HH:MM-HH:MM=replicas"),
    ],
)
def test_parse_floors_refuses(text: str, message: str) -> None:
    with pytest.raises(AnnotationError, match=message):
        parse_floors(text)


def test_defaults_and_values() -> None:
    view = deployment_view("shop", "web", 3, ON, pod_cpu_request_m=250)
    assert (view.autoscale, view.min_replicas, view.max_replicas, view.target_cpu_percent) == (
        True,
        1,
        10,
        80,
    )
    assert view.error is None
    view = deployment_view(
        "shop",
        "web",
        3,
        {
            **ON,
            "yunfleet.io/min-replicas": "2",
            "yunfleet.io/target-cpu-utilization": "60",
            "yunfleet.io/schedule-floors": "08:00-20:00=5",
        },
        pod_cpu_request_m=250,
    )
    assert (view.min_replicas, view.target_cpu_percent, view.floors) == (2, 60, (Floor(480, 1200, 5),))


def test_not_annotated_is_not_autoscaled() -> None:
    view = deployment_view("shop", "web", 3, {"yunfleet.io/autoscale": "false"}, pod_cpu_request_m=250)
    assert not view.autoscale and view.error is None


@pytest.mark.parametrize(
    ("annotations", "cpu_m", "message"),
    [
        ({"yunfleet.io/autoscale": "true"}, 250, "max-replicas is required"),
        ({**ON, "yunfleet.io/max-replicas": "ten"}, 250, "not a whole number"),
        ({**ON, "yunfleet.io/min-replicas": "11"}, 250, "above yunfleet.io/max-replicas"),
        ({**ON, "yunfleet.io/target-cpu-utilization": "0"}, 250, "below 1"),
        (ON, 0, "requests no CPU"),
        ({**ON, "yunfleet.io/schedule-floors": "08:00-20:00=50"}, 250, "floor 50 is above"),
        ({**ON, "yunfleet.io/schedule-floors": "morning=5"}, 250, "HH:MM-HH:MM"),
    ],
)
def test_bad_annotation_is_reported_on_the_view(
    annotations: dict[str, str], cpu_m: int, message: str
) -> None:
    view = deployment_view("shop", "web", 3, annotations, pod_cpu_request_m=cpu_m)
    assert not view.autoscale
    assert view.error is not None and message in view.error and view.error.startswith("shop/web: ")
    assert "left at 3 replicas" in view.error
