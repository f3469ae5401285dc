"""The RPC endpoint: signature check, dispatch on (x-acs-version, x-acs-action), limits, quotas, faults."""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from sandbox.core.errors import ApiError, InvalidAction, InvalidParameter, Throttling
from sandbox.core.faults import FaultDecision
from sandbox.core.params import Params
from sandbox.core.signature import SignatureVerifier

if TYPE_CHECKING:
    from sandbox.world import World

log = logging.getLogger("sandbox.rpc")

Handler = Callable[["World", Params], dict[str, Any]]

# How long an injected timeout holds the response when the rule gives no delay_ms.
DEFAULT_TIMEOUT_HOLD_MS = 60_000


@dataclass(frozen=True)
class Product:
    name: str
    version: str
    host_id: str
    recommend_product: str
    actions: dict[str, Handler]
    regional: bool


def load_products() -> dict[str, Product]:
    from sandbox.alidns.responses import ACTIONS as DNS_ACTIONS
    from sandbox.ecs.responses import ACTIONS as ECS_ACTIONS
    from sandbox.kms.responses import ACTIONS as KMS_ACTIONS
    from sandbox.slb.responses import ACTIONS as SLB_ACTIONS

    products = [
        Product("ecs", "2014-05-26", "ecs.cn-hangzhou.aliyuncs.com", "Ecs", ECS_ACTIONS, True),
        Product("slb", "2014-05-15", "slb.cn-hangzhou.aliyuncs.com", "Slb", SLB_ACTIONS, True),
        Product("alidns", "2015-01-09", "alidns.cn-hangzhou.aliyuncs.com", "Alidns", DNS_ACTIONS, False),
        Product("kms", "2016-01-20", "kms.cn-hangzhou.aliyuncs.com", "Kms", KMS_ACTIONS, False),
    ]
    return {p.version: p for p in products}


def request_id() -> str:
    return str(uuid.uuid4()).upper()


def cloud_fault_error(decision: FaultDecision) -> ApiError:
    """The Alibaba error an injected fault answers on ECS, SLB and Alidns.

    The code is answered as given, with its documented (or the rule's) status, except that the
    Kubernetes throttling reason ``TooManyRequests`` becomes ``Throttling.User`` (400), the code these
    products throttle with, so one throttling rule for product ``*`` means throttling everywhere.
    """
    code = decision.error_code or "InternalError"
    if code == "TooManyRequests":
        return ApiError(
            Throttling.message,
            code=Throttling.code,
            http_status=decision.http_status if decision.status_given else 400,
        )
    return ApiError(decision.message, code=code, http_status=decision.http_status)


def error_response(
    error: ApiError, rid: str, host_id: str, product: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {
        "RequestId": rid,
        "HostId": host_id,
        "Code": error.code,
        "Message": error.message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product={product}&requestId={rid}",
    }
    return JSONResponse(body, status_code=error.http_status, headers=headers)


class RpcEndpoint:
    """Request handler (``handle``) for ``POST /`` (and GET) in the RPC style of tea-openapi."""

    def __init__(self, world: World, verifier: SignatureVerifier | None = None):
        self.world = world
        self.verifier = verifier or SignatureVerifier()
        self.products = load_products()
        from sandbox.kms import kms_backend

        kms_backend(world)  # registered now, so a restored world's secrets are loaded and saved

    async def handle(self, request: Request) -> JSONResponse:
        rid = request_id()
        query = parse_qsl(request.url.query, keep_blank_values=True)
        params = dict(query)
        headers = {k.lower(): v for k, v in request.headers.items()}
        action = headers.get("x-acs-action") or params.get("Action", "")
        version = headers.get("x-acs-version") or params.get("Version", "")
        body = await request.body()
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded") and body:
            # RPC calls send some parameters as a form body (KMS CreateSecret's SecretData)
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        product = self.products.get(version)
        product_name = product.name if product else "unknown"
        host_id = product.host_id if product else "sandbox"
        recommend = product.recommend_product if product else "Sandbox"
        try:
            self.verifier.verify(request.method, request.url.path, query, headers, body, time.time())
            if product is None or action not in product.actions:
                raise InvalidAction(action or "<none>", version or "<none>")
        except ApiError as error:
            self._record(product_name, action, error.http_status, error.code, params, rid)
            return error_response(error, rid, host_id, recommend)
        assert product is not None

        with self.world.lock:
            self.world.tick()
            allowed = self.world.throttle.allow(product.name, action)
        if not allowed:
            error = Throttling()
            self._record(product.name, action, error.http_status, error.code, params, rid)
            return error_response(error, rid, host_id, recommend)
        verdict = self.world.quotas.check(product.name, action)
        if verdict is not None:
            error = Throttling()
            retry_after = (
                {"x-acs-retry-after": str(math.ceil(verdict.wait_s * 1000))} if verdict.retry_after else None
            )
            self._record(product.name, action, error.http_status, error.code, params, rid)
            return error_response(error, rid, host_id, recommend, retry_after)

        decision = self.world.faults.check(product.name, action)
        if decision is not None:
            if decision.timeout:
                self._record(product.name, action, 504, "timeout", params, rid)
                await asyncio.sleep((decision.delay_ms or DEFAULT_TIMEOUT_HOLD_MS) / 1000)
                return error_response(
                    ApiError("The request timed out.", code="RequestTimeout", http_status=504),
                    rid,
                    host_id,
                    recommend,
                )
            if decision.delay_ms:
                await asyncio.sleep(decision.delay_ms / 1000)
            if decision.is_error:
                error = cloud_fault_error(decision)
                self._record(product.name, action, error.http_status, error.code, params, rid)
                return error_response(error, rid, host_id, recommend)

        handler = product.actions[action]
        try:
            with self.world.lock:
                self.world.tick()
                if product.regional:
                    region = params.get("RegionId")
                    if region and region != "cn-hangzhou":
                        raise ApiError(
                            f"The specified RegionId does not exist: {region}.",
                            code="InvalidRegionId.NotFound",
                            http_status=404,
                        )
                result = handler(self.world, Params(params))
        except ApiError as error:
            self._record(product.name, action, error.http_status, error.code, params, rid)
            return error_response(error, rid, host_id, recommend)
        except Exception:
            log.exception("%s %s failed", product.name, action)
            error = ApiError(
                "The request processing has failed due to some unknown error.",
                code="InternalError",
                http_status=500,
            )
            self._record(product.name, action, error.http_status, error.code, params, rid)
            return error_response(error, rid, host_id, recommend)
        self._record(product.name, action, 200, None, params, rid)
        return JSONResponse({"RequestId": rid, **result})

    def _record(
        self, product: str, action: str, status: int, code: str | None, params: dict[str, str], rid: str
    ) -> None:
        self.world.calls.record(product, action or "<none>", status, code, params, request_id=rid)


__all__ = ["InvalidParameter", "Product", "RpcEndpoint", "error_response"]
