"""SLB errors with the codes, HTTP statuses and messages of the real service."""

from __future__ import annotations

from sandbox.core.errors import ApiError


class InvalidLoadBalancerIdNotFound(ApiError):
    code = "InvalidLoadBalancerId.NotFound"
    http_status = 404
    message = "The specified LoadBalancerId does not exist."


class ListenerNotFound(ApiError):
    code = "ListenerNotFound"
    http_status = 404
    message = "The specified port of listener does not exist."


class ListenerAlreadyExists(ApiError):
    code = "ListenerAlreadyExists"
    http_status = 400
    message = "The specified listener already exists."


class TooManyBackendServers(ApiError):
    code = "TooManyBackendServers"
    http_status = 400
    message = "The number of backend servers in one request exceeds the limit of 20."


class InvalidServerIdNotFound(ApiError):
    code = "InvalidServerId.NotFound"
    http_status = 400
    message = "The specified ServerId does not exist."


class InvalidWeightMalformed(ApiError):
    code = "InvalidWeight.Malformed"
    http_status = 400
    message = "The specified Weight is invalid; it must be an integer from 0 to 100."


class BackendServerNotRunning(ApiError):
    code = "IncorrectStatus.BackendServer"
    http_status = 400
    message = "The specified backend server is not running."


class BackendServerAlreadyAdded(ApiError):
    code = "BackendServer.AlreadyExist"
    http_status = 400
    message = "The specified backend server has already been added to the load balancer."


class BackendServerNotAttached(ApiError):
    code = "BackendServer.NotExist"
    http_status = 400
    message = "The specified backend server is not attached to the load balancer."


class InvalidBackendServersMalformed(ApiError):
    code = "InvalidParameter.BackendServers"
    http_status = 400
    message = "The specified parameter BackendServers is not a valid JSON array of servers."


class InvalidVSwitchIdNotFound(ApiError):
    code = "InvalidVSwitchId.NotExist"
    http_status = 400
    message = "The specified VSwitchId does not exist."


class InvalidZoneId(ApiError):
    code = "InvalidParameter.ZoneId"
    http_status = 400
    message = "The specified MasterZoneId or SlaveZoneId is not valid."


class InvalidSpec(ApiError):
    code = "InvalidParameter.LoadBalancerSpec"
    http_status = 400
    message = "The specified LoadBalancerSpec is not valid."


class ServiceIsStopping(ApiError):
    code = "ServiceIsStopping"
    http_status = 409
    message = "The load balancer is stopped; start it before changing its listeners."


class DeleteProtectionEnabled(ApiError):
    code = "OperationDenied.DeleteProtection"
    http_status = 400
    message = "The load balancer has delete protection enabled."


class InvalidPort(ApiError):
    code = "InvalidParameter.Port"
    http_status = 400
    message = "The specified port is not valid; it must be from 1 to 65535."


class QuotaExceededInstances(ApiError):
    code = "QuotaExceed.LoadBalancerInstances"
    http_status = 400
    message = "The number of load balancers exceeds the quota of this account."
