"""The authorizer's EMF lines: the directive is encoded once per kind of line (MetricLine) and
spliced into each line; every line must still be one JSON object CloudWatch reads as EMF."""

import json
import time

import pytest

from apitokens.jsonlog import JsonLogger, MetricLine


def only_line(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    [line] = capsys.readouterr().out.splitlines()
    parsed: dict[str, object] = json.loads(line)
    return parsed


def test_a_counted_line_is_an_emf_document_with_its_dimensions_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    logger = JsonLogger("apitokens")
    logger.start_request("req-1", "authorizer", "api-req-1")
    refused = MetricLine("ApiTokens", ["CredentialsRefused"], [[], ["reason"]])
    before = int(time.time() * 1000)
    logger.count("INFO", "credentials refused", refused, {"reason": "unknown_token"}, principal_id="tok_1")
    line = only_line(capsys)
    assert line["message"] == "credentials refused"
    assert line["correlation_id"] == "api-req-1"
    assert line["principal_id"] == "tok_1"
    assert line["reason"] == "unknown_token"
    assert line["CredentialsRefused"] == 1
    emf = line["_aws"]
    assert isinstance(emf, dict)
    assert before <= emf["Timestamp"] <= int(time.time() * 1000)
    assert emf["CloudWatchMetrics"] == [
        {
            "Namespace": "ApiTokens",
            "Dimensions": [["service"], ["service", "reason"]],
            "Metrics": [{"Name": "CredentialsRefused", "Unit": "Count"}],
        }
    ]
    # The line's own timestamp and the metric's are the same instant.
    assert str(line["timestamp"]).startswith(time.strftime("%Y-%m-%dT", time.gmtime(emf["Timestamp"] / 1000)))


def test_values_that_need_escaping_keep_the_line_valid_json(capsys: pytest.CaptureFixture[str]) -> None:
    logger = JsonLogger("apitokens")
    accepted = MetricLine('Name "with" quotes}', ["CredentialsAccepted"], [["principal_type"]])
    logger.count("INFO", 'message "}\n', accepted, {"principal_type": 'x"}'}, principal_id="a\\b")
    line = only_line(capsys)
    assert line["message"] == 'message "}\n'
    assert line["principal_type"] == 'x"}'
    assert line["principal_id"] == "a\\b"
    assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == 'Name "with" quotes}'  # type: ignore[index]


def test_an_exception_line_can_count_a_failure(capsys: pytest.CaptureFixture[str]) -> None:
    logger = JsonLogger("apitokens")
    failed = MetricLine("ApiTokens", ["AuthorizerFailures"], [[]])

    def fail() -> None:
        raise RuntimeError("store down")

    try:
        fail()
    except RuntimeError:
        logger.exception("authorizer failure: refusing", metric=failed)
    line = only_line(capsys)
    assert line["level"] == "ERROR"
    assert line["exception_name"] == "RuntimeError"
    assert line["AuthorizerFailures"] == 1
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]  # type: ignore[index]


def test_below_the_log_level_a_counted_line_still_writes_its_metric(capsys: pytest.CaptureFixture[str]) -> None:
    """LogLevel WARNING silences the INFO line, not the metric the operator's alarms read."""
    logger = JsonLogger("apitokens", level="WARNING")
    logger.start_request("req-1", "authorizer", "api-req-1")
    accepted = MetricLine("ApiTokens", ["CredentialsAccepted"], [[], ["principal_type"]])
    logger.count("INFO", "credentials accepted", accepted, {"principal_type": "token"}, principal_id="tok_1")
    line = only_line(capsys)
    assert line == {
        "service": "apitokens",
        "principal_type": "token",
        "CredentialsAccepted": 1,
        "_aws": line["_aws"],
    }
    assert line["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [  # type: ignore[index]
        {"Name": "CredentialsAccepted", "Unit": "Count"}
    ]
    logger.info("an info line without a metric")
    assert capsys.readouterr().out == ""
