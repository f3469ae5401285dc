"""Error translation, the retry policy and ClientToken derivation."""

from __future__ import annotations

import pytest
import tenacity

from include.errors import (
    CloudError,
    CloudTimeoutError,
    IdempotencyMismatchError,
    PermanentCloudError,
    ResourceNotFoundError,
    ThrottlingError,
    TransientCloudError,
)
from include.fleet.contract import TaskIdentity, derive_client_token
from operators.utils.errors import classify, translate_sdk_error
from operators.utils.retry import RetryPolicy


@pytest.mark.parametrize(
    ("code", "status", "state_changing", "expected"),
    [
        ("Throttling", 400, False, ThrottlingError),
        ("Throttling.User", 400, True, ThrottlingError),
        (None, 429, False, ThrottlingError),
        ("ServiceUnavailable", 503, False, TransientCloudError),
        ("InternalError", 500, True, TransientCloudError),
        ("OperationConflict", 409, True, TransientCloudError),
        ("IncorrectInstanceStatus", 403, True, TransientCloudError),
        ("IncorrectInstanceStatus", 403, False, PermanentCloudError),
        ("IdempotentParameterMismatch", 400, True, IdempotencyMismatchError),
        ("InvalidInstanceId.NotFound", 404, False, ResourceNotFoundError),
        ("InvalidParameter", 400, True, PermanentCloudError),
        ("Forbidden.RAM", 403, True, PermanentCloudError),
    ],
)
def test_classification(code: str | None, status: int, state_changing: bool, expected: type) -> None:
    assert classify(code, status, state_changing=state_changing) is expected


def sdk_client_exception(code: str, status: int, retry_after: int | None = None) -> Exception:
    from alibabacloud_tea_openapi import exceptions

    data = {"Code": code, "Message": f"{code} happened", "RequestId": "REQ-1", "statusCode": status}
    if retry_after:
        return exceptions.ThrottlingException(
            status_code=status, code=code, message="m", retry_after=retry_after, data=data, request_id="REQ-1"
        )
    cls = exceptions.ClientException if status < 500 else exceptions.ServerException
    return cls(status_code=status, code=code, message="m", data=data, request_id="REQ-1")


def test_translate_real_sdk_exceptions() -> None:
    err = translate_sdk_error(
        sdk_client_exception("IdempotentParameterMismatch", 400),
        product="ecs",
        action="RunInstances",
        state_changing=True,
    )
    assert isinstance(err, IdempotencyMismatchError) and err.code == "IdempotentParameterMismatch"
    assert err.request_id == "REQ-1" and err.http_status == 400
    assert "ecs:RunInstances failed with IdempotentParameterMismatch (HTTP 400)" in str(err)
    assert "ClientToken was already used" in str(err) and "[request id REQ-1]" in str(err)
    throttled = translate_sdk_error(
        sdk_client_exception("Throttling", 400, retry_after=1500),
        product="ecs",
        action="X",
        state_changing=False,
    )
    assert isinstance(throttled, ThrottlingError) and throttled.retry_after == 1.5
    server = translate_sdk_error(
        sdk_client_exception("InternalError", 500), product="slb", action="Y", state_changing=False
    )
    assert isinstance(server, TransientCloudError) and server.retryable


def test_transport_failures_are_transient_timeouts() -> None:
    from darabonba.exceptions import RetryError

    err = translate_sdk_error(
        RetryError("Read timed out. (read timeout=0.5)"), product="ecs", action="Z", state_changing=True
    )
    assert isinstance(err, CloudTimeoutError) and err.code == "Timeout" and err.retryable
    refused = translate_sdk_error(
        RetryError("Connection refused"), product="ecs", action="Z", state_changing=True
    )
    assert isinstance(refused, CloudTimeoutError) and refused.code == "ConnectionError"


def test_retry_policy_retries_transient_only_and_is_bounded() -> None:
    policy = RetryPolicy(
        max_attempts=4,
        initial_backoff=0.001,
        max_backoff=0.002,
        throttle_max_attempts=4,
        throttle_initial_backoff=0.001,
        throttle_max_backoff=0.002,
    )
    attempts: list[int] = []

    def always_throttled() -> None:
        attempts.append(1)
        raise ThrottlingError("slow down", code="Throttling")

    with pytest.raises(ThrottlingError):
        policy.call(always_throttled)
    assert len(attempts) == 4

    attempts.clear()

    def permanent() -> None:
        attempts.append(1)
        raise PermanentCloudError("bad", code="InvalidParameter")

    with pytest.raises(PermanentCloudError):
        policy.call(permanent)
    assert len(attempts) == 1

    outcomes = iter([TransientCloudError("x", code="ServiceUnavailable"), None])

    def flaky() -> str:
        exc = next(outcomes)
        if exc:
            raise exc
        return "done"

    assert policy.call(flaky) == "done"


def test_retry_policy_honours_retry_after_and_caps_it() -> None:
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=2.0, throttle_max_backoff=2.0)

    def state_for(exc: CloudError) -> tenacity.RetryCallState:
        state = tenacity.RetryCallState(retry_object=policy.retrying(), fn=None, args=(), kwargs={})
        state.set_exception((type(exc), exc, None))
        return state

    assert policy.wait(state_for(ThrottlingError("t", retry_after=1.25))) == 1.25
    assert policy.wait(state_for(ThrottlingError("t", retry_after=99.0))) == 2.0
    jittered = [policy.wait(state_for(TransientCloudError("t"))) for _ in range(20)]
    assert all(0 <= w <= 2.0 for w in jittered) and len(set(jittered)) > 1


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_client_token_is_stable_across_tries_and_distinct_per_intent() -> None:
    try1 = TaskIdentity("provision_cluster", "manual__1", "workers", 2, try_number=1)
    try2 = TaskIdentity("provision_cluster", "manual__1", "workers", 2, try_number=2)
    token = derive_client_token(try1, "run-instances:demo:general:cn-hangzhou-h:0+3")
    assert token == derive_client_token(try2, "run-instances:demo:general:cn-hangzhou-h:0+3")
    assert token.startswith("yf-") and len(token) <= 64 and token.isascii()
    others = {
        derive_client_token(try1, "run-instances:demo:general:cn-hangzhou-h:3+1"),
        derive_client_token(
            TaskIdentity("provision_cluster", "manual__1", "workers", 3),
            "run-instances:demo:general:cn-hangzhou-h:0+3",
        ),
        derive_client_token(
            TaskIdentity("provision_cluster", "manual__2", "workers", 2),
            "run-instances:demo:general:cn-hangzhou-h:0+3",
        ),
    }
    assert token not in others and len(others) == 3
    with pytest.raises(ValueError, match="intent"):
        derive_client_token(try1, "")
