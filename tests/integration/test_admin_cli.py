"""`apitokens admin` against moto: the first token through the API's own code, revoking it, and
bad arguments refused with one line and nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apitokens_dev import cli
from tests.harness import ACCOUNT, TABLE, Functions, scan_table

TARGET = ["--table", TABLE, "--region", "us-east-1"]


def admin(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    status = cli.main(["admin", *args])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def authorizer_event(secret: str) -> dict[str, Any]:
    path = f"/accounts/{ACCOUNT}/apiTokens"
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/v1/GET{path}",
        "httpMethod": "GET",
        "resource": "/accounts/{accountSid}/apiTokens",
        "headers": {"Authorization": f"Bearer {secret}"},
    }


def test_create_token_writes_through_the_service_and_prints_the_secret_last(
    functions: Functions, dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines, err = admin(
        capsys,
        "create-token",
        *TARGET,
        "--account", ACCOUNT,
        "--scope", "tokens:read",
        "--scope", "tokens:write",
        "--name", "first token",
        "--expires-in", "3600",
    )  # fmt: skip
    assert status == 0, err
    secret = lines[-1]
    assert secret.startswith("at_live_")
    assert all(secret not in line for line in lines[:-1])
    items = scan_table(dynamodb)
    assert secret not in json.dumps(items)  # only its digest is stored
    [token] = [item for item in items if item.get("type", {}).get("S") == "token"]
    assert token["name"]["S"] == "first token"
    assert [scope["S"] for scope in token["scopes"]["L"]] == ["tokens:read", "tokens:write"]
    assert token["expiresAt"].get("S")
    # The token works: the authorizer allows it on its account.
    decision = functions.authorize(authorizer_event(secret))
    assert decision["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    capsys.readouterr()  # the authorizer's own log lines

    status, lines, err = admin(capsys, "revoke", *TARGET, "--account", ACCOUNT, "--token-sid", token["sid"]["S"])
    assert status == 0, err
    assert lines[-1] == f"deactivated {token['sid']['S']} on {ACCOUNT}"
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        functions.authorize(authorizer_event(secret))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create-token", "--account", "acc_nope", "--scope", "tokens:read", "--name", "x"], "not an account sid"),
        (
            ["create-token", "--account", ACCOUNT, "--scope", "tokens:fly", "--name", "x"],
            "unknown scope(s): tokens:fly",
        ),
        (["create-token", "--account", ACCOUNT, "--scope", "tokens:read"], "--name"),
        (["create-token", "--account", ACCOUNT, "--scope", "tokens:read", "--name", " "], "name"),
        (
            ["create-token", "--account", ACCOUNT, "--scope", "tokens:read", "--name", "x", "--expires-in", "0"],
            "from 1 to",
        ),
        (
            ["create-token", "--account", ACCOUNT, "--scope", "tokens:read", "--name", "x", "--environment", "prod"],
            "prod",
        ),
        (["revoke", "--account", ACCOUNT, "--token-sid", "tok_missing0000000000000000000"], ""),
        (["revoke", "--account", ACCOUNT, "--token-sid", "../x"], "apiTokenSid"),
    ],
)
def test_bad_arguments_are_refused_with_one_line_and_nothing_written(
    dynamodb: Any, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    before = scan_table(dynamodb)
    try:
        status = cli.main(["admin", args[0], *TARGET, *args[1:]])
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    err = capsys.readouterr().err
    assert status != 0
    assert len(err.strip().splitlines()) == 1, err
    assert message in err
    assert scan_table(dynamodb) == before


@pytest.mark.parametrize(
    ("flag", "value", "refusal"),
    [
        ("--expires-in", "99999999999999", "from 1 to 3153600000 seconds (100 years"),
        ("--expires-in", "3153600001", "from 1 to 3153600000 seconds"),
        ("--expires-in", "-5", "from 1 to 3153600000 seconds"),
        ("--expires-in", "1e9", "from 1 to 3153600000 seconds"),
        ("--expires-in", "9" * 5000, "from 1 to 3153600000 seconds"),
        ("--max-tokens-per-account", "0", "from 1 to 10000 tokens (the stack's MaxTokensPerAccount)"),
        ("--max-tokens-per-account", "10001", "from 1 to 10000 tokens"),
        ("--max-tokens-per-account", "many", "from 1 to 10000 tokens"),
    ],
)
def test_numeric_flags_out_of_range_are_one_line_naming_the_flag_and_its_range(
    dynamodb: Any, capsys: pytest.CaptureFixture[str], flag: str, value: str, refusal: str
) -> None:
    before = scan_table(dynamodb)
    create = ["admin", "create-token", *TARGET, "--account", ACCOUNT, "--scope", "tokens:read", "--name", "n"]
    with pytest.raises(SystemExit) as exit_:
        cli.main([*create, flag, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"apitokens admin create-token: error: argument {flag}: must be a whole number from")
    assert len(err.strip().splitlines()) == 1, err
    assert refusal in err
    if flag == "--max-tokens-per-account":
        assert "second" not in err
    assert scan_table(dynamodb) == before


def test_the_longest_expiry_the_flag_allows_is_written(dynamodb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    create = ["create-token", *TARGET, "--account", ACCOUNT, "--scope", "tokens:read", "--name", "n"]
    status, lines, err = admin(capsys, *create, "--expires-in", "3153600000", "--max-tokens-per-account", "10000")
    assert status == 0, err
    assert lines[1].startswith("expires: 21")


def test_the_account_limit_applies(dynamodb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    create = ["create-token", *TARGET, "--account", ACCOUNT, "--scope", "tokens:read", "--name", "n"]
    create += ["--max-tokens-per-account", "1"]
    assert admin(capsys, *create)[0] == 0
    status, lines, err = admin(capsys, *create)
    assert status == 1
    assert "already has 1 API tokens" in err
    assert lines == []


@pytest.mark.parametrize(
    ("arguments", "refusal"),
    [
        (
            ["serve", "--authorizer-cache-ttl", "70000"],
            "--authorizer-cache-ttl: must be a whole number from 0 to 3600 seconds",
        ),
        (["serve", "--port", "70000"], "--port: must be a whole number from 0 to 65535 (a port"),
        (
            ["dev-jwt", "--account", ACCOUNT, "--expires-in", "99999999999999"],
            "--expires-in: must be a whole number from 1",
        ),
    ],
)
def test_the_other_commands_numeric_flags_give_their_own_range_and_unit(
    capsys: pytest.CaptureFixture[str], arguments: list[str], refusal: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(arguments)
    assert exit_.value.code == 2
    assert refusal in capsys.readouterr().err
