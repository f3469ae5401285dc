"""KMS Secrets Manager (API 2016-01-20) hook: the delivery secrets of node bootstrap.

Nodes receive their secret bootstrap material through a secret that the product creates, the
instance reads once with its RAM role, and the product deletes once the nodes have joined (see
``include.provisioning.delivery``). Secret values never reach a log line, an audit row (the
``SecretData`` key is masked) or an XCom: methods return names and flags only.

Error codes handled (KMS API reference, ``CreateSecret``/``DeleteSecret`` error tables):
``Rejected.ResourceExist`` (409) on create means the secret is already there (a retried task);
``Forbidden.ResourceNotFound`` (404) on delete means it is already gone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from include.errors import CloudError, ConfigurationError
from include.fleet.contract import TAG_CLUSTER
from include.provisioning.delivery import PURPOSE, TAG_PURPOSE, cluster_secret_prefix
from operators.hooks.base_alibaba import AlibabaCloudBaseHook

log = logging.getLogger(__name__)

#: The initial version of every delivery secret (``VersionId`` is required by CreateSecret).
VERSION_ID = "v1"
EXISTS = "Rejected.ResourceExist"
NOT_FOUND = "Forbidden.ResourceNotFound"
LIST_PAGE = 100


class KmsHook(AlibabaCloudBaseHook):
    """Create, list and delete Secrets Manager secrets in Yunfleet's terms."""

    product = "kms"

    def _kms_request(self, name: str, params: Mapping[str, Any]) -> Any:
        """The SDK request model (KMS requests carry no ``RegionId``: the endpoint is regional)."""
        body = {k: v for k, v in params.items() if v is not None}
        return getattr(self.models("kms"), f"{name}Request")().from_map(body)

    def create_secret(
        self,
        name: str,
        data: str,
        *,
        tags: Mapping[str, str] | None = None,
        description: str = "",
        encryption_key_id: str | None = None,
        cluster: str | None = None,
    ) -> dict[str, Any]:
        """CreateSecret (Generic, text, version ``v1``); an existing secret of that name is kept.

        :returns: ``{"secret_name": name, "created": bool}``.
        :raises ConfigurationError: empty name or data.
        :raises CloudError: any other failure (one audit row either way).
        """
        if not name or not data:
            raise ConfigurationError("a delivery secret needs a name and a value")
        request = self._kms_request(
            "CreateSecret",
            {
                "SecretName": name,
                "SecretData": data,
                "VersionId": VERSION_ID,
                "SecretDataType": "text",
                "SecretType": "Generic",
                "Description": description or None,
                "EncryptionKeyId": encryption_key_id,
                "Tags": json.dumps([{"TagKey": k, "TagValue": v} for k, v in (tags or {}).items()])
                if tags
                else None,
            },
        )
        try:
            self.invoke("CreateSecret", request, mutating=True, target=name, cluster=cluster)
        except CloudError as exc:
            if exc.code != EXISTS:
                raise
            log.info("delivery secret %s exists already (an earlier try created it); keeping it", name)
            return {"secret_name": name, "created": False}
        return {"secret_name": name, "created": True}

    def delete_secret(self, name: str, *, cluster: str | None = None) -> bool:
        """DeleteSecret with ``ForceDeleteWithoutRecovery`` (no recovery window for bootstrap material).

        :returns: False when the secret did not exist.
        """
        request = self._kms_request(
            "DeleteSecret", {"SecretName": name, "ForceDeleteWithoutRecovery": "true"}
        )
        try:
            self.invoke("DeleteSecret", request, mutating=True, target=name, cluster=cluster)
        except CloudError as exc:
            if exc.code != NOT_FOUND:
                raise
            log.info("delivery secret %s is already gone", name)
            return False
        return True

    def list_secret_names(self, *, cluster: str) -> list[str]:
        """Names of the delivery secrets of ``cluster`` (tag ``yunfleet:cluster`` and the name prefix)."""
        prefix = cluster_secret_prefix(cluster)
        names: list[str] = []
        page = 1
        filters = json.dumps(
            [{"Key": "TagKey", "Values": [TAG_CLUSTER]}, {"Key": "TagValue", "Values": [cluster]}]
        )
        while True:
            body = (
                self.invoke(
                    "ListSecrets",
                    self._kms_request(
                        "ListSecrets",
                        {"Filters": filters, "FetchTags": "true", "PageNumber": page, "PageSize": LIST_PAGE},
                    ),
                )
                or {}
            )
            rows = (body.get("SecretList") or {}).get("Secret") or []
            for row in rows:
                tags = {t.get("TagKey"): t.get("TagValue") for t in (row.get("Tags") or {}).get("Tag") or []}
                name = row.get("SecretName", "")
                if (
                    name.startswith(prefix)
                    and tags.get(TAG_CLUSTER) == cluster
                    and tags.get(TAG_PURPOSE) == PURPOSE
                ):
                    names.append(name)
            if len(rows) < LIST_PAGE or page * LIST_PAGE >= int(body.get("TotalCount") or 0):
                return sorted(names)
            page += 1

    def delete_cluster_secrets(self, cluster: str) -> list[str]:
        """Delete every delivery secret of ``cluster`` still in KMS (after its nodes joined, and on
        decommission). Idempotent: a second call finds nothing and makes no mutating call.

        :returns: the names deleted.
        """
        deleted = [
            name
            for name in self.list_secret_names(cluster=cluster)
            if self.delete_secret(name, cluster=cluster)
        ]
        if deleted:
            log.info("deleted %d delivery secret(s) of %s", len(deleted), cluster)
        return deleted
