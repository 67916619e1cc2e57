"""apitokens_client against `apitokens serve`: SigV4 with the credentials of the default AWS chain
(the variables `apitokens dev-credentials` prints), the answers of the verify route, refusals of
the service, and a service that cannot be reached (an error, never an allow)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from botocore.session import Session

from apitokens_client import ApiTokensClient, RequestRefused, ServiceUnavailable, Verification
from tests.harness import ACCOUNT, OTHER_ACCOUNT, LocalServer, cli

pytestmark = pytest.mark.e2e


@pytest.fixture
def credential_chain(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The dev credentials as the environment's AWS variables, and nothing else of AWS's."""
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in cli("dev-credentials", cwd=server.workdir).stdout.split()
        if "=" in line
    )
    for name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    for name, value in exports.items():
        monkeypatch.setenv(name, value)
    return exports


def test_verify_with_the_default_credential_chain(server: LocalServer, jwt: str, credential_chain: Any) -> None:
    token = server.create_token(jwt, scopes=["metrics:read"])
    client = ApiTokensClient(server.base_url)
    assert client.region == "us-east-1"
    answer = client.verify(token["token"], required_scope="metrics:read", account_sid=ACCOUNT)
    assert answer == Verification(
        active=True, account_sid=ACCOUNT, token_sid=token["sid"], scopes=frozenset({"metrics:read"}), allowed=True
    )
    assert client.verify(token["token"]).allowed is None
    assert client.verify(token["token"], method="GET", path=f"/accounts/{OTHER_ACCOUNT}/metrics").allowed is False
    assert client.verify("at_test_unknown") == Verification(active=False)


def test_a_question_the_service_refuses_raises(server: LocalServer, credential_chain: Any) -> None:
    client = ApiTokensClient(server.base_url)
    with pytest.raises(RequestRefused) as refused:
        client.verify("at_test_x", required_scope="metrics:admin", account_sid=ACCOUNT)
    assert (refused.value.status, refused.value.code) == (400, "invalid_request")


def test_other_credentials_are_refused_by_the_service(server: LocalServer, credential_chain: Any) -> None:
    session = Session()
    session.set_credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    with pytest.raises(RequestRefused) as refused:
        ApiTokensClient(server.base_url, session=session).verify("at_test_x")
    assert (refused.value.status, refused.value.code) == (403, "forbidden")


def test_an_unreachable_service_raises_after_its_retries(credential_chain: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    waits: list[float] = []
    client = ApiTokensClient(f"http://127.0.0.1:{port}/v1", max_attempts=3, sleep=waits.append)
    with pytest.raises(ServiceUnavailable, match="did not answer after 3 attempts"):
        client.verify("at_test_x", required_scope="metrics:read", account_sid=ACCOUNT)
    assert len(waits) == 2
