"""HMAC-signed outcome callbacks."""

from __future__ import annotations

import json

import pytest

from include.provisioning.callback import callback_body, sign, verify


def body() -> bytes:
    return callback_body(
        dag_id="provision_cluster", run_id="r1", cluster="demo", ticket_id="T-1", outcome="success"
    )


def test_body_is_canonical_json() -> None:
    data = json.loads(body())
    assert data["outcome"] == "success" and data["ticket_id"] == "T-1"
    assert body() == body()


def test_signature_round_trip() -> None:
    header = sign("s3cret", body(), timestamp=1000)
    assert header.startswith("t=1000,v1=")
    assert verify("s3cret", body(), header, now=1010)


@pytest.mark.parametrize(
    ("secret", "payload", "now"),
    [("wrong", None, 1010), ("s3cret", b"{}", 1010), ("s3cret", None, 2000)],
)
def test_tampering_or_replay_is_rejected(secret: str, payload: bytes | None, now: int) -> None:
    header = sign("s3cret", body(), timestamp=1000)
    assert not verify(secret, payload or body(), header, now=now)


def test_garbage_header_rejected() -> None:
    assert not verify("s3cret", body(), "nonsense")


def test_unknown_outcome_refused() -> None:
    with pytest.raises(ValueError, match="outcome must be"):
        callback_body(dag_id="d", run_id="r", cluster="c", ticket_id="t", outcome="maybe")
