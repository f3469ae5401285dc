"""KmsHook against the sandbox: delivery secrets created, kept on a retry, listed and deleted per
cluster; one audit row per mutating call and no secret value in any of them."""

from __future__ import annotations

import json
from typing import Any

from alibabacloud_kms20160120 import models as kms_models

from include.audit import AuditStore
from include.provisioning.delivery import delivery_tags
from operators.hooks.kms import KmsHook

VALUE = json.dumps(
    {
        "version": 1,
        "files": [{"path": "/etc/kubernetes/kubeadm.yaml", "permissions": "0600", "content": "tok3n-s3cret"}],
    }
)


def test_delivery_secrets_lifecycle_is_audited_without_values(
    cloud_env: Any, audit_store: AuditStore, task_context: Any
) -> None:
    hook = KmsHook(audit_sink=audit_store, audit_context=task_context, cluster="demo")
    name = "yunfleet/demo/workers-general-cn-hangzhou-h-0123456789ab"
    assert hook.create_secret(name, VALUE, tags=delivery_tags("demo"), cluster="demo") == {
        "secret_name": name,
        "created": True,
    }
    assert hook.create_secret(name, "other", tags=delivery_tags("demo"), cluster="demo")["created"] is False
    got = cloud_env.kms_client().get_secret_value(kms_models.GetSecretValueRequest(secret_name=name)).body
    assert got.secret_data == VALUE  # the retry kept the first value
    hook.create_secret("yunfleet/other/x-1", VALUE, tags=delivery_tags("other"), cluster="other")
    assert hook.list_secret_names(cluster="demo") == [name]
    assert hook.delete_cluster_secrets("demo") == [name]
    assert hook.delete_cluster_secrets("demo") == []  # converged: nothing left, no mutating call
    assert hook.delete_secret(name) is False
    rows = audit_store.list(ticket_id="OPS-1234")
    assert [(r.action, r.outcome, r.error_code) for r in rows] == [
        ("CreateSecret", "ok", None),
        ("CreateSecret", "error", "Rejected.ResourceExist"),
        ("CreateSecret", "ok", None),
        ("DeleteSecret", "ok", None),
        ("DeleteSecret", "error", "Forbidden.ResourceNotFound"),
    ]
    assert rows[0].target == name and rows[0].request["SecretName"] == name
    text = json.dumps([r.request for r in rows]) + " ".join(str(r.target) for r in rows)
    assert "tok3n-s3cret" not in text and rows[0].request["SecretData"] == "***"
