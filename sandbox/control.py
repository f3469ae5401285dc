"""The control API under /_sandbox/: health, reset, state, call log, faults, zones, limits, quotas, images."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from sandbox.core.faults import FaultRuleError
from sandbox.core.quotas import QuotaRuleError
from sandbox.core.throttle import ThrottleRuleError
from sandbox.ecs.images import IMAGE_STATUSES, images_to_state

if TYPE_CHECKING:
    from sandbox.world import World


class ControlError(ValueError):
    """A control request is malformed; answered with 400 and a one-line message."""


def _fail(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ControlError(f"request body is not valid JSON: {error.msg}") from error
    if not isinstance(body, dict):
        raise ControlError("request body must be a JSON object")
    return body


def redacted_state(state: dict[str, Any]) -> dict[str, Any]:
    """The world state with instance user data (which carries bootstrap tokens) replaced by its size."""
    for instance in state.get("ecs", {}).get("instances", []):
        if instance.get("user_data"):
            instance["user_data"] = f"<redacted {len(instance['user_data'])} chars>"
    return state


def control_routes(world: World, persist: Callable[[], None], info: dict[str, Any]) -> list[BaseRoute]:
    """Routes of the control API; ``persist`` saves the world after a reset."""

    def guarded(
        handler: Callable[[Request], Awaitable[JSONResponse]],
    ) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def endpoint(request: Request) -> JSONResponse:
            try:
                return await handler(request)
            except (ControlError, FaultRuleError, ThrottleRuleError, QuotaRuleError) as error:
                return _fail(str(error))

        return endpoint

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "seed": world.seed, "timings": world.timings.name, **info})

    async def reset(request: Request) -> JSONResponse:
        world.reset()
        persist()
        return JSONResponse({"status": "reset", "seed": world.seed})

    async def state(request: Request) -> JSONResponse:
        with world.lock:
            world.tick()
            return JSONResponse(redacted_state(world.to_state()))

    async def calls(request: Request) -> JSONResponse:
        raw = request.query_params.get("since", "0")
        try:
            since = int(raw)
        except ValueError as error:
            raise ControlError(f"since must be an integer, got {raw!r}") from error
        return JSONResponse(world.calls.since(since))

    async def set_faults(request: Request) -> JSONResponse:
        body = await _json_body(request)
        rules = body.get("rules", [])
        seed = body.get("seed", 0)
        if not isinstance(rules, list):
            raise ControlError("rules must be a list")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ControlError("seed must be an integer")
        world.faults.set_rules(rules, seed)
        return JSONResponse(world.faults.describe())

    async def clear_faults(request: Request) -> JSONResponse:
        world.faults.clear()
        return JSONResponse(world.faults.describe())

    async def get_faults(request: Request) -> JSONResponse:
        return JSONResponse(world.faults.describe())

    async def zones(request: Request) -> JSONResponse:
        with world.lock:
            return JSONResponse({"zones": [zone.to_state() for zone in world.zones.values()]})

    async def set_zone(request: Request) -> JSONResponse:
        zone_id = request.path_params["zone"]
        body = await _json_body(request)
        unknown = set(body) - {"outage", "stock"}
        if unknown:
            raise ControlError(f"unknown keys: {', '.join(sorted(unknown))}; use outage and/or stock")
        outage = body.get("outage")
        if outage is not None and not isinstance(outage, bool):
            raise ControlError("outage must be true or false")
        stock = body.get("stock")
        if stock is not None:
            if not isinstance(stock, dict):
                raise ControlError('stock must be an object like {"ecs.g7.large": 10}')
            for name, count in stock.items():
                if name not in world.ecs.instance_types:
                    raise ControlError(
                        f"unknown instance type {name!r}; known: {', '.join(world.ecs.instance_types)}"
                    )
                if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                    raise ControlError(f"stock of {name} must be a non-negative integer")
        with world.lock:
            if zone_id not in world.zones:
                return _fail(f"unknown zone {zone_id!r}; known: {', '.join(world.zones)}", 404)
            zone = world.set_zone(zone_id, outage=outage, stock=stock)
            return JSONResponse(zone.to_state())

    async def set_limits(request: Request) -> JSONResponse:
        body = await _json_body(request)
        limits = body.get("limits")
        if not isinstance(limits, list):
            raise ControlError('limits must be a list like [{"product": "ecs", "action": "*", "qps": 5}]')
        world.throttle.set_limits(limits)
        return JSONResponse(world.throttle.describe())

    async def reset_limits(request: Request) -> JSONResponse:
        world.throttle.reset()
        return JSONResponse(world.throttle.describe())

    async def get_limits(request: Request) -> JSONResponse:
        return JSONResponse(world.throttle.describe())

    def quotas_view() -> dict[str, Any]:
        with world.lock:
            vcpu = {"vcpu": world.ecs.vcpu_quota, "vcpu_used": world.ecs.used_vcpus()}
        return {**vcpu, **world.quotas.describe()}

    async def set_quotas(request: Request) -> JSONResponse:
        body = await _json_body(request)
        unknown = set(body) - {"vcpu", "rules", "window_seconds"}
        if unknown:
            raise ControlError(f"unknown keys: {', '.join(sorted(unknown))}; use vcpu and/or rules")
        if "window_seconds" in body and "rules" not in body:
            raise ControlError("window_seconds comes with rules")
        if "vcpu" not in body and "rules" not in body:
            raise ControlError('give "vcpu" (an integer) and/or "rules" (per-minute quotas per action)')
        vcpu = body.get("vcpu")
        if "vcpu" in body and (not isinstance(vcpu, int) or isinstance(vcpu, bool) or vcpu < 0):
            raise ControlError("vcpu must be a non-negative integer")
        rules = body.get("rules")
        if "rules" in body and not isinstance(rules, list):
            raise ControlError(
                'rules must be a list like [{"product": "ecs", "action": "DescribeInstances", '
                '"per_minute": 10}]'
            )
        if rules is not None:
            world.quotas.set_rules(rules, body.get("window_seconds"))
        if vcpu is not None:
            with world.lock:
                world.ecs.vcpu_quota = vcpu
        return JSONResponse(quotas_view())

    async def clear_quotas(request: Request) -> JSONResponse:
        world.quotas.clear()
        return JSONResponse(quotas_view())

    async def get_quotas(request: Request) -> JSONResponse:
        return JSONResponse(quotas_view())

    async def images(request: Request) -> JSONResponse:
        with world.lock:
            return JSONResponse({"images": images_to_state(world.ecs.images)})

    async def set_image(request: Request) -> JSONResponse:
        image_id = request.path_params["image_id"]
        body = await _json_body(request)
        if set(body) != {"status"} or body["status"] not in IMAGE_STATUSES:
            raise ControlError(f'body must be {{"status": ...}} with one of {", ".join(IMAGE_STATUSES)}')
        with world.lock:
            image = world.ecs.images.get(image_id)
            if image is None:
                return _fail(f"unknown image {image_id!r}; known: {', '.join(world.ecs.images)}", 404)
            image.status = body["status"]
            return JSONResponse(images_to_state({image_id: image})[0])

    return [
        Route("/_sandbox/health", guarded(health), methods=["GET"]),
        Route("/_sandbox/reset", guarded(reset), methods=["POST"]),
        Route("/_sandbox/state", guarded(state), methods=["GET"]),
        Route("/_sandbox/calls", guarded(calls), methods=["GET"]),
        Route("/_sandbox/faults", guarded(set_faults), methods=["POST"]),
        Route("/_sandbox/faults", guarded(clear_faults), methods=["DELETE"]),
        Route("/_sandbox/faults", guarded(get_faults), methods=["GET"]),
        Route("/_sandbox/zones", guarded(zones), methods=["GET"]),
        Route("/_sandbox/zones/{zone}", guarded(set_zone), methods=["POST"]),
        Route("/_sandbox/throttling", guarded(set_limits), methods=["POST"]),
        Route("/_sandbox/throttling", guarded(reset_limits), methods=["DELETE"]),
        Route("/_sandbox/throttling", guarded(get_limits), methods=["GET"]),
        Route("/_sandbox/quotas", guarded(set_quotas), methods=["POST"]),
        Route("/_sandbox/quotas", guarded(clear_quotas), methods=["DELETE"]),
        Route("/_sandbox/quotas", guarded(get_quotas), methods=["GET"]),
        Route("/_sandbox/images", guarded(images), methods=["GET"]),
        Route("/_sandbox/images/{image_id}", guarded(set_image), methods=["POST"]),
    ]
