"""What operators get from the logs: the authorizer's one line per request (API Gateway's
request id, the refusal's reason code, EMF counts CloudWatch turns into metrics) and the
handlers' one line per request, never a credential."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from apitokens.domain.errors import StoreUnavailable
from apitokens.domain.tokens import generate
from apitokens.rules import service
from tests.harness import ACCOUNT, Functions, load_event, user

REQUEST_ID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"  # events/authorizer_api_token.json


def authorizer_event(authorization: str | None) -> dict[str, Any]:
    event = copy.deepcopy(load_event("authorizer_api_token"))
    event["headers"].pop("Authorization", None)
    event["multiValueHeaders"].pop("Authorization", None)
    if authorization is not None:
        event["headers"]["Authorization"] = authorization
    return event


def authorizer_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"credentials ' in line]


def emf_metrics(line: dict[str, Any]) -> dict[str, Any]:
    """The metrics CloudWatch extracts from an EMF line: name -> (value, dimension sets)."""
    [directive] = line["_aws"]["CloudWatchMetrics"]
    for dimensions in directive["Dimensions"]:
        assert all(isinstance(line[name], str) for name in dimensions)  # EMF: dimension values are strings
    return {metric["Name"]: (line[metric["Name"]], directive["Dimensions"]) for metric in directive["Metrics"]}


def test_refusals_carry_the_request_id_a_reason_code_and_a_metric(
    functions: Functions, capsys: pytest.CaptureFixture[str]
) -> None:
    created = functions.create(scopes=["tokens:read"], principal=user()).body
    functions.delete(created["sid"])
    capsys.readouterr()
    cases = {
        "missing_credentials": None,
        "malformed_header": "Basic dXNlcjpwYXNz",
        "malformed_token": "Bearer at_live_notachecksummedtoken",
        "unknown_token": f"Bearer {generate('at_live_')}",
    }
    for authorization in cases.values():
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            functions.authorize(authorizer_event(authorization))
    lines = authorizer_lines(capsys)
    assert [line["reason"] for line in lines] == list(cases)
    for line in lines:
        assert line["message"] == "credentials refused"
        assert line["correlation_id"] == REQUEST_ID
        assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ApiTokens"
        value, dimensions = emf_metrics(line)["CredentialsRefused"]
        assert value == 1
        assert dimensions == [["service"], ["service", "reason"]]


def test_an_accepted_token_is_counted_by_principal_type(
    functions: Functions, capsys: pytest.CaptureFixture[str]
) -> None:
    created = functions.create(scopes=["tokens:read"], principal=user()).body
    capsys.readouterr()
    functions.authorize(authorizer_event(f"Bearer {created['token']}"))
    [line] = authorizer_lines(capsys)
    assert line["message"] == "credentials accepted"
    assert line["correlation_id"] == REQUEST_ID
    assert line["principal_id"] == created["sid"]
    assert emf_metrics(line)["CredentialsAccepted"][0] == 1
    assert line["principal_type"] == "token"
    assert created["token"] not in json.dumps(line)


def test_each_handler_request_logs_one_line_with_route_status_principal_and_latency(
    functions: Functions, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    created = functions.create(scopes=["tokens:read"], principal=user())
    missing = functions.get("tok_000000000000000000000000")
    assert (created.status, missing.status) == (201, 404)
    lines = [record for record in caplog.records if record.getMessage() == "request"]
    assert [(line.route, line.status) for line in lines] == [  # type: ignore[attr-defined]
        ("POST /accounts/{accountSid}/apiTokens", 201),
        ("GET /accounts/{accountSid}/apiTokens/{apiTokenSid}", 404),
    ]
    for line in lines:
        fields = vars(line)
        assert fields["principal_type"] == "user"
        assert fields["principal_id"] == "user_1"
        assert fields["account_sid"] == ACCOUNT
        assert fields["latency_ms"] >= 0
        assert "token_sid" in fields
    everything = json.dumps([vars(record) for record in caplog.records], default=str)
    assert created.body["token"] not in everything
    assert "Authorization" not in everything


def emf_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"_aws"' in line]


def test_a_request_the_store_fails_counts_store_unavailable_in_the_authorizer(
    functions: Functions, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    created = functions.create(scopes=["tokens:read"], principal=user()).body

    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable()

    monkeypatch.setattr(functions.authorizer_instance._repository, "find_credential", unavailable)
    capsys.readouterr()
    with pytest.raises(StoreUnavailable):
        functions.authorize(authorizer_event(f"Bearer {created['token']}"))
    [line] = [
        line for line in emf_lines(capsys.readouterr().out) if line.get("message") == "authorizer failure: refusing"
    ]
    metrics = emf_metrics(line)
    assert metrics["AuthorizerFailures"][0] == 1
    assert metrics["StoreUnavailable"] == (1, [["service"]])


def test_any_other_authorizer_failure_is_no_store_failure(
    functions: Functions, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    created = functions.create(scopes=["tokens:read"], principal=user()).body

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a fault")

    monkeypatch.setattr(functions.authorizer_instance._repository, "find_credential", broken)
    capsys.readouterr()
    with pytest.raises(RuntimeError):
        functions.authorize(authorizer_event(f"Bearer {created['token']}"))
    [line] = [
        line for line in emf_lines(capsys.readouterr().out) if line.get("message") == "authorizer failure: refusing"
    ]
    assert set(emf_metrics(line)) == {"AuthorizerFailures"}


def test_a_handler_request_the_store_fails_is_a_503_counted_as_store_unavailable(
    functions: Functions, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable()

    monkeypatch.setattr(service, "get_token", unavailable)
    capsys.readouterr()
    reply = functions.get("tok_000000000000000000000000")
    assert reply.status == 503
    counted = [emf_metrics(line) for line in emf_lines(capsys.readouterr().out) if "StoreUnavailable" in line]
    assert [metrics["StoreUnavailable"][0] for metrics in counted] == [[1.0]]  # Powertools: a list of values
    # A refused or missing token is no store failure.
    monkeypatch.undo()
    assert functions.get("tok_000000000000000000000000").status == 404
    assert not [line for line in emf_lines(capsys.readouterr().out) if "StoreUnavailable" in line]
