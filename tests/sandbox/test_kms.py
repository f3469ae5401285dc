"""KMS Secrets Manager through the official SDK: the secret lifecycle, the real error codes, faults,
the call log and encryption at rest."""

from __future__ import annotations

import json

import pytest
from alibabacloud_kms20160120 import models as kms_models
from alibabacloud_tea_openapi.exceptions import ClientException

VALUE = json.dumps(
    {"version": 1, "files": [{"path": "/x", "permissions": "0600", "content": "s3cr3t-v4lue"}]}
)


def _error(call) -> ClientException:
    with pytest.raises(ClientException) as info:
        call()
    return info.value


def _create(client, name: str, data: str = VALUE, **fields):
    return client.create_secret(
        kms_models.CreateSecretRequest(secret_name=name, secret_data=data, version_id="v1", **fields)
    ).body


def test_secret_lifecycle(clean_sandbox):
    client = clean_sandbox.kms_client()
    tags = json.dumps([{"TagKey": "yunfleet:cluster", "TagValue": "demo"}])
    created = _create(client, "yunfleet/demo/workers-1", tags=tags, description="node bootstrap")
    assert created.secret_name == "yunfleet/demo/workers-1" and created.version_id == "v1"
    assert created.arn == "acs:kms:cn-hangzhou:1234567890123456:secret/yunfleet/demo/workers-1"
    got = client.get_secret_value(kms_models.GetSecretValueRequest(secret_name=created.arn)).body
    assert got.secret_data == VALUE and got.version_stages.version_stage == ["ACSCurrent"]
    listed = client.list_secrets(
        kms_models.ListSecretsRequest(
            fetch_tags="true", filters=json.dumps([{"Key": "TagValue", "Values": ["demo"]}])
        )
    ).body
    assert [s.secret_name for s in listed.secret_list.secret] == ["yunfleet/demo/workers-1"]
    assert listed.secret_list.secret[0].tags.tag[0].tag_key == "yunfleet:cluster"
    deleted = client.delete_secret(
        kms_models.DeleteSecretRequest(
            secret_name="yunfleet/demo/workers-1", force_delete_without_recovery="true"
        )
    ).body
    assert deleted.secret_name == "yunfleet/demo/workers-1"
    gone = _error(
        lambda: client.get_secret_value(
            kms_models.GetSecretValueRequest(secret_name="yunfleet/demo/workers-1")
        )
    )
    assert (gone.code, gone.status_code) == ("Forbidden.ResourceNotFound", 404)


def test_error_codes(clean_sandbox):
    client = clean_sandbox.kms_client()
    _create(client, "yunfleet/demo/a")
    exists = _error(lambda: _create(client, "yunfleet/demo/a"))
    assert (exists.code, exists.status_code) == ("Rejected.ResourceExist", 409)
    missing = _error(
        lambda: client.delete_secret(
            kms_models.DeleteSecretRequest(secret_name="nope", force_delete_without_recovery="true")
        )
    )
    assert (missing.code, missing.status_code) == ("Forbidden.ResourceNotFound", 404)
    assert _error(lambda: _create(client, "acs/reserved")).code == "InvalidParameter"
    assert _error(lambda: _create(client, "yunfleet/demo/big", "x" * 30_721)).code == "InvalidParameter"
    client.delete_secret(kms_models.DeleteSecretRequest(secret_name="yunfleet/demo/a"))  # 30-day window
    window = _error(lambda: _create(client, "yunfleet/demo/a"))
    assert (window.code, window.status_code) == ("Rejected.ResourceInDeleteWindow", 409)


def test_faults_call_log_and_encryption_at_rest(clean_sandbox):
    client = clean_sandbox.kms_client()
    clean_sandbox.set_faults(
        [
            {
                "product": "kms",
                "action": "CreateSecret",
                "error": "Rejected.Throttling",
                "http_status": 429,
                "count": 1,
            }
        ]
    )
    throttled = _error(lambda: _create(client, "yunfleet/demo/f"))
    assert throttled.code == "Rejected.Throttling"
    since = clean_sandbox.calls()["next"]
    _create(client, "yunfleet/demo/f")
    client.get_secret_value(kms_models.GetSecretValueRequest(secret_name="yunfleet/demo/f"))
    calls = clean_sandbox.calls(since)["calls"]
    assert [(c["product"], c["action"], c["status"]) for c in calls] == [
        ("kms", "CreateSecret", 200),
        ("kms", "GetSecretValue", 200),
    ]
    assert calls[0]["params"]["SecretName"] == "yunfleet/demo/f"
    assert "s3cr3t-v4lue" not in json.dumps(calls) and "<redacted" in calls[0]["params"]["SecretData"]
    state = json.dumps(clean_sandbox.state())
    assert "yunfleet/demo/f" in state and "s3cr3t-v4lue" not in state
