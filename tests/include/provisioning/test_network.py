"""Choosing the VPC a cluster is placed in."""

from __future__ import annotations

import pytest

from include.provisioning.network import Network, choose_network

A = Network("vpc-a", "10.0.0.0/8", {"h": "vsw-a1"})
B = Network("vpc-b", "198.18.0.0/15", {"h": "vsw-b1", "i": "vsw-b2"})
C = Network("vpc-c", "172.16.0.0/12", {"h": "vsw-c1", "i": "vsw-c2"})


@pytest.mark.parametrize(
    ("candidates", "zones", "expected"),
    [
        ([A, B], ["h", "i"], B),  # the VPC with a vSwitch in every zone
        ([C, B, A], ["h", "i"], B),  # several do: the first by id
        ([A, B], ["h", "i", "j"], B),  # none does: the one covering most zones
        ([A, Network("vpc-0", "10.1.0.0/16", {"j": "vsw-0"})], ["h"], A),
        ([A], [], A),
        ([], ["h"], None),
    ],
)
def test_choose_network(candidates: list[Network], zones: list[str], expected: Network | None) -> None:
    assert choose_network(candidates, zones) == expected


def test_network_round_trips_through_json() -> None:
    assert Network.from_json(B.to_json()) == B
