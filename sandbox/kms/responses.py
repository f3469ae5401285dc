"""KMS Secrets Manager actions (API 2016-01-20): parse parameters, call the model, serialise."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox.core.errors import InvalidParameter
from sandbox.core.params import Params, paginate
from sandbox.core.timefmt import iso_seconds
from sandbox.kms.models import DEFAULT_RECOVERY_DAYS, KmsBackend, Secret, parse_tags

if TYPE_CHECKING:
    from sandbox.world import World


def backend(world: World) -> KmsBackend:
    from sandbox.kms import kms_backend

    return kms_backend(world)


def _tags_view(secret: Secret) -> dict[str, Any]:
    return {"Tag": [{"TagKey": k, "TagValue": v} for k, v in sorted(secret.tags.items())]}


def create_secret(world: World, p: Params) -> dict[str, Any]:
    secret = backend(world).create_secret(
        name=p.req("SecretName"),
        data=p.req("SecretData"),
        version_id=p.req("VersionId"),
        data_type=p.str("SecretDataType", "text") or "text",
        secret_type=p.str("SecretType", "Generic") or "Generic",
        description=p.str("Description", "") or "",
        tags=parse_tags(p.str("Tags")),
        encryption_key_id=p.str("EncryptionKeyId"),
        now=world.now(),
    )
    return {
        "Arn": secret.arn,
        "SecretName": secret.name,
        "VersionId": secret.current().version_id,
        "SecretType": secret.secret_type,
    }


def get_secret_value(world: World, p: Params) -> dict[str, Any]:
    secret, data = backend(world).get_secret_value(p.req("SecretName"), world.now())
    version = secret.current()
    return {
        "SecretName": secret.name,
        "VersionId": version.version_id,
        "SecretData": data,
        "SecretDataType": secret.data_type,
        "SecretType": secret.secret_type,
        "VersionStages": {"VersionStage": list(version.stages)},
        "CreateTime": iso_seconds(version.created_at),
    }


def delete_secret(world: World, p: Params) -> dict[str, Any]:
    days = (
        p.int("RecoveryWindowInDays", DEFAULT_RECOVERY_DAYS, minimum=7, maximum=30) or DEFAULT_RECOVERY_DAYS
    )
    secret = backend(world).delete_secret(
        p.req("SecretName"), force=p.bool("ForceDeleteWithoutRecovery"), recovery_days=days, now=world.now()
    )
    return {"SecretName": secret.name, "PlannedDeleteTime": iso_seconds(secret.planned_delete_at)}


def describe_secret(world: World, p: Params) -> dict[str, Any]:
    secret = backend(world).find(p.req("SecretName"), world.now())
    body: dict[str, Any] = {
        "Arn": secret.arn,
        "SecretName": secret.name,
        "SecretType": secret.secret_type,
        "Description": secret.description,
        "EncryptionKeyId": secret.encryption_key_id or "",
        "CreateTime": iso_seconds(secret.created_at),
        "UpdateTime": iso_seconds(secret.updated_at),
    }
    if secret.planned_delete_at:
        body["PlannedDeleteTime"] = iso_seconds(secret.planned_delete_at)
    if p.bool("FetchTags"):
        body["Tags"] = _tags_view(secret)
    return body


def list_secrets(world: World, p: Params) -> dict[str, Any]:
    raw = p.str("Filters")
    try:
        filters = json.loads(raw) if raw else []
    except ValueError as error:
        raise InvalidParameter("Filters", "It must be a JSON array of {Key, Values}.") from error
    if not isinstance(filters, list) or len(filters) > 10 or not all(isinstance(f, dict) for f in filters):
        raise InvalidParameter("Filters", "It must be a JSON array of at most 10 {Key, Values}.")
    number = p.int("PageNumber", 1, minimum=1) or 1
    size = p.int("PageSize", 10, minimum=1, maximum=100) or 10
    found = backend(world).list_secrets(filters, world.now())
    rows = []
    for secret in paginate(found, number, size):
        row: dict[str, Any] = {
            "SecretName": secret.name,
            "SecretType": secret.secret_type,
            "CreateTime": iso_seconds(secret.created_at),
            "UpdateTime": iso_seconds(secret.updated_at),
        }
        if secret.planned_delete_at:
            row["PlannedDeleteTime"] = iso_seconds(secret.planned_delete_at)
        if p.bool("FetchTags"):
            row["Tags"] = _tags_view(secret)
        rows.append(row)
    return {"SecretList": {"Secret": rows}, "TotalCount": len(found), "PageNumber": number, "PageSize": size}


ACTIONS = {
    "CreateSecret": create_secret,
    "GetSecretValue": get_secret_value,
    "DeleteSecret": delete_secret,
    "DescribeSecret": describe_secret,
    "ListSecrets": list_secrets,
}
