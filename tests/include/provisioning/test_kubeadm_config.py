"""The kubeadm documents Yunfleet delivers, checked against kubeadm's own rules.

No kubeadm binary can be installed from the package registries this project uses (PyPI, Debian,
npm), so ``kubeadm config validate`` cannot run here. This test checks exactly these rules instead,
named after kubeadm's source (``cmd/kubeadm/app/apis/kubeadm/validation/validation.go``, the
``v1beta3``/``v1beta4`` ``types.go`` and ``v1beta4/doc.go``):

K1  API version: ``kubeadm.k8s.io/v1beta4`` for Kubernetes >= 1.31, ``v1beta3`` for 1.29 and 1.30
    (kubeadm 1.29/1.30 do not know v1beta4).
K2  Strict decoding: every field is one the kind has in that API version (unknown fields are
    errors for ``kubeadm config validate``); types as declared.
K3  ``extraArgs``/``kubeletExtraArgs``: a list of ``{name, value}`` in v1beta4, a string map in
    v1beta3 (ValidateExtraArgs: every argument has a name).
K4  ValidateToken / ValidateTokenUsages / ValidateTokenGroups: token ``[a-z0-9]{6}.[a-z0-9]{16}``,
    usages within {signing, authentication}, groups ``system:bootstrappers:...`` and only with the
    authentication usage; ``ttl`` a Go duration (Yunfleet's own rule on top: at most 24 h).
K5  ValidateCertificateKey: hex of 32 bytes.
K6  ValidateDiscoveryBootstrapToken: ``apiServerEndpoint`` host:port, ``caCertHashes`` set (no
    unsafe skip), each ``sha256:<64 hex>``.
K7  ValidateHostPort (``controlPlaneEndpoint``) and ValidateCertSANs (DNS-1123 subdomain or IP).
K8  ValidateImageRepository: ``<imageRepository>/name:tag`` is a valid image reference.
K9  ValidateNetworking: subnets parse, the service subnet is no larger than /12 (IPv4), the pod
    subnet fits the default node mask /24 within 16 bits.
K10 ValidateNodeRegistrationOptions: ``name`` a DNS-1123 subdomain once the instance id replaced
    the placeholder (as the node does), ``criSocket`` a ``unix://`` URL.
K11 The discovery timeout in its version's place: ``timeouts.discovery`` (v1beta4) or
    ``discovery.timeout`` (v1beta3).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Any

import jsonschema
import pytest
import yaml

from include.provisioning.bootstrap_tokens import MAX_TTL, new_bootstrap_token
from include.provisioning.delivery import (
    KUBEADM_CONFIG_PATH,
    Endpoint,
    init_bundle,
    join_bundle,
    new_control_plane_bootstrap,
    parse_bundle,
)
from include.provisioning.kubeadm import V1BETA3, V1BETA4, kubeadm_api_version
from include.provisioning.node import INSTANCE_ID_PLACEHOLDER, NodeSpec
from include.provisioning.pki import generate_credentials
from include.provisioning.sources import node_sources

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
CREDS = generate_credentials("demo", now=NOW)
RELEASES = {"1.29": "v1.29.15", "1.30": "v1.30.14", "1.31": "v1.31.10"}
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# distribution/reference: domain[:port]/path components, then :tag
REFERENCE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*:[\w][\w.-]{0,127}$"
)
GO_DURATION = re.compile(r"^(\d+h)?(\d+m)?(\d+(\.\d+)?s)?$")


def _obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


STR = {"type": "string"}
STRS = {"type": "array", "items": STR}
ARG_LIST = {
    "type": "array",
    "items": _obj({"name": {"type": "string", "minLength": 1}, "value": STR}, ("name",)),
}
ARG_MAP = {"type": "object", "additionalProperties": STR}


def schemas(api: str) -> dict[str, dict[str, Any]]:
    """K2/K3: the fields of the kinds (as far as Yunfleet uses them) in ``api``."""
    args = ARG_LIST if api == V1BETA4 else ARG_MAP
    registration = _obj(
        {"name": STR, "criSocket": STR, "kubeletExtraArgs": args, "taints": {"type": "array"}}
    )
    token = _obj(
        {"token": STR, "ttl": STR, "groups": STRS, "usages": STRS, "description": STR, "expires": STR},
        ("token",),
    )
    discovery_props: dict[str, Any] = {
        "bootstrapToken": _obj(
            {
                "apiServerEndpoint": STR,
                "token": STR,
                "caCertHashes": STRS,
                "unsafeSkipCAVerification": {"type": "boolean"},
            },
            ("token",),
        ),
        "tlsBootstrapToken": STR,
    }
    join_props: dict[str, Any] = {
        "apiVersion": {"const": api},
        "kind": {"const": "JoinConfiguration"},
        "discovery": None,
        "nodeRegistration": registration,
        "controlPlane": _obj({"certificateKey": STR}),
        "caCertPath": STR,
    }
    if api == V1BETA4:
        join_props["timeouts"] = _obj({"discovery": STR})
    else:
        discovery_props["timeout"] = STR
    join_props["discovery"] = _obj(discovery_props)
    return {
        "InitConfiguration": _obj(
            {
                "apiVersion": {"const": api},
                "kind": {"const": "InitConfiguration"},
                "bootstrapTokens": {"type": "array", "items": token},
                "certificateKey": STR,
                "nodeRegistration": registration,
            },
            ("apiVersion", "kind"),
        ),
        "ClusterConfiguration": _obj(
            {
                "apiVersion": {"const": api},
                "kind": {"const": "ClusterConfiguration"},
                "clusterName": STR,
                "kubernetesVersion": STR,
                "controlPlaneEndpoint": STR,
                "imageRepository": STR,
                "apiServer": _obj({"certSANs": STRS, "extraArgs": args}),
                "networking": _obj({"podSubnet": STR, "serviceSubnet": STR, "dnsDomain": STR}),
            },
            ("apiVersion", "kind"),
        ),
        "JoinConfiguration": _obj(join_props, ("apiVersion", "kind", "discovery")),
    }


def kubeadm_errors(documents: list[dict[str, Any]], minor: str) -> list[str]:
    """Violations of K1-K11 in ``documents`` (empty when kubeadm would accept them)."""
    errors: list[str] = []
    api = V1BETA4 if int(minor.split(".")[1]) >= 31 else V1BETA3
    kinds = schemas(api)
    for doc in documents:
        if doc.get("apiVersion") != api:
            errors.append(f"K1 {doc.get('kind')}: apiVersion {doc.get('apiVersion')} for Kubernetes {minor}")
            continue
        for error in jsonschema.Draft202012Validator(kinds[doc["kind"]]).iter_errors(doc):
            errors.append(f"K2/K3 {doc['kind']} {'.'.join(map(str, error.path))}: {error.message}")
        registration = doc.get("nodeRegistration") or {}
        if registration:
            name = str(registration.get("name", "")).replace(
                INSTANCE_ID_PLACEHOLDER, "i-bp1f2r8kx0abcdefgh12"
            )
            if not DNS1123_SUBDOMAIN.match(name):
                errors.append(f"K10 nodeRegistration.name {name!r}")
            if not str(registration.get("criSocket", "")).startswith("unix://"):
                errors.append("K10 criSocket must be a unix:// URL")
        for token in doc.get("bootstrapTokens") or []:
            if not re.fullmatch(r"[a-z0-9]{6}\.[a-z0-9]{16}", token["token"]):
                errors.append("K4 token format")
            if not set(token.get("usages") or []) <= {"signing", "authentication"}:
                errors.append("K4 usages")
            for group in token.get("groups") or []:
                if not re.fullmatch(r"system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]", group):
                    errors.append(f"K4 group {group}")
            if token.get("groups") and "authentication" not in (token.get("usages") or []):
                errors.append("K4 groups need the authentication usage")
            ttl = str(token.get("ttl", ""))
            match = GO_DURATION.match(ttl)
            if not ttl or not match:
                errors.append(f"K4 ttl {ttl!r} is not a Go duration")
            else:
                h, m, s = (
                    float(x[:-1]) if x else 0.0 for x in (match.group(1), match.group(2), match.group(3))
                )
                if dt.timedelta(hours=h, minutes=m, seconds=s) > MAX_TTL:
                    errors.append(f"K4 ttl {ttl} longer than 24h")
        keys = [doc.get("certificateKey"), (doc.get("controlPlane") or {}).get("certificateKey")]
        for key in (k for k in keys if k is not None):
            if not re.fullmatch(r"[0-9a-f]{64}", str(key)):
                errors.append("K5 certificateKey must be hex of 32 bytes")
        if doc["kind"] == "ClusterConfiguration":
            host, _, port = str(doc.get("controlPlaneEndpoint", "")).rpartition(":")
            if not DNS1123_SUBDOMAIN.match(host) or not port.isdigit():
                errors.append("K7 controlPlaneEndpoint")
            for san in doc.get("apiServer", {}).get("certSANs") or []:
                if not DNS1123_SUBDOMAIN.match(san):
                    errors.append(f"K7 certSAN {san}")
            if not REFERENCE.match(f"{doc.get('imageRepository')}/name:tag"):
                errors.append(f"K8 imageRepository {doc.get('imageRepository')!r}")
            net = doc.get("networking") or {}
            service = ipaddress.ip_network(net["serviceSubnet"])
            pods = ipaddress.ip_network(net["podSubnet"])
            if service.prefixlen < 12:
                errors.append("K9 service subnet larger than /12")
            if pods.prefixlen > 24 or 24 - pods.prefixlen > 16:
                errors.append("K9 pod subnet does not fit node mask /24")
            if not re.fullmatch(rf"v{re.escape(minor)}\.\d+", str(doc.get("kubernetesVersion"))):
                errors.append(f"K2 kubernetesVersion {doc.get('kubernetesVersion')} for {minor}")
        if doc["kind"] == "JoinConfiguration":
            discovery = doc["discovery"]["bootstrapToken"]
            host, _, port = str(discovery.get("apiServerEndpoint", "")).rpartition(":")
            if not host or not port.isdigit():
                errors.append("K6 apiServerEndpoint")
            hashes = discovery.get("caCertHashes") or []
            if not hashes or not all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes):
                errors.append("K6 caCertHashes")
            if not re.fullmatch(r"[a-z0-9]{6}\.[a-z0-9]{16}", discovery.get("token", "")):
                errors.append("K4 discovery token")
            timeout_in = "timeouts" if api == V1BETA4 else "discovery"
            if "discovery" not in (doc.get(timeout_in) or {}) and "timeout" not in (
                doc.get(timeout_in) or {}
            ):
                errors.append("K11 discovery timeout missing")
    return errors


def node(minor: str, role: str, index: int = 0, pool: str | None = None) -> NodeSpec:
    return NodeSpec(
        "demo", "cn-hangzhou", "fleet.example.com", minor, role, "cn-hangzhou-h", "ecs.g7.xlarge", pool, index
    )


def delivered_documents(spec: NodeSpec, region: str = "cn-hangzhou") -> list[dict[str, Any]]:
    shared = new_control_plane_bootstrap(NOW)
    endpoint = Endpoint("api.demo.fleet.example.com", 6443)
    if spec.initialises:
        text = init_bundle(
            spec,
            CREDS,
            shared,
            endpoint=endpoint,
            kubernetes_release=RELEASES[spec.kubernetes_version],
            image_repository=node_sources(region, spec.kubernetes_version).image_repository,
            now=NOW,
        )
    elif spec.role == "control-plane":
        text = join_bundle(
            spec,
            token=shared.token,
            ca_hash=CREDS.ca_hash,
            endpoint=endpoint,
            certificate_key=shared.certificate_key,
        )
    else:
        text = join_bundle(spec, token=new_bootstrap_token(NOW), ca_hash=CREDS.ca_hash, endpoint=endpoint)
    files = {f.path: f.content for f in parse_bundle(text)}
    return list(yaml.safe_load_all(files[KUBEADM_CONFIG_PATH]))


ROLES = [("control-plane", 0, None), ("control-plane", 1, None), ("worker", 0, "general")]


@pytest.mark.parametrize("minor", ["1.29", "1.30", "1.31"])
@pytest.mark.parametrize(("role", "index", "pool"), ROLES)
@pytest.mark.parametrize("region", ["cn-hangzhou", "ap-southeast-1"])
def test_delivered_kubeadm_documents_follow_kubeadms_rules(
    minor: str, role: str, index: int, pool: str | None, region: str
) -> None:
    docs = delivered_documents(node(minor, role, index, pool), region)
    assert kubeadm_errors(docs, minor) == []
    kinds = [d["kind"] for d in docs]
    expected = (
        ["InitConfiguration", "ClusterConfiguration"]
        if (role, index) == ("control-plane", 0)
        else ["JoinConfiguration"]
    )
    assert kinds == expected


def test_v1beta4_and_v1beta3_shapes_differ_where_kubeadm_says() -> None:
    v4 = {d["kind"]: d for d in delivered_documents(node("1.31", "worker", pool="general"))}[
        "JoinConfiguration"
    ]
    v3 = {d["kind"]: d for d in delivered_documents(node("1.30", "worker", pool="general"))}[
        "JoinConfiguration"
    ]
    assert v4["apiVersion"] == V1BETA4 and v3["apiVersion"] == V1BETA3
    assert isinstance(v4["nodeRegistration"]["kubeletExtraArgs"], list)
    assert {a["name"] for a in v4["nodeRegistration"]["kubeletExtraArgs"]} == {"node-labels", "provider-id"}
    assert isinstance(v3["nodeRegistration"]["kubeletExtraArgs"], dict)
    assert v4["timeouts"] == {"discovery": "15m0s"} and v3["discovery"]["timeout"] == "15m0s"
    assert kubeadm_api_version("1.32") == V1BETA4 and kubeadm_api_version("v1.29.15") == V1BETA3


@pytest.mark.parametrize(
    ("region", "repository"),
    [
        ("cn-hangzhou", "registry.cn-hangzhou.aliyuncs.com/google_containers"),
        ("ap-southeast-1", "registry.k8s.io"),
    ],
)
def test_cluster_configuration_pulls_from_the_regions_registry(region: str, repository: str) -> None:
    docs = {d["kind"]: d for d in delivered_documents(node("1.31", "control-plane"), region)}
    assert docs["ClusterConfiguration"]["imageRepository"] == repository
    assert docs["ClusterConfiguration"]["kubernetesVersion"] == "v1.31.10"
    assert "extraArgs" not in docs["ClusterConfiguration"]["apiServer"]  # no static token file any more


@pytest.mark.parametrize(
    ("break_it", "rule"),
    [
        (lambda d: d[0].update(apiVersion=V1BETA3), "K1"),
        (lambda d: d[0].update(bogus=1), "K2/K3"),
        (lambda d: d[0]["nodeRegistration"].update(kubeletExtraArgs={"v": "5"}), "K2/K3"),
        (lambda d: d[0]["bootstrapTokens"][0].update(token="ABCDEF.0123456789abcdef"), "K4"),
        (lambda d: d[0]["bootstrapTokens"][0].update(ttl="48h0m0s"), "K4"),
        (lambda d: d[0].update(certificateKey="abc"), "K5"),
        (lambda d: d[1].update(imageRepository="https://registry.example.com"), "K8"),
        (lambda d: d[1]["networking"].update(serviceSubnet="10.0.0.0/8"), "K9"),
        (lambda d: d[0]["nodeRegistration"].update(criSocket="/run/containerd.sock"), "K10"),
    ],
)
def test_each_rule_catches_what_kubeadm_rejects(break_it: Any, rule: str) -> None:
    docs = delivered_documents(node("1.31", "control-plane"))
    assert kubeadm_errors(docs, "1.31") == []
    break_it(docs)
    assert any(e.startswith(rule) for e in kubeadm_errors(docs, "1.31")), kubeadm_errors(docs, "1.31")
