"""Where `apitokens admin` writes, and what AWS's refusals mean: the table, region, token
environment, lookup copies and limit read from a deployed stack (`--stack-name`), flags that are
given winning; credentials and region from boto3's standard chain and profile; and each refusal
(no credentials, no table, no stack in the region, a denied permission) as one line that names
the fix."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from apitokens.settings import (
    MAX_LOOKUP_COPIES,
    MAX_TOKENS_PER_ACCOUNT_RANGE,
    Settings,
    TokenEnvironment,
    get_deployment,
)

# The stack's output naming its table, and the parameters the command follows.
TABLE_OUTPUT = "TokensTableName"
ENVIRONMENT_PARAMETER = "TokenEnvironment"
LOOKUP_COPIES_PARAMETER = "LookupCopies"
LIMIT_PARAMETER = "MaxTokensPerAccount"
LOCAL_TABLE = "apitokens-local"
LOCAL_REGION = "us-east-1"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_REFUSED_CREDENTIALS = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
}
_DENIED = {"AccessDenied", "AccessDeniedException"}
NO_CREDENTIALS = (
    "no AWS credentials found: sign in (`aws sso login` or `aws configure`), "
    "or name a profile with --profile or AWS_PROFILE"
)
NO_REGION = "no AWS region: pass --region, or set AWS_REGION or your profile's region"


class AdminError(RuntimeError):
    """A refusal: one line for the user, nothing written."""


@dataclass(frozen=True)
class Target:
    table: str
    region: str
    environment: TokenEnvironment = "live"
    dynamodb_endpoint: str | None = None
    max_tokens_per_account: int = 100
    lookup_copies: int = 8
    profile: str | None = None

    def settings(self) -> Settings:
        return Settings(
            table_name=self.table,
            token_environment=self.environment,
            dynamodb_endpoint_url=self.dynamodb_endpoint,
            aws_region=self.region,
            max_tokens_per_account=self.max_tokens_per_account,
            lookup_copies=self.lookup_copies,
            # The token stack's TokenPrefix, AccountIdPattern, BaseScopes (--parameter-overrides).
            deployment=get_deployment(),
        )

    def dynamodb_client(self) -> Any:
        """A DynamoDB client of the profile's session, configured as the functions' are."""
        from botocore.config import Config

        config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=2, read_timeout=3)
        return _session(self.profile).client(
            "dynamodb", region_name=self.region, endpoint_url=self.dynamodb_endpoint, config=config
        )


@dataclass(frozen=True)
class StackValues:
    table: str
    environment: TokenEnvironment | None = None
    lookup_copies: int | None = None
    max_tokens_per_account: int | None = None


def _session(profile: str | None) -> Any:
    import boto3

    try:
        return boto3.Session(profile_name=profile)
    except ProfileNotFound:
        message = f"no AWS profile {profile!r} in your AWS configuration: check --profile or AWS_PROFILE"
        raise AdminError(message) from None


def explain(error: BaseException, region: str, *, table: str | None = None, stack: str | None = None) -> str:
    """One line for what AWS (or botocore before it) refused, naming the fix."""
    if isinstance(error, ClientError):
        return _service_refusal(error, region, table, stack)
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return NO_CREDENTIALS
    if isinstance(error, NoRegionError):
        return NO_REGION
    if isinstance(error, EndpointConnectionError):
        return f"cannot reach AWS in region {region!r}: check --region (and your network)"
    return f"AWS could not be asked: {error}"


def _service_refusal(error: ClientError, region: str, table: str | None, stack: str | None) -> str:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    service = "cloudformation" if stack and error.operation_name == "DescribeStacks" else "dynamodb"
    action = f"{service}:{error.operation_name}"
    if code in _REFUSED_CREDENTIALS:
        return "AWS refused your credentials (expired or invalid): sign in again (`aws sso login`), or check --profile"
    if code in _DENIED:
        return f"AWS denied {action} to your credentials: use a role that may (--profile), or allow it in your policy"
    if code == "ResourceNotFoundException" and table:
        return (
            f"no table {table!r} in region {region}: check --table (the stack output {TABLE_OUTPUT}) and --region, "
            "or use --stack-name"
        )
    if code == "ValidationError" and stack and "does not exist" in message:
        return (
            f"no stack {stack!r} in region {region}: deployed in another region? "
            "pass --region, or set AWS_REGION or your profile's region"
        )
    return f"AWS refused {action}: {code}: {message}"


def aws_cause(error: BaseException) -> BaseException | None:
    """The botocore error behind a domain error (the store raises them `from` it), if any."""
    cause = error.__cause__
    while cause is not None:
        if isinstance(cause, BotoCoreError | ClientError):
            return cause
        cause = cause.__cause__
    return None


def _whole(value: str | None, name: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise AdminError(f"the stack's {name} is {value!r}, not a whole number from {low} to {high}")
    return int(value)


def read_stack(name: str, region: str, profile: str | None) -> StackValues:
    """The table, token environment, lookup copies and limit of the deployed stack `name`."""
    client = _session(profile).client("cloudformation", region_name=region)
    try:
        [stack] = client.describe_stacks(StackName=name)["Stacks"]
    except (BotoCoreError, ClientError) as error:
        raise AdminError(explain(error, region, stack=name)) from None
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    parameters = {
        parameter["ParameterKey"]: parameter.get("ResolvedValue", parameter.get("ParameterValue"))
        for parameter in stack.get("Parameters", [])
    }
    if TABLE_OUTPUT not in outputs:
        raise AdminError(
            f"stack {name!r} in region {region} has no output {TABLE_OUTPUT} "
            f"(status {stack.get('StackStatus')}): is it an apitokens stack, and deployed?"
        )
    environment = parameters.get(ENVIRONMENT_PARAMETER)
    if environment not in (None, "live", "test"):
        raise AdminError(f"the stack's {ENVIRONMENT_PARAMETER} is {environment!r}, not live or test")
    return StackValues(
        table=outputs[TABLE_OUTPUT],
        environment="test" if environment == "test" else ("live" if environment == "live" else None),
        lookup_copies=_whole(parameters.get(LOOKUP_COPIES_PARAMETER), LOOKUP_COPIES_PARAMETER, 1, MAX_LOOKUP_COPIES),
        max_tokens_per_account=_whole(parameters.get(LIMIT_PARAMETER), LIMIT_PARAMETER, *MAX_TOKENS_PER_ACCOUNT_RANGE),
    )


def _first(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def target_from(arguments: Any) -> Target:
    """Where to write: the flags given, then the stack's values (--stack-name), then the
    defaults (the local server's table; live tokens in AWS, test tokens on a local endpoint)."""
    endpoint = arguments.dynamodb_endpoint
    local = (urlsplit(endpoint or "").hostname or "") in LOCAL_HOSTS
    if local and not os.environ.get("AWS_ACCESS_KEY_ID"):
        # `apitokens serve`'s DynamoDB (moto) or DynamoDB Local accept any credentials.
        os.environ.update({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"})
    region = arguments.region or _session(arguments.profile).region_name or (LOCAL_REGION if endpoint else None)
    if region is None:
        raise AdminError(NO_REGION)
    stack = read_stack(arguments.stack_name, region, arguments.profile) if arguments.stack_name else None
    table = _first(arguments.table, stack and stack.table, LOCAL_TABLE if endpoint else None)
    if table is None:
        raise AdminError("which table? pass --stack-name (the deployed stack) or --table (its output TokensTableName)")
    return Target(
        table=table,
        region=region,
        environment=_first(arguments.environment, stack and stack.environment, "test" if endpoint else "live"),
        dynamodb_endpoint=endpoint,
        max_tokens_per_account=_first(
            getattr(arguments, "max_tokens_per_account", None), stack and stack.max_tokens_per_account, 100
        ),
        lookup_copies=_first(getattr(arguments, "lookup_copies", None), stack and stack.lookup_copies, 8),
        profile=arguments.profile,
    )
