"""Alidns errors with the codes, HTTP statuses and messages of the real service."""

from __future__ import annotations

from sandbox.core.errors import ApiError


class IncorrectDomainUser(ApiError):
    code = "IncorrectDomainUser"
    http_status = 400
    message = "The domain name does not belong to this user."


class DomainRecordDuplicate(ApiError):
    code = "DomainRecordDuplicate"
    http_status = 400
    message = "The domain record is duplicated."


class DomainRecordConflict(ApiError):
    code = "DomainRecordConflict"
    http_status = 400
    message = "The DNS record conflicts with other records."


class DomainRecordNotBelongToUser(ApiError):
    code = "DomainRecordNotBelongToUser"
    http_status = 400
    message = "The DNS record does not belong to this user."


class DomainRecordLocked(ApiError):
    code = "DomainRecordLocked"
    http_status = 400
    message = "The DNS record is locked."


class TtlBelowMinimum(ApiError):
    code = "QuotaExceeded.TTL"
    http_status = 400
    message = "The TTL value is less than the minimum value allowed."


class InvalidTtl(ApiError):
    code = "InvalidTTL"
    http_status = 400
    message = "The specified TTL is not valid."


class QuotaExceededRecord(ApiError):
    code = "QuotaExceeded.Record"
    http_status = 400
    message = "The number of DNS records for the domain has been out of MAX count."


class InvalidRecordType(ApiError):
    code = "InvalidType"
    http_status = 400
    message = "The specified record type is not supported."


class InvalidRecordValue(ApiError):
    code = "InvalidValue"
    http_status = 400
    message = "The specified record value is not valid for its type."


class InvalidRr(ApiError):
    code = "InvalidRR"
    http_status = 400
    message = "The specified host record (RR) is not valid."


class InvalidWeight(ApiError):
    code = "InvalidWeight"
    http_status = 400
    message = "The specified Weight is not valid; it must be an integer from 1 to 100."


class InvalidStatus(ApiError):
    code = "InvalidStatus"
    http_status = 400
    message = "The specified Status is not valid; use Enable or Disable."


class InvalidPageSize(ApiError):
    code = "InvalidPageSize"
    http_status = 400
    message = "The specified PageSize is not valid."


class SubDomainInvalid(ApiError):
    code = "SubDomain.Invalid"
    http_status = 400
    message = "The specified SubDomain does not belong to a domain of this user."


class DnsSlbNoRecord(ApiError):
    code = "DnsSLB.RecordNotExist"
    http_status = 400
    message = "The subdomain has no A, AAAA or CNAME records for weighted round robin."


class DisableDnsSlb(ApiError):
    code = "DisableDNSSLB"
    http_status = 400
    message = "The subdomain's DNS SLB status is closed."


class DomainRecordDisable(ApiError):
    code = "DomainRecordDisable"
    http_status = 400
    message = "The domain record is disable."
