"""Wire protocol: ACS3 signatures, the error envelope and the SDK exception classes it produces."""

from __future__ import annotations

import pytest
from alibabacloud_alidns20150109 import models as dns_models
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_slb20140515 import models as slb_models
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from alibabacloud_tea_openapi.utils import Utils
from darabonba.core import DaraCore

REGION = "cn-hangzhou"


def _describe_regions(client):
    return client.describe_regions(ecs_models.DescribeRegionsRequest())


def test_success_carries_request_id(sandbox):
    response = _describe_regions(sandbox.ecs_client())
    assert response.status_code == 200
    assert response.body.request_id
    assert [r.region_id for r in response.body.regions.region] == [REGION]


def test_same_action_name_dispatches_on_version(sandbox):
    ecs_regions = _describe_regions(sandbox.ecs_client()).body.regions.region
    slb_regions = (
        sandbox.slb_client().describe_regions(slb_models.DescribeRegionsRequest()).body.regions.region
    )
    assert ecs_regions[0].region_endpoint == "ecs.cn-hangzhou.aliyuncs.com"
    assert slb_regions[0].region_endpoint == "slb.aliyuncs.com"


def test_wrong_secret_is_signature_mismatch(sandbox):
    client = sandbox.ecs_client(access_key_secret="not-the-secret")
    with pytest.raises(ClientException) as info:
        _describe_regions(client)
    assert info.value.code == "SignatureDoesNotMatch"
    assert info.value.status_code == 400
    assert info.value.data["HostId"] == "ecs.cn-hangzhou.aliyuncs.com"
    assert info.value.data["Recommend"].startswith(
        "https://api.aliyun.com/troubleshoot?q=SignatureDoesNotMatch"
    )
    assert info.value.request_id


def test_unknown_access_key(sandbox):
    with pytest.raises(ClientException) as info:
        sandbox.dns_client(access_key_id="someone-else").describe_domains(dns_models.DescribeDomainsRequest())
    assert info.value.code == "InvalidAccessKeyId.NotFound"
    assert info.value.status_code == 400


def test_query_tampered_after_signing_is_rejected(sandbox, monkeypatch):
    original = DaraCore.do_action

    def tamper(request, runtime=None):
        request.query["RegionId"] = "cn-shanghai"
        return original(request, runtime)

    monkeypatch.setattr(DaraCore, "do_action", staticmethod(tamper))
    with pytest.raises(ClientException) as info:
        _describe_regions(sandbox.ecs_client())
    assert info.value.code == "SignatureDoesNotMatch"


def test_signed_header_changed_after_signing_is_rejected(sandbox, monkeypatch):
    original = DaraCore.do_action

    def tamper(request, runtime=None):
        request.headers["x-acs-action"] = "DescribeZones"
        return original(request, runtime)

    monkeypatch.setattr(DaraCore, "do_action", staticmethod(tamper))
    with pytest.raises(ClientException) as info:
        _describe_regions(sandbox.ecs_client())
    assert info.value.code == "SignatureDoesNotMatch"


def test_stale_date_is_rejected(sandbox, monkeypatch):
    monkeypatch.setattr(Utils, "get_timestamp", staticmethod(lambda: "2020-01-01T00:00:00Z"))
    with pytest.raises(ClientException) as info:
        _describe_regions(sandbox.ecs_client())
    assert info.value.code == "IllegalTimestamp"
    assert info.value.status_code == 400


def test_reused_nonce_is_rejected(sandbox, monkeypatch):
    monkeypatch.setattr(Utils, "get_nonce", staticmethod(lambda: "fixed-nonce-for-replay-test-0001"))
    client = sandbox.ecs_client()
    _describe_regions(client)
    with pytest.raises(ClientException) as info:
        _describe_regions(client)
    assert info.value.code == "SignatureNonceUsed"


def test_legacy_v2_signature_is_accepted(sandbox):
    client = sandbox.ecs_client(signature_algorithm="v2")
    assert _describe_regions(client).body.regions.region[0].region_id == REGION


def test_legacy_v2_wrong_secret_is_rejected(sandbox):
    client = sandbox.ecs_client(signature_algorithm="v2", access_key_secret="wrong")
    with pytest.raises(ClientException) as info:
        _describe_regions(client)
    assert info.value.code == "SignatureDoesNotMatch"


def test_unknown_region(sandbox):
    with pytest.raises(ClientException) as info:
        sandbox.ecs_client().describe_zones(ecs_models.DescribeZonesRequest(region_id="cn-nowhere"))
    assert info.value.code == "InvalidRegionId.NotFound"
    assert info.value.status_code == 404


def test_unsimulated_action_is_invalid_action(sandbox):
    with pytest.raises(ClientException) as info:
        sandbox.ecs_client().describe_disks(ecs_models.DescribeDisksRequest(region_id=REGION))
    assert info.value.code == "InvalidAction.NotFound"
    assert info.value.status_code == 404


def test_missing_parameter(sandbox):
    with pytest.raises(ClientException) as info:
        sandbox.ecs_client().describe_user_data(ecs_models.DescribeUserDataRequest(region_id=REGION))
    assert info.value.code == "MissingParameter"
    assert "InstanceId" in info.value.message


def test_server_errors_raise_server_exception(clean_sandbox):
    clean_sandbox.set_faults([{"product": "ecs", "action": "DescribeRegions", "error": "ServiceUnavailable"}])
    with pytest.raises(ServerException) as info:
        _describe_regions(clean_sandbox.ecs_client())
    assert info.value.code == "ServiceUnavailable"
    assert info.value.status_code == 503
