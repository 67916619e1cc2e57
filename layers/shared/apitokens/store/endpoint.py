"""Which URL the authorizer's DynamoDB client (store/dynamodb_http.py) talks to: the rules of
botocore's DynamoDB endpoint rule set that apply to it (tests/unit/test_dynamodb_endpoint.py
compares the two).

In order: the explicit endpoint (DYNAMODB_ENDPOINT_URL, the local server's and the tests'), the
service's configured endpoint (AWS_ENDPOINT_URL_DYNAMODB), the global one (AWS_ENDPOINT_URL),
unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS; else the region's, in its partition's domain:
dynamodb-fips with AWS_USE_FIPS_ENDPOINT (plain dynamodb in GovCloud unless dual-stack, as its
regional endpoint is FIPS already), the dual-stack domain with AWS_USE_DUALSTACK_ENDPOINT, and
http://localhost:8000 for the region "local". FIPS or dual-stack with a custom endpoint is a
configuration error, as in botocore. Account-ID endpoints are not used: they need the account in
the credentials, which Lambda's environment does not give.
"""

from __future__ import annotations

import re

from apitokens.settings import Settings, SettingsError

# botocore/data/partitions.json: (name, region pattern, DNS suffix, dual-stack DNS suffix).
_PARTITIONS = (
    ("aws-cn", r"cn\-\w+\-\d+", "amazonaws.com.cn", "api.amazonwebservices.com.cn"),
    ("aws-eusc", r"eusc\-(de)\-\w+\-\d+", "amazonaws.eu", "api.amazonwebservices.eu"),
    ("aws-iso", r"us\-iso\-\w+\-\d+", "c2s.ic.gov", "api.aws.ic.gov"),
    ("aws-iso-b", r"us\-isob\-\w+\-\d+", "sc2s.sgov.gov", "api.aws.scloud"),
    ("aws-iso-e", r"eu\-isoe\-\w+\-\d+", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk"),
    ("aws-iso-f", r"us\-isof\-\w+\-\d+", "csp.hci.ic.gov", "api.aws.hci.ic.gov"),
    ("aws-us-gov", r"us\-gov\-\w+\-\d+", "amazonaws.com", "api.aws"),
)
_DEFAULT_PARTITION = ("aws", "amazonaws.com", "api.aws")
# Where botocore refuses dual-stack for DynamoDB (its endpoint data has no such variant there).
_NO_DUAL_STACK = frozenset({"aws-iso-e", "aws-iso-f"})


def partition(region: str) -> tuple[str, str, str]:
    """(name, DNS suffix, dual-stack DNS suffix) of the region's partition (aws when none matches)."""
    for name, pattern, suffix, dual_stack_suffix in _PARTITIONS:
        if re.fullmatch(pattern, region):
            return name, suffix, dual_stack_suffix
    return _DEFAULT_PARTITION


def dynamodb_endpoint(settings: Settings) -> str:
    """The DynamoDB endpoint URL for these settings."""
    custom = _custom_endpoint(settings)
    if custom is not None:
        return custom
    return _regional_endpoint(settings)


def _custom_endpoint(settings: Settings) -> str | None:
    """The explicit, configured or local endpoint, if there is one; FIPS and dual-stack never
    combine with it."""
    configured = settings.dynamodb_endpoint_url
    if configured is None and not settings.aws_ignore_configured_endpoint_urls:
        configured = settings.aws_endpoint_url_dynamodb or settings.aws_endpoint_url
    if configured is None and settings.aws_region != "local":
        return None
    if settings.aws_use_fips_endpoint or settings.aws_use_dualstack_endpoint:
        raise SettingsError("FIPS and dual-stack endpoints cannot be combined with a custom or local endpoint")
    return configured or "http://localhost:8000"


def _regional_endpoint(settings: Settings) -> str:
    """The region's endpoint in its partition's domain."""
    fips, dual_stack = settings.aws_use_fips_endpoint, settings.aws_use_dualstack_endpoint
    name, suffix, dual_stack_suffix = partition(settings.aws_region)
    if dual_stack and name in _NO_DUAL_STACK:
        raise SettingsError(f"DynamoDB has no dual-stack endpoint in {settings.aws_region}")
    domain = dual_stack_suffix if dual_stack else suffix
    # GovCloud's regional endpoint is FIPS already; its dual-stack one has a -fips name.
    service = "dynamodb-fips" if fips and (dual_stack or name != "aws-us-gov") else "dynamodb"
    return f"https://{service}.{settings.aws_region}.{domain}"
