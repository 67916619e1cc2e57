"""The authorizer client's endpoint (apitokens.store.endpoint) is the one botocore's DynamoDB
client sends to, for every partition's regions with FIPS and dual-stack on and off, and for
configured endpoints."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointVariantError

from apitokens.settings import Settings, SettingsError
from apitokens.store.endpoint import dynamodb_endpoint

REGIONS = [
    "us-east-1",
    "eu-central-2",
    "ap-southeast-5",
    "mx-central-1",
    "cn-north-1",
    "us-gov-west-1",
    "us-gov-east-1",
    "us-iso-east-1",
    "us-isob-east-1",
    "eu-isoe-west-1",
    "us-isof-south-1",
    "eusc-de-east-1",
]


class _Sent(Exception):
    pass


def botocore_url(region: str, **config: Any) -> str:
    """The URL botocore's DynamoDB client sends a GetItem to (caught before it leaves)."""
    client = boto3.client(
        "dynamodb",
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**config),
    )
    sent: list[str] = []

    def capture(request: Any, **_: Any) -> None:
        sent.append(request.url)
        raise _Sent

    client.meta.events.register_first("before-send.dynamodb.GetItem", capture)
    with pytest.raises(_Sent):
        client.get_item(TableName="t", Key={"PK": {"S": "k"}})
    return sent[0].rstrip("/")


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize(("fips", "dual_stack"), [(False, False), (True, False), (False, True), (True, True)])
def test_the_regional_endpoint_is_botocores(region: str, fips: bool, dual_stack: bool, monkeypatch: Any) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    monkeypatch.delenv("AWS_ACCOUNT_ID", raising=False)
    settings = Settings(
        table_name="t", aws_region=region, aws_use_fips_endpoint=fips, aws_use_dualstack_endpoint=dual_stack
    )
    try:
        expected = botocore_url(region, use_fips_endpoint=fips, use_dualstack_endpoint=dual_stack)
    except EndpointVariantError:  # botocore refuses the combination: so does the resolver
        with pytest.raises(SettingsError):
            dynamodb_endpoint(settings)
        return
    assert dynamodb_endpoint(settings) == expected


def test_the_configured_endpoints_in_order() -> None:
    explicit = Settings(
        table_name="t",
        dynamodb_endpoint_url="http://127.0.0.1:8000",
        aws_endpoint_url_dynamodb="http://service:1",
        aws_endpoint_url="http://global:2",
    )
    assert dynamodb_endpoint(explicit) == "http://127.0.0.1:8000"
    service = Settings(table_name="t", aws_endpoint_url_dynamodb="http://service:1", aws_endpoint_url="http://global:2")
    assert dynamodb_endpoint(service) == "http://service:1"
    assert dynamodb_endpoint(Settings(table_name="t", aws_endpoint_url="http://global:2")) == "http://global:2"
    ignored = Settings(table_name="t", aws_endpoint_url="http://global:2", aws_ignore_configured_endpoint_urls=True)
    assert dynamodb_endpoint(ignored) == "https://dynamodb.us-east-1.amazonaws.com"
    assert dynamodb_endpoint(Settings(table_name="t", aws_region="local")) == "http://localhost:8000"


def test_the_configured_endpoints_are_botocores(monkeypatch: Any) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://service.test:1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://global.test:2")
    settings = Settings.from_env({"TABLE_NAME": "t", "AWS_ENDPOINT_URL_DYNAMODB": "http://service.test:1"})
    assert dynamodb_endpoint(settings) == botocore_url("us-east-1") == "http://service.test:1"
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB")
    settings = Settings.from_env({"TABLE_NAME": "t", "AWS_ENDPOINT_URL": "http://global.test:2"})
    assert dynamodb_endpoint(settings) == botocore_url("us-east-1") == "http://global.test:2"


@pytest.mark.parametrize("flag", ["AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"])
def test_fips_or_dual_stack_with_a_custom_endpoint_is_a_configuration_error(flag: str) -> None:
    settings = Settings.from_env({"TABLE_NAME": "t", "DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:8000", flag: "true"})
    with pytest.raises(SettingsError):
        dynamodb_endpoint(settings)
