"""A team's own deployment over real HTTP: `apitokens serve --parameter-overrides` with its own
TokenPrefix, AccountIdPattern, BaseScopes and JwtScopePrefix, and `dev-jwt`, `admin` and
`dev-leak-report` taking the same option."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.harness import LocalServer, cli, start_server

TEAM_ACCOUNT = "org_0123456789abcdef"
OTHER_TEAM_ACCOUNT = "org_fedcba9876543210"
SEED_ACCOUNT = "acc_abc123def456ghi789jkl012"
SCOPE_PREFIX = "https://api.acme.example/"
OVERRIDES = (
    "--parameter-overrides",
    "TokenPrefix=acme",
    "AccountIdPattern=org_[A-Za-z0-9]{16}",
    "BaseScopes=tokens:read,tokens:write,tokens:delete,invoices:read,invoices:write",
    f"JwtScopePrefix={SCOPE_PREFIX}",
)


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    local = start_server(tmp_path_factory.mktemp("team"), *OVERRIDES)
    yield local
    local.stop_cleanly()


def team_jwt(local: LocalServer, *args: str) -> str:
    return local.jwt(*OVERRIDES, "--account", TEAM_ACCOUNT, *args)


def test_tokens_carry_the_team_prefix_and_the_team_scopes(team: LocalServer) -> None:
    jwt = team_jwt(team)
    created = team.create_token(jwt, account=TEAM_ACCOUNT, scopes=["invoices:read", "tokens:read"])
    assert created["token"].startswith("acme_test_")
    listed = team.request("GET", f"/accounts/{TEAM_ACCOUNT}/apiTokens", token=created["token"])
    assert listed.status == 200, listed.text
    assert [record["sid"] for record in listed.body["records"]] == [created["sid"]]
    # The service's own prefix is no token of this deployment.
    assert team.request("GET", f"/accounts/{TEAM_ACCOUNT}/apiTokens", token="at_test_" + "a" * 36).status == 401


def test_a_scope_the_deployment_does_not_know_is_a_400_naming_it(team: LocalServer) -> None:
    reply = team.request(
        "POST",
        f"/accounts/{TEAM_ACCOUNT}/apiTokens",
        token=team_jwt(team),
        body={"name": "x", "scopes": ["buckets:read"]},
    )
    assert reply.status == 400, reply.text
    [detail] = reply.body["error"]["details"]
    assert detail["field"] == "scopes"
    assert "'buckets:read'" in detail["message"]


def test_account_ids_follow_the_pattern_in_paths_and_jwt_claims(team: LocalServer) -> None:
    jwt = team_jwt(team)
    assert team.request("GET", f"/accounts/{OTHER_TEAM_ACCOUNT}/apiTokens", token=jwt).status == 403
    seed = team.request("GET", f"/accounts/{SEED_ACCOUNT}/apiTokens", token=jwt)
    assert seed.status == 403, seed.text
    refused = cli("dev-jwt", *OVERRIDES, "--account", SEED_ACCOUNT, cwd=team.workdir, check=False)
    assert refused.returncode == 2
    assert refused.stderr.strip().endswith("is not an account sid (accountSid must match org_[A-Za-z0-9]{16}.)")


def test_jwt_scopes_count_only_with_the_scope_prefix(team: LocalServer) -> None:
    # dev-jwt writes the deployment's scopes with the prefix, as Cognito writes a resource server's.
    reader = team_jwt(team, "--scope", "tokens:read")
    assert team.request("GET", f"/accounts/{TEAM_ACCOUNT}/apiTokens", token=reader).status == 200
    reply = team.request(
        "POST", f"/accounts/{TEAM_ACCOUNT}/apiTokens", token=reader, body={"name": "x", "scopes": ["tokens:read"]}
    )
    assert reply.status == 403, reply.text


def test_the_openapi_document_names_the_team_pattern_and_scopes(team: LocalServer) -> None:
    document = team.call("GET", team.base_url + "/openapi.json").body
    assert document["components"]["parameters"]["accountSid"]["schema"]["pattern"] == "^org_[A-Za-z0-9]{16}$"
    assert "- `invoices:write`" in document["info"]["description"]


def test_admin_creates_a_team_token_in_the_servers_table(team: LocalServer) -> None:
    state = json.loads((team.workdir / ".apitokens" / "serve.json").read_text(encoding="utf-8"))
    created = cli(
        "admin", "create-token", *OVERRIDES, "--dynamodb-endpoint", state["endpoint"], "--table", state["table"],
        "--account", TEAM_ACCOUNT, "--scope", "invoices:write", "--name", "admin", cwd=team.workdir,
    )  # fmt: skip
    secret = created.stdout.strip().splitlines()[-1]
    team.secrets.append(secret)
    assert secret.startswith("acme_test_")
    # invoices:write allows nothing on the token API: the token is known, its scope is not enough.
    assert team.request("GET", f"/accounts/{TEAM_ACCOUNT}/apiTokens", token=secret).status == 403


def test_the_leak_report_revokes_a_team_token(team: LocalServer) -> None:
    created = team.create_token(team_jwt(team), account=TEAM_ACCOUNT, scopes=["tokens:read"])
    report = cli("dev-leak-report", created["token"], *OVERRIDES, cwd=team.workdir).stdout
    headers_text, body = report.split("\n\n")[:2]
    headers = dict(line.split(": ", 1) for line in headers_text.splitlines())
    reply = team.call("POST", team.base_url + "/secret-scanning/github", raw_body=body.encode("utf-8"), headers=headers)
    assert reply.status == 200, reply.text
    assert reply.body[0]["label"] == "true_positive"
    assert team.request("GET", f"/accounts/{TEAM_ACCOUNT}/apiTokens", token=created["token"]).status == 401


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("TokenPrefix=Acme", "TokenPrefix must be 2-20 lowercase letters"),
        ("AccountIdPattern=org_[a-z]+", "AccountIdPattern (ACCOUNT_ID_PATTERN) 'org_[a-z]+' is refused"),
        ("BaseScopes=invoices:read", "BaseScopes (BASE_SCOPES) must include tokens:read"),
        ("NoSuchParameter=1", "template.yaml declares no parameter 'NoSuchParameter'"),
    ],
)
def test_serve_refuses_a_bad_override_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, override: str, message: str
) -> None:
    refused = cli(
        "serve", "--port", "0", "--parameter-overrides", override, cwd=tmp_path_factory.mktemp("bad"), check=False
    )
    assert refused.returncode == 2
    assert message in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_the_request_log_redacts_a_team_token_in_a_url(team: LocalServer) -> None:
    created = team.create_token(team_jwt(team), account=TEAM_ACCOUNT, scopes=["tokens:read"])
    secret = created["token"]
    team.call("GET", f"{team.base_url}/accounts/{secret}/apiTokens")
    team.call("GET", f"{team.base_url}/x?token={secret.upper()}")
    _, stderr = team.logs()
    assert "acme_test_[redacted]" in stderr
    assert secret[len("acme_test_") :] not in stderr
    assert secret[len("acme_test_") :].upper() not in stderr
