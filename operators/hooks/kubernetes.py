"""Fleet Kubernetes hook: reach any registered cluster by name, with audited mutating helpers.

Built on the cncf-kubernetes ``KubernetesHook`` (its cached typed clients and client-side request
timeout) with ``get_conn`` replaced: the API server URL comes from the ``alibaba_cloud``
connection's ``kube_server_template`` (default ``https://api.{cluster}.{domain}:6443``), the CA
from its ``kube_ca_file`` or the registry, and the hook authenticates with the cluster's admin
client certificate (mTLS, kubeadm's ``admin.conf`` identity) kept encrypted in the registry. The
certificate and key are written for the client library into a private temporary directory (0700,
files 0600) that is removed with the hook. Hook arguments win over the connection and registry;
an explicit ``token`` replaces the certificate with a bearer token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import urllib3
from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.utils import parse_quantity

from include.audit import Redactor
from include.errors import CloudError, ConfigurationError
from include.provisioning.bootstrap_tokens import (
    DEFAULT_TTL,
    SECRET_NAMESPACE,
    BootstrapToken,
    new_bootstrap_token,
    rfc3339,
    token_secret_manifest,
)
from operators.hooks.kubernetes_nodes import NodeMaintenanceMixin
from operators.hooks.kubernetes_readiness import NodeReadinessMixin
from operators.utils.audit import AuditContext, AuditRecorder, AuditSink, audited_call
from operators.utils.connection_config import AlibabaCloudConnectionConfig
from operators.utils.kubernetes_errors import PRODUCT, DrainTimeoutError, translate_api_exception
from operators.utils.kubernetes_models import NodeInfo, PodInfo
from operators.utils.retry import RetryPolicy
from operators.waiters import WaiterMixin

__all__ = ["DrainTimeoutError", "FleetKubernetesHook", "translate_api_exception"]
T = TypeVar("T")
log = logging.getLogger(__name__)


#: Retries of Kubernetes calls before the connection's ``retry`` extra is applied.
KUBERNETES_RETRY = RetryPolicy(max_attempts=5, max_total_seconds=60.0)


class FleetKubernetesHook(NodeReadinessMixin, NodeMaintenanceMixin, WaiterMixin, KubernetesHook):
    """Talk to the Kubernetes API of a registered cluster.

    :param cluster: the cluster's name in the fleet registry.
    :param server, ca_file: override the URL and CA bundle (argument > connection / registry).
    :param token: authenticate with this bearer token instead of the admin client certificate.
    :param request_timeout: client-side (connect, read) timeout in seconds for every request.
    """

    hook_name = "Yunfleet cluster"
    #: the key of ``operators.utils.products.PRODUCTS`` and of ``waiters/kubernetes.json``
    product = "kubernetes"

    def __init__(
        self,
        cluster: str,
        *,
        alibaba_cloud_conn_id: str = "alibaba_cloud_default",
        yunfleet_db_conn_id: str = "yunfleet_db",
        server: str | None = None,
        token: str | None = None,
        ca_file: str | None = None,
        request_timeout: tuple[float, float] = (5.0, 30.0),
        retry_policy: RetryPolicy | None = None,
        dry_run: bool = False,
        audit_sink: AuditSink | None = None,
        audit_context: AuditContext | None = None,
    ) -> None:
        super().__init__(conn_id=None, kubernetes_conn_id=None)
        if not cluster:
            raise ConfigurationError("cluster name is required")
        self.cluster = cluster
        self.alibaba_cloud_conn_id = alibaba_cloud_conn_id
        self.yunfleet_db_conn_id = yunfleet_db_conn_id
        self._server, self._token, self._ca_file = server, token, ca_file
        self.request_timeout = request_timeout
        self._retry_policy = retry_policy
        self.dry_run = dry_run
        self._audit_sink = audit_sink
        self._audit_context = audit_context
        self._prefetched: Any = None

    # connection ---------------------------------------------------------------------------

    async def aprefetch_connections(self) -> None:
        """Read both connections on the event loop (triggers): sync reads from a thread cannot reach them."""
        try:
            self._prefetched = await self.aget_connection(self.alibaba_cloud_conn_id)
        except Exception as exc:  # a missing connection leaves the defaults
            log.warning("Connection %r not found (%s)", self.alibaba_cloud_conn_id, exc)
        if not (self._server and self._token and self._ca_file):
            await self.registry_hook.aprefetch_connections()

    @cached_property
    def cloud_config(self) -> AlibabaCloudConnectionConfig:
        try:
            conn = self._prefetched or self.get_connection(self.alibaba_cloud_conn_id)
            extra = {
                k.removeprefix("extra__alibaba_cloud__"): v for k, v in (conn.extra_dejson or {}).items()
            }
        except Exception as exc:  # a missing connection leaves the defaults
            log.warning("Connection %r not found (%s); using defaults", self.alibaba_cloud_conn_id, exc)
            extra = {}
        return AlibabaCloudConnectionConfig.resolve(self.alibaba_cloud_conn_id, extra=extra)

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        """The hook argument, else 5 attempts / 60 s for server errors and timeouts and the throttling
        back-off of :class:`RetryPolicy`, with the connection extra ``retry`` applied."""
        return self._retry_policy or RetryPolicy.from_settings(self.cloud_config.retry, KUBERNETES_RETRY)

    @cached_property
    def registry_hook(self) -> Any:
        from operators.hooks.registry import YunfleetRegistryHook

        return YunfleetRegistryHook(self.yunfleet_db_conn_id)

    @cached_property
    def server(self) -> str:
        if self._server:
            return self._server
        domain = self.cloud_config.dns_domain
        if "{domain}" in self.cloud_config.kube_server_template:
            domain = self.registry_hook.registry.require_cluster(self.cluster).domain or domain
        return self.cloud_config.kube_server(self.cluster, domain)

    @cached_property
    def client_certificate_files(self) -> tuple[str, str]:
        """``(cert_file, key_file)`` of the admin client certificate, written privately for urllib3.

        :raises ConfigurationError: the registry holds no admin certificate for the cluster.
        """
        creds = self.registry_hook.registry.get_credentials(self.cluster)
        cert, key = creds.get("admin_cert_pem"), creds.get("admin_key_pem")
        if not cert or not key:
            raise ConfigurationError(
                f"cluster {self.cluster!r} has no admin client certificate in the registry; "
                "re-run provision_cluster to issue one"
            )
        directory = tempfile.mkdtemp(prefix="yunfleet-kube-")
        weakref.finalize(self, shutil.rmtree, directory, True)
        paths = []
        for name, pem in (("admin.crt", cert), ("admin.key", key)):
            path = os.path.join(directory, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(pem)
            paths.append(path)
        return paths[0], paths[1]

    @cached_property
    def ca_file(self) -> str:
        if self._ca_file:
            return self._ca_file
        if self.cloud_config.kube_ca_file:
            return self.cloud_config.kube_ca_file
        pem = self.registry_hook.registry.require_cluster(self.cluster).ca_cert
        if not pem:
            raise ConfigurationError(f"no CA for cluster {self.cluster!r}: set kube_ca_file or store ca_cert")
        path = (
            Path(tempfile.gettempdir()) / f"yunfleet-ca-{hashlib.sha256(pem.encode()).hexdigest()[:16]}.crt"
        )
        if not path.exists():
            path.write_text(pem)
        return str(path)

    def get_conn(self) -> client.ApiClient:
        configuration = client.Configuration()
        configuration.host = self.server.rstrip("/")
        if self._token:
            # kubernetes >= 36 reads "BearerToken"; older clients read "authorization".
            configuration.api_key = {"BearerToken": self._token, "authorization": self._token}
            configuration.api_key_prefix = {"BearerToken": "Bearer", "authorization": "Bearer"}
        else:
            configuration.cert_file, configuration.key_file = self.client_certificate_files
        configuration.ssl_ca_cert = self.ca_file
        configuration.verify_ssl = True
        configuration.retries = 0  # the hook's RetryPolicy retries; urllib3 must not add its own
        self._is_in_cluster = False
        api = client.ApiClient(configuration=configuration)
        return api

    def test_connection(self) -> tuple[bool, str]:
        try:
            version = client.VersionApi(self.api_client).get_code(_request_timeout=self.request_timeout)
            # /version is public on most API servers; listing namespaces proves the credentials work.
            self.core_v1_client.list_namespace(limit=1, _request_timeout=self.request_timeout)
        except Exception as exc:  # the UI wants a message, never a traceback
            return False, f"{type(exc).__name__}: {str(exc)[:200]}"
        return True, f"connected to {self.cluster}: Kubernetes {version.git_version}"

    # calls --------------------------------------------------------------------------------

    @cached_property
    def audit(self) -> AuditRecorder:
        sink = self._audit_sink or self.registry_hook.audit_store
        redactor = Redactor()
        if self._token:
            redactor.add_secret(self._token)
        return AuditRecorder(
            sink=sink, context=self._audit_context or AuditContext.current(), redactor=redactor
        )

    def _call(self, action: str, fn: Callable[[], T], *, mutating: bool) -> T:
        """``fn()`` under the retry policy, API and transport errors translated to ``CloudError``."""

        def once() -> T:
            try:
                return fn()
            except (ApiException, OSError, ValueError, urllib3.exceptions.HTTPError) as exc:
                raise translate_api_exception(exc, action, mutating=mutating) from exc

        return self.retry_policy.call(once)

    def _read(self, action: str, fn: Callable[[], T]) -> T:
        return self._call(action, fn, mutating=False)

    def _mutate(self, action: str, target: str, request: Mapping[str, Any], fn: Callable[[], T]) -> T | None:
        if self.dry_run:
            self.audit.record(
                product=PRODUCT,
                action=action,
                outcome="dry_run",
                request=request,
                target=target,
                cluster=self.cluster,
            )
            return None
        return audited_call(
            lambda: self.audit,
            lambda: self._call(action, fn, mutating=True),
            product=PRODUCT,
            action=action,
            request=request,
            target=target,
            cluster=self.cluster,
        )

    # reads --------------------------------------------------------------------------------

    def api_server_ready(self) -> bool:
        """True when ``/readyz`` answers ok; False while it does not (5xx, 404 of a cluster not up yet,
        timeouts, refused connections).

        :raises PermanentCloudError: 401 or 403: the credentials are refused, which waiting cannot fix.
        """
        try:
            response = self.api_client.call_api(
                "/readyz",
                "GET",
                auth_settings=["BearerToken"],
                response_types_map={},
                _return_http_data_only=False,
                _preload_content=False,
                _request_timeout=self.request_timeout,
            )
            status = response[1] if isinstance(response, tuple) else response.status
        except ApiException as exc:
            if exc.status in (401, 403):  # waiting cannot fix credentials the server refuses
                raise translate_api_exception(exc, "GetReadyz", mutating=False) from exc
            log.info("API server of %s not ready: %s", self.cluster, str(exc)[:200])
            return False
        except Exception as exc:  # not ready yet is an answer, not an error
            log.info("API server of %s not ready: %s", self.cluster, str(exc)[:200])
            return False
        return int(status) == 200

    def api_server_ready_for_waiter(self) -> dict[str, Any]:
        """Waiter operation: ``{"Ready": bool}``."""
        return {"Ready": self.api_server_ready()}

    def list_node_objects(self, label_selector: str | None = None) -> list[client.V1Node]:
        """Nodes as the client's ``V1Node`` models (labels, taints, providerID, allocatable, conditions,
        creation time): one ``list`` call (audit action ``ListNodes``), retried like every read.

        :param label_selector: e.g. ``"yunfleet.io/node-pool=general"``; all nodes when empty.
        :raises CloudError: the call failed after the retry policy (a ``PermanentCloudError`` for 4xx
            other than 409/429).
        """
        result = self._read(
            "ListNodes",
            lambda: self.core_v1_client.list_node(
                label_selector=label_selector or "", _request_timeout=self.request_timeout
            ),
        )
        return list(result.items)

    def list_nodes(self, label_selector: str | None = None) -> list[NodeInfo]:
        """Nodes summarised as :class:`NodeInfo` (pool, zone, readiness, allocatable); see
        :meth:`list_node_objects`."""
        return [NodeInfo.from_api(n) for n in self.list_node_objects(label_selector)]

    def list_pod_objects(
        self,
        namespace: str | None = None,
        *,
        node_name: str | None = None,
        label_selector: str | None = None,
        phase: str | None = None,
    ) -> list[client.V1Pod]:
        """Pods as the client's ``V1Pod`` models (owners, requests, node selector, affinity, tolerations,
        conditions): one ``list`` call (audit action ``ListPods``) of one namespace, or of all when
        ``namespace`` is empty, retried like every read.

        :param node_name: only the pods bound to this node (field selector ``spec.nodeName``).
        :param phase: only the pods in this phase, e.g. ``Pending`` (field selector ``status.phase``).
        :raises CloudError: the call failed after the retry policy.
        """
        selectors = [
            f"spec.nodeName={node_name}" if node_name else "",
            f"status.phase={phase}" if phase else "",
        ]
        field_selector = ",".join(s for s in selectors if s)
        kwargs = {
            "label_selector": label_selector or "",
            "field_selector": field_selector,
            "_request_timeout": self.request_timeout,
        }
        if namespace:
            pods = self._read(
                "ListPods", lambda: self.core_v1_client.list_namespaced_pod(namespace, **kwargs)
            )
        else:
            pods = self._read("ListPods", lambda: self.core_v1_client.list_pod_for_all_namespaces(**kwargs))
        return list(pods.items)

    def list_pods(
        self, namespace: str | None = None, *, node_name: str | None = None, label_selector: str | None = None
    ) -> list[PodInfo]:
        """Pods with their summed container CPU/memory requests (:class:`PodInfo`); see
        :meth:`list_pod_objects`."""
        return [
            PodInfo.from_api(p)
            for p in self.list_pod_objects(namespace, node_name=node_name, label_selector=label_selector)
        ]

    def get_deployment(self, namespace: str, name: str) -> client.V1Deployment:
        return self._read(
            "GetDeployment",
            lambda: self.apps_v1_client.read_namespaced_deployment(
                name, namespace, _request_timeout=self.request_timeout
            ),
        )

    def list_deployments(self, namespace: str | None = None) -> list[client.V1Deployment]:
        if namespace:
            result = self._read(
                "ListDeployments",
                lambda: self.apps_v1_client.list_namespaced_deployment(
                    namespace, _request_timeout=self.request_timeout
                ),
            )
        else:
            result = self._read(
                "ListDeployments",
                lambda: self.apps_v1_client.list_deployment_for_all_namespaces(
                    _request_timeout=self.request_timeout
                ),
            )
        return list(result.items)

    def list_services(self, namespace: str | None = None) -> list[client.V1Service]:
        """Services of one namespace or of all (one ``list`` call, retried like every read)."""
        if namespace:
            result = self._read(
                "ListServices",
                lambda: self.core_v1_client.list_namespaced_service(
                    namespace, _request_timeout=self.request_timeout
                ),
            )
        else:
            result = self._read(
                "ListServices",
                lambda: self.core_v1_client.list_service_for_all_namespaces(
                    _request_timeout=self.request_timeout
                ),
            )
        return list(result.items)

    def node_metrics(self) -> dict[str, dict[str, int]]:
        """{node: {"cpu_millicores": n, "memory_bytes": n}} from metrics.k8s.io."""
        body = self._read(
            "ListNodeMetrics",
            lambda: self.custom_object_client.list_cluster_custom_object(
                "metrics.k8s.io", "v1beta1", "nodes", _request_timeout=self.request_timeout
            ),
        )
        return {
            item["metadata"]["name"]: {
                "cpu_millicores": int(parse_quantity(item["usage"].get("cpu", "0")) * 1000),
                "memory_bytes": int(parse_quantity(item["usage"].get("memory", "0"))),
            }
            for item in body.get("items", [])
        }

    def pod_metrics(self, namespace: str) -> dict[str, dict[str, int]]:
        """{pod: {"cpu_millicores": n, "memory_bytes": n}} summed over containers."""
        body = self._read(
            "ListPodMetrics",
            lambda: self.custom_object_client.list_namespaced_custom_object(
                "metrics.k8s.io", "v1beta1", namespace, "pods", _request_timeout=self.request_timeout
            ),
        )
        out: dict[str, dict[str, int]] = {}
        for item in body.get("items", []):
            cpu = sum(parse_quantity(c["usage"].get("cpu", "0")) for c in item.get("containers", []))
            mem = sum(parse_quantity(c["usage"].get("memory", "0")) for c in item.get("containers", []))
            out[item["metadata"]["name"]] = {"cpu_millicores": int(cpu * 1000), "memory_bytes": int(mem)}
        return out

    def all_pod_metrics(self) -> dict[str, dict[str, int]]:
        """Usage of every pod of the cluster from ``metrics.k8s.io`` in one cluster-wide call (audit action
        ``ListPodMetrics``): ``{"<namespace>/<pod>": {"cpu_millicores": n, "memory_bytes": n}}``, summed
        over containers. A pod the metrics API has no sample for yet is absent.

        :raises CloudError: the call failed after the retry policy (404 when no metrics API is served).
        """
        body = self._read(
            "ListPodMetrics",
            lambda: self.custom_object_client.list_cluster_custom_object(
                "metrics.k8s.io", "v1beta1", "pods", _request_timeout=self.request_timeout
            ),
        )
        out: dict[str, dict[str, int]] = {}
        for item in body.get("items", []):
            containers = item.get("containers", [])
            cpu = sum(parse_quantity(c["usage"].get("cpu", "0")) for c in containers)
            mem = sum(parse_quantity(c["usage"].get("memory", "0")) for c in containers)
            meta = item["metadata"]
            out[f"{meta['namespace']}/{meta['name']}"] = {
                "cpu_millicores": int(cpu * 1000),
                "memory_bytes": int(mem),
            }
        return out

    # writes -------------------------------------------------------------------------------

    def scale_deployment(self, namespace: str, name: str, replicas: int) -> dict[str, Any]:
        """Set a deployment's replicas; no call when it already has them."""
        if replicas < 0:
            raise ConfigurationError(f"replicas must be >= 0, got {replicas}")
        current = self.get_deployment(namespace, name).spec.replicas or 0
        if current == replicas:
            return {"deployment": f"{namespace}/{name}", "replicas": replicas, "changed": False}
        body = {"spec": {"replicas": replicas}}
        self._mutate(
            "ScaleDeployment",
            f"{namespace}/{name}",
            {"namespace": namespace, "name": name, "replicas": replicas, "previous": current},
            lambda: self.apps_v1_client.patch_namespaced_deployment_scale(
                name, namespace, body, _request_timeout=self.request_timeout
            ),
        )
        return {
            "deployment": f"{namespace}/{name}",
            "replicas": replicas,
            "previous": current,
            "changed": True,
        }

    def create_bootstrap_token(
        self, *, ttl: dt.timedelta = DEFAULT_TTL, description: str = "yunfleet node bootstrap"
    ) -> BootstrapToken:
        """A fresh kubeadm bootstrap token valid for ``ttl`` (at most 24 h): the Secret
        ``kube-system/bootstrap-token-<id>``, as ``kubeadm token create`` makes it.

        The audit row names the Secret and its expiration, never the token's secret half; errors
        are stripped of it too (raised without the original, whose body could echo the Secret). In
        dry-run mode the token is made but not sent.
        """
        token = new_bootstrap_token(dt.datetime.now(dt.UTC), ttl)
        body = token_secret_manifest(token, description)

        def create() -> None:
            try:
                self.core_v1_client.create_namespaced_secret(
                    SECRET_NAMESPACE, body, _request_timeout=self.request_timeout
                )
            except ApiException as exc:
                if exc.status != 409:  # 409: an earlier attempt of this call created it
                    raise

        try:
            self._mutate(
                "CreateBootstrapToken",
                f"{SECRET_NAMESPACE}/{token.secret_name}",
                {
                    "namespace": SECRET_NAMESPACE,
                    "name": token.secret_name,
                    "expiration": rfc3339(token.expires_at),
                },
                create,
            )
        except CloudError as exc:
            raise type(exc)(
                exc.message.replace(token.secret, "***"),
                code=exc.code,
                request_id=exc.request_id,
                http_status=exc.http_status,
                product=exc.product,
                action=exc.action,
            ) from None
        return token
