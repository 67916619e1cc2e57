"""`apitokens admin` aimed at a deployed stack, against moto's CloudFormation and DynamoDB: the
table, token environment, lookup copies and limit come from the stack (flags given win), and a
missing credential, a missing table, a stack in another region and a denied permission each
refuse with their own one line, writing nothing. And `admin find-token`: which token a found
value is, never printing the value."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from apitokens.domain import tokens
from apitokens_dev import admin_aws, cli
from tests.harness import ACCOUNT, REGION, TABLE, scan_table
from tests.harness.faults import Error, FaultInjector

STACK = "apitokens-test"
# A stand-in for the deployed stack: the parameters and the output the command reads.
STACK_TEMPLATE = {
    "Parameters": {
        "TokenEnvironment": {"Type": "String", "Default": "live"},
        "LookupCopies": {"Type": "Number", "Default": 8},
        "MaxTokensPerAccount": {"Type": "Number", "Default": 100},
        "TableNameForOutput": {"Type": "String"},
    },
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"TokensTableName": {"Value": {"Ref": "TableNameForOutput"}}},
}
UNKNOWN_VALUE = tokens.generate("at_live_")
CREATE = ["--account", ACCOUNT, "--scope", "tokens:read", "--name", "first"]


def deploy_stack(table: str = TABLE, **parameters: str) -> None:
    values = {"TableNameForOutput": table, **parameters}
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(STACK_TEMPLATE),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()],
    )


def admin(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    try:
        status = cli.main(["admin", *args])
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def lookup_copies(dynamodb: Any) -> int:
    return sum(1 for item in scan_table(dynamodb) if item["PK"]["S"].startswith("SECRET#"))


def test_the_stack_gives_the_table_environment_copies_and_limit(
    dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy_stack(TokenEnvironment="test", LookupCopies="3", MaxTokensPerAccount="1")
    status, lines, err = admin(capsys, "create-token", "--stack-name", STACK, "--region", REGION, *CREATE)
    assert status == 0, err
    assert lines[-1].startswith("at_test_")
    assert lookup_copies(dynamodb) == 3
    # The stack's limit of one token applies to the next.
    status, _, err = admin(capsys, "create-token", "--stack-name", STACK, "--region", REGION, *CREATE)
    assert status == 1
    assert "already has 1 API tokens" in err


def test_flags_given_win_over_the_stack(dynamodb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    deploy_stack(table="not-this-table", TokenEnvironment="test", LookupCopies="3")
    status, lines, err = admin(
        capsys,
        "create-token", "--stack-name", STACK, "--region", REGION, "--table", TABLE,
        "--environment", "live", "--lookup-copies", "2", *CREATE,
    )  # fmt: skip
    assert status == 0, err
    assert lines[-1].startswith("at_live_")
    assert lookup_copies(dynamodb) == 2


def test_the_region_comes_from_the_profile(
    dynamodb: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text(
        f"[profile operator]\nregion = {REGION}\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    deploy_stack()
    status, lines, err = admin(capsys, "create-token", "--stack-name", STACK, "--profile", "operator", *CREATE)
    assert status == 0, err
    assert lines[-1].startswith("at_live_")


def refusal(capsys: pytest.CaptureFixture[str], dynamodb: Any, *args: str) -> str:
    before = scan_table(dynamodb)
    status, lines, err = admin(capsys, *args)
    assert status == 1
    assert lines == []
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert scan_table(dynamodb) == before
    return err


def test_a_stack_in_another_region_is_one_line(dynamodb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    deploy_stack()
    err = refusal(capsys, dynamodb, "create-token", "--stack-name", STACK, "--region", "eu-west-3", *CREATE)
    assert f"no stack '{STACK}' in region eu-west-3: deployed in another region? pass --region" in err


def test_a_missing_table_is_one_line(dynamodb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    deploy_stack(table="apitokens-gone")
    err = refusal(capsys, dynamodb, "create-token", "--stack-name", STACK, "--region", REGION, *CREATE)
    assert f"no table 'apitokens-gone' in region {REGION}: check --table" in err
    err = refusal(capsys, dynamodb, "revoke", "--table", "nope", "--region", REGION, "--account", ACCOUNT,
                  "--token-sid", "tok_abc123def456ghi789jkl012")  # fmt: skip
    assert f"no table 'nope' in region {REGION}" in err


@pytest.fixture
def denied(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every DynamoDB call of the admin command is refused as IAM refuses it."""
    original = admin_aws.Target.dynamodb_client
    injectors = []

    def refused_client(target: admin_aws.Target) -> Any:
        client = original(target)
        for operation in ("GetItem", "Query", "TransactWriteItems"):
            error = Error("denied", code="AccessDeniedException", status=400)
            injectors.append(FaultInjector([client], operation, error))
        return client

    monkeypatch.setattr(admin_aws.Target, "dynamodb_client", refused_client)
    yield
    for injector in injectors:
        injector.clear()


@pytest.mark.usefixtures("denied")
def test_a_denied_permission_is_one_line_naming_the_action(dynamodb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    err = refusal(capsys, dynamodb, "create-token", "--table", TABLE, "--region", REGION, *CREATE)
    assert "AWS denied dynamodb:TransactWriteItems to your credentials: use a role that may (--profile)" in err


def test_missing_credentials_are_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # No moto here: botocore looks for credentials before it sends anything.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for target in (["--stack-name", STACK], ["--table", TABLE]):
        status, lines, err = admin(capsys, "create-token", *target, "--region", REGION, *CREATE)
        assert status == 1
        assert lines == []
        assert err.strip() == f"apitokens admin create-token: error: {admin_aws.NO_CREDENTIALS}"


def test_no_region_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    status, _, err = admin(capsys, "create-token", "--stack-name", STACK, *CREATE)
    assert status == 1
    assert err.strip() == f"apitokens admin create-token: error: {admin_aws.NO_REGION}"


def test_find_token_names_the_token_and_never_prints_the_value(
    dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy_stack()
    status, lines, err = admin(capsys, "create-token", "--stack-name", STACK, "--region", REGION, *CREATE)
    assert status == 0, err
    value, sid = lines[-1], lines[0].split()[1]
    status, lines, err = admin(capsys, "find-token", "--stack-name", STACK, "--region", REGION, value)
    assert status == 0, err
    assert lines[0] == f"{sid} on {ACCOUNT}: active, expires never"
    assert value not in "\n".join(lines) + err
    admin(capsys, "revoke", "--stack-name", STACK, "--region", REGION, "--account", ACCOUNT, "--token-sid", sid)
    status, lines, err = admin(capsys, "find-token", "--stack-name", STACK, "--region", REGION, value)
    assert status == 0, err
    assert lines[0].startswith(f"{sid} on {ACCOUNT}: inactive (revoked at ")


@pytest.mark.parametrize(
    ("value", "refusal_text"),
    [
        (UNKNOWN_VALUE, "no token of table"),
        (UNKNOWN_VALUE[:-1] + ("x" if UNKNOWN_VALUE[-1] != "x" else "y"), "not a token this service issues"),
        ("hello", "not a token this service issues"),
    ],
)
def test_find_token_of_an_unknown_or_malformed_value_is_one_line_without_the_value(
    dynamodb: Any, capsys: pytest.CaptureFixture[str], value: str, refusal_text: str
) -> None:
    err = refusal(capsys, dynamodb, "find-token", "--table", TABLE, "--region", REGION, value)
    assert refusal_text in err
    assert value not in err
