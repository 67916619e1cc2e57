import json

import pytest

from apitokens.jsonlog import JsonLogger


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_one_json_object_a_line_with_request_keys(capsys: pytest.CaptureFixture[str]) -> None:
    logger = JsonLogger("apitokens")
    logger.start_request("req-1", "authorizer")
    logger.info("credentials accepted", principal_type="token")
    logger.start_request("req-2", "authorizer")
    logger.info("again")
    first, second = lines(capsys)
    assert first["message"] == "credentials accepted"
    assert first["principal_type"] == "token"
    assert first["function_request_id"] == "req-1"
    assert first["cold_start"] is True
    assert second["cold_start"] is False
    assert str(first["timestamp"]).endswith("Z")


def test_levels_below_the_threshold_are_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    logger = JsonLogger("apitokens", "warning")
    logger.info("quiet")
    logger.warning("loud")
    assert [line["message"] for line in lines(capsys)] == ["loud"]


def test_exception_lines_carry_type_and_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    logger = JsonLogger("apitokens")

    def fail() -> None:
        raise RuntimeError("boom")

    try:
        fail()
    except RuntimeError:
        logger.exception("failed")
    [line] = lines(capsys)
    assert line["level"] == "ERROR"
    assert line["exception_name"] == "RuntimeError"
    assert "Traceback" in str(line["exception"])
