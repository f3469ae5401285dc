"""The Kubernetes part of the sandbox control API: workload demand for the load model."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from sandbox.kube.metrics import demand_key
from sandbox.kube.sim import KubeSim


def control_routes_for(sim: KubeSim) -> list[BaseRoute]:
    async def set_workload(request: Request) -> JSONResponse:
        cluster_name = request.path_params["cluster"]
        namespace, deployment = request.path_params["namespace"], request.path_params["deployment"]
        try:
            body: Any = json.loads(await request.body() or b"{}")
        except ValueError as error:
            return JSONResponse({"error": f"request body is not valid JSON: {error}"}, status_code=400)
        millicores = body.get("cpu_millicores") if isinstance(body, dict) else None
        if not isinstance(millicores, int) or isinstance(millicores, bool) or millicores < 0:
            return JSONResponse({"error": "cpu_millicores must be a non-negative integer"}, status_code=400)
        with sim.world.lock:
            cluster = sim.clusters.get(cluster_name)
            if cluster is None:
                return JSONResponse(
                    {"error": f"no cluster named {cluster_name!r} is running in the sandbox"}, status_code=404
                )
            cluster.demand[demand_key(namespace, deployment)] = millicores
        return JSONResponse(
            {
                "cluster": cluster_name,
                "namespace": namespace,
                "deployment": deployment,
                "cpu_millicores": millicores,
            }
        )

    async def get_workloads(request: Request) -> JSONResponse:
        cluster_name = request.path_params["cluster"]
        with sim.world.lock:
            cluster = sim.clusters.get(cluster_name)
            if cluster is None:
                return JSONResponse(
                    {"error": f"no cluster named {cluster_name!r} is running in the sandbox"}, status_code=404
                )
            demand = dict(cluster.demand)
        return JSONResponse(
            {
                "cluster": cluster_name,
                "workloads": [
                    {"namespace": k.split("/", 1)[0], "deployment": k.split("/", 1)[1], "cpu_millicores": v}
                    for k, v in sorted(demand.items())
                ],
            }
        )

    return [
        Route(
            "/_sandbox/clusters/{cluster}/workloads/{namespace}/{deployment}", set_workload, methods=["POST"]
        ),
        Route("/_sandbox/clusters/{cluster}/workloads", get_workloads, methods=["GET"]),
    ]
