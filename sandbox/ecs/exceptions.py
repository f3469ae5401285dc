"""ECS errors with the codes, HTTP statuses and messages of the real service."""

from __future__ import annotations

from sandbox.core.errors import ApiError


class InvalidInstanceIdNotFound(ApiError):
    code = "InvalidInstanceId.NotFound"
    http_status = 404
    message = "The specified InstanceId does not exist."


class IncorrectInstanceStatus(ApiError):
    code = "IncorrectInstanceStatus"
    http_status = 403
    message = "The current status of the resource does not support this operation."


class InvalidZoneIdNotFound(ApiError):
    code = "InvalidZoneId.NotFound"
    http_status = 404
    message = "The specified zone does not exist."


class InvalidRegionIdNotFound(ApiError):
    code = "InvalidRegionId.NotFound"
    http_status = 404
    message = "The specified RegionId does not exist."


class InvalidVSwitchIdNotFound(ApiError):
    code = "InvalidVSwitchId.NotFound"
    http_status = 404
    message = "The specified VSwitchId does not exist."


class InvalidVpcIdNotFound(ApiError):
    code = "InvalidVpcId.NotFound"
    http_status = 404
    message = "The specified VpcId does not exist."


class InvalidSecurityGroupIdNotFound(ApiError):
    code = "InvalidSecurityGroupId.NotFound"
    http_status = 404
    message = "The specified SecurityGroupId does not exist."


class InvalidImageIdNotFound(ApiError):
    code = "InvalidImageId.NotFound"
    http_status = 404
    message = "The specified ImageId does not exist."


class ImageNotValid(ApiError):
    """An image that exists but is deprecated or not available (RunInstances error table, 403)."""

    code = "OperationDenied.ImageNotValid"
    http_status = 403
    message = "The specified Image is disabled or is deleted."


class InvalidInstanceTypeNotFound(ApiError):
    code = "InvalidInstanceType.NotFound"
    http_status = 404
    message = "The specified InstanceType does not exist."


class InvalidVSwitchZoneMismatch(ApiError):
    code = "InvalidParameter.Mismatch"
    http_status = 400
    message = "The specified ZoneId does not match the zone of the specified VSwitchId."


class NoStock(ApiError):
    code = "OperationDenied.NoStock"
    http_status = 403
    message = (
        "The requested resource is sold out in the specified zone; "
        "try other types of resources or other regions and zones."
    )


class ZoneNotOnSale(ApiError):
    code = "Zone.NotOnSale"
    http_status = 403
    message = "The specified zone is not available for purchase."


class QuotaExceedElasticQuota(ApiError):
    code = "QuotaExceed.ElasticQuota"
    http_status = 403
    message = "The number of vCPUs assigned to the ECS instances has exceeded the quota in the zone."


class IdempotentParameterMismatch(ApiError):
    code = "IdempotentParameterMismatch"
    http_status = 400
    message = "The specified parameters are different from before."


class UserDataSizeExceeded(ApiError):
    code = "InvalidUserData.SizeExceeded"
    http_status = 400
    message = "The specified parameter UserData exceeds the size limit of 32 KB."


class UserDataNotBase64(ApiError):
    code = "InvalidUserData.Base64FormatInvalid"
    http_status = 400
    message = "The specified UserData is not valid Base64."


class InvalidTagKey(ApiError):
    code = "InvalidTagKey.Malformed"
    http_status = 400
    message = "The specified Tag.n.Key is not valid."


class InvalidAmount(ApiError):
    code = "InvalidParameter.Amount"
    http_status = 400
    message = "The specified parameter Amount is not valid, it must be from 1 to 100."


class SecurityGroupDependencyViolation(ApiError):
    code = "DependencyViolation"
    http_status = 403
    message = "There is still instance(s) in the specified security group."


class InvalidSecurityGroupDuplicate(ApiError):
    code = "InvalidPermission.Duplicate"
    http_status = 400
    message = "The specified rule exists in the security group."


class InvalidPortRange(ApiError):
    code = "InvalidPortRange.Malformed"
    http_status = 400
    message = "The specified parameter PortRange is not valid."


class InvalidIpProtocol(ApiError):
    code = "InvalidIpProtocol.Malformed"
    http_status = 400
    message = "The specified parameter IpProtocol is not valid."


class InvalidNextToken(ApiError):
    code = "InvalidParameter.NextToken"
    http_status = 400
    message = "The specified NextToken is not valid."


class DeletionProtection(ApiError):
    code = "InvalidOperation.DeletionProtection"
    http_status = 403
    message = "The instance has deletion protection enabled and cannot be released."


class InvalidResourceType(ApiError):
    code = "InvalidResourceType.NotSupported"
    http_status = 400
    message = "The specified ResourceType is not supported."


class DryRunOperation(ApiError):
    code = "DryRunOperation"
    http_status = 400
    message = "Request validation has been passed with DryRun flag set."


class SecurityGroupVpcMismatch(ApiError):
    code = "InvalidSecurityGroup.VpcMismatch"
    http_status = 400
    message = "The specified security group and the specified vSwitch are not in the same VPC."
